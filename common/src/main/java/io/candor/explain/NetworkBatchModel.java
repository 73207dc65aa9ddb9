package io.candor.explain;

import io.candor.data.Normalizer;
import io.candor.model.Network;
import io.candor.model.SingleThreadedBlas;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A DL4J network as a {@link BatchModel}, evaluated in double precision. Why double: BLAS chooses its summation
 * order by matrix shape, so in float a row's output changes in the last bits with the rows it is batched with; in
 * double that noise is ~1e-16, so explanations do not depend on partitioning or batch size beyond 1e-12. BLAS runs on
 * one thread ({@link SingleThreadedBlas}), so a batch gives the same bits in every JVM, local driver or executor.
 * Regression outputs are mapped back to the label's scale. Counts its calls, so tests can check batching.
 */
public final class NetworkBatchModel implements BatchModel {
    private final Network network;
    private final int inputs;
    private final int outputs;
    private final Normalizer labelScale;
    private long calls;
    private long rowsEvaluated;

    /**
     * @param labelScale for regression, the normaliser whose label statistics map outputs back; null for
     *     classification
     */
    public NetworkBatchModel(Network network, int inputs, int outputs, Normalizer labelScale) {
        this.network = inDouble(network);
        this.inputs = inputs;
        this.outputs = outputs;
        this.labelScale = labelScale;
    }

    private static Network inDouble(Network network) {
        MultiLayerNetwork mln = network.multiLayer();
        if (mln != null) {
            return new Network(mln.convertDataType(DataType.DOUBLE));
        }
        return new Network(((org.deeplearning4j.nn.graph.ComputationGraph) network.model())
                .convertDataType(DataType.DOUBLE));
    }

    @Override
    public int inputs() {
        return inputs;
    }

    @Override
    public int outputs() {
        return outputs;
    }

    @Override
    public double[] predict(double[] x, int rows) {
        if (x.length != rows * inputs) {
            throw new IllegalArgumentException("x has " + x.length + " values, expected rows " + rows + " × inputs "
                    + inputs);
        }
        calls++;
        rowsEvaluated += rows;
        double[] y = SingleThreadedBlas.call(() -> network.output(Nd4j.create(x, new long[] {rows, inputs}, 'c'))
                .castTo(DataType.DOUBLE).dup('c').data().asDouble());
        if (labelScale != null) {
            for (int i = 0; i < y.length; i++) {
                y[i] = labelScale.denormalizeLabel(y[i]);
            }
        }
        return y;
    }

    /** Network calls so far (one per batch). */
    public long calls() {
        return calls;
    }

    public long rowsEvaluated() {
        return rowsEvaluated;
    }
}
