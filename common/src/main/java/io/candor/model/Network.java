package io.candor.model;

import io.candor.util.InputException;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;

/**
 * A DL4J network Candor can run: a {@link MultiLayerNetwork}, or a {@link ComputationGraph} with one input and one
 * output. Not thread-safe (DL4J networks are not); see {@link ExecutorNetworks} for sharing across tasks.
 */
public final class Network {
    /** The earliest time a zip entry can hold: timestamps would make equal networks differ byte for byte. */
    private static final java.time.LocalDateTime ZIP_ENTRY_TIME = java.time.LocalDateTime.of(1980, 1, 1, 0, 0);

    private final MultiLayerNetwork multiLayer;
    private final ComputationGraph graph;

    public Network(MultiLayerNetwork multiLayer) {
        this.multiLayer = multiLayer;
        this.graph = null;
    }

    public Network(ComputationGraph graph) {
        if (graph.getNumInputArrays() != 1 || graph.getNumOutputArrays() != 1) {
            throw new InputException("model: ComputationGraph has " + graph.getNumInputArrays() + " inputs and "
                    + graph.getNumOutputArrays() + " outputs (expected one of each)");
        }
        this.multiLayer = null;
        this.graph = graph;
    }

    /** The network's output (probabilities, or the regression value) for a batch of rows. */
    public INDArray output(INDArray features) {
        return multiLayer != null ? multiLayer.output(features, false) : graph.outputSingle(false, features);
    }

    public long parameterCount() {
        return model().numParams();
    }

    public Model model() {
        return multiLayer != null ? multiLayer : graph;
    }

    public MultiLayerNetwork multiLayer() {
        return multiLayer;
    }

    public String kind() {
        return multiLayer != null ? "MultiLayerNetwork" : "ComputationGraph";
    }

    /**
     * The ModelSerializer zip, without updater state: what is broadcast and what artifacts hold. The same network gives
     * the same bytes: ModelSerializer stamps each entry with the time of writing, which is replaced by a fixed one.
     */
    public byte[] toBytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ModelSerializer.writeModel(model(), out, false);
            return withFixedEntryTimes(out.toByteArray());
        } catch (IOException e) {
            throw new IllegalStateException("serialising a network to memory failed", e);
        }
    }

    private static byte[] withFixedEntryTimes(byte[] zip) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(zip.length);
        try (java.util.zip.ZipInputStream in = new java.util.zip.ZipInputStream(new ByteArrayInputStream(zip));
             java.util.zip.ZipOutputStream rewritten = new java.util.zip.ZipOutputStream(out)) {
            for (java.util.zip.ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                java.util.zip.ZipEntry entry = new java.util.zip.ZipEntry(e.getName());
                entry.setTimeLocal(ZIP_ENTRY_TIME);
                rewritten.putNextEntry(entry);
                in.transferTo(rewritten);
                rewritten.closeEntry();
            }
        }
        return out.toByteArray();
    }

    /** Restores a ModelSerializer zip, whichever kind of network it holds. */
    public static Network fromBytes(byte[] zip, String source) {
        ZipGuard.check(zip, source);
        try {
            if (isGraph(zip)) {
                return new Network(ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(zip), false));
            }
            return new Network(ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(zip), false));
        } catch (IOException | RuntimeException e) {
            throw new InputException("model " + source + ": is not a readable DL4J ModelSerializer zip ("
                    + e.getClass().getSimpleName() + ": " + firstLine(e.getMessage())
                    + "; expected a MultiLayerNetwork or ComputationGraph saved by ModelSerializer)", e);
        }
    }

    /** A graph's configuration.json has "vertices"; a MultiLayerNetwork's has "confs". */
    private static boolean isGraph(byte[] zip) throws IOException {
        try (java.util.zip.ZipInputStream in = new java.util.zip.ZipInputStream(new ByteArrayInputStream(zip))) {
            java.util.zip.ZipEntry entry;
            while ((entry = in.getNextEntry()) != null) {
                if (entry.getName().equals("configuration.json")) {
                    byte[] head = in.readNBytes(1 << 22); // the configuration, bounded
                    String json = new String(head, java.nio.charset.StandardCharsets.UTF_8);
                    return json.contains("\"vertices\"") && !json.contains("\"confs\"");
                }
            }
        }
        throw new IOException("no configuration.json entry");
    }

    private static String firstLine(String s) {
        return s == null ? "no message" : s.lines().findFirst().orElse(s);
    }
}
