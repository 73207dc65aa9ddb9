package io.candor.explain;

import io.candor.data.Normalizer;
import io.candor.model.ExecutorNetworks;
import org.apache.spark.broadcast.Broadcast;

/**
 * A broadcast network zip, opened once per executor thread as a double-precision {@link NetworkBatchModel}
 * (DESIGN §2.3).
 */
public final class ArtifactModelSource implements ModelSource {
    private static final long serialVersionUID = 1L;

    private final Broadcast<byte[]> zip;
    private final String key;
    private final int inputs;
    private final int outputs;
    private final Normalizer labelScale;

    /** @param labelScale the normaliser mapping regression outputs back to the label's scale; null for classification */
    public ArtifactModelSource(Broadcast<byte[]> zip, String key, int inputs, int outputs, Normalizer labelScale) {
        this.zip = zip;
        this.key = key;
        this.inputs = inputs;
        this.outputs = outputs;
        this.labelScale = labelScale;
    }

    @Override
    public BatchModel open() {
        return ExecutorNetworks.cached(key + "#explain", () ->
                new NetworkBatchModel(ExecutorNetworks.get(key, zip::value), inputs, outputs, labelScale));
    }
}
