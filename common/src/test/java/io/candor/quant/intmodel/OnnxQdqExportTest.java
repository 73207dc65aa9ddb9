package io.candor.quant.intmodel;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import io.candor.util.Seeds;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Exports random integer models and runs them in ONNX Runtime under each {@link Runtime} setting; every run must
 * agree with a double-precision reference of the integer model written here.
 *
 * <p>Every setting is asserted for every bit width, ORT's fused integer kernels included: weights are exported as
 * UINT8 with zero point 128, which those kernels multiply exactly (int8 weights saturated there: 94–97 % agreement
 * on an AVX2-only CPU).
 */
class OnnxQdqExportTest {
    private static final long SEED = 2024_0917L;
    private static final int ROWS = 1000;
    private static final int CALIBRATION_ROWS = 256;
    private static final double MIN_AGREEMENT = 0.995;
    private static final double MAX_MEAN_PROBABILITY_GAP = 0.02;

    @Test
    void denseReluEightBitModelMatchesTheReferenceInOnnxRuntime() throws OrtException {
        ModelFactory f = new ModelFactory(1, 20, gaussianRows(20), new ActivationQuant(6f / 255, 128));
        f.dense(32, 8, HiddenActivation.RELU);
        f.dense(16, 8, HiddenActivation.RELU);
        f.logits(5, 8);
        assertMatchesReference(f.build(OutputActivation.SOFTMAX), gaussianRows(20), 101);
    }

    @Test
    void denseIdentityFourBitModelMatchesTheReferenceInOnnxRuntime() throws OrtException {
        ModelFactory f = new ModelFactory(2, 12, gaussianRows(12), new ActivationQuant(6f / 255, 128));
        f.dense(24, 4, HiddenActivation.IDENTITY);
        f.logits(3, 4);
        IntegerModel model = f.build(OutputActivation.IDENTITY);
        assertMatchesReference(model, gaussianRows(12), 102);
        OnnxMl.ModelProto proto = parse(model);
        assertEquals("4,4", metadata(proto).get(OnnxQdqExport.META_WEIGHT_BITS));
        for (OnnxMl.TensorProto t : proto.getGraph().getInitializerList()) {
            if (t.getName().endsWith(".weight_q")) {
                assertEquals(OnnxMl.TensorProto.DataType.UINT8_VALUE, t.getDataType(), t.getName());
                for (byte b : t.getRawData().toByteArray()) {
                    int w = (b & 0xFF) - OnnxQdqExport.WEIGHT_ZERO_POINT;
                    assertTrue(Math.abs(w) <= 7, t.getName() + " holds " + w + ", outside ±7 for 4 bits");
                }
            }
        }
    }

    @Test
    void digitsConvPoolDenseSoftmaxModelMatchesTheReferenceInOnnxRuntime() throws OrtException {
        Function<SplittableRandom, double[]> pixels = uniformRows(64, 0, 1);
        ModelFactory f = new ModelFactory(3, 64, pixels, new ActivationQuant(1f / 255, 0));
        f.conv(1, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 8, HiddenActivation.RELU);     // 4×8×8, same padding
        f.maxPool(4, 8, 8, 3, 3, 2, 2, 1, 1, 1, 1);                               // 4×4×4, padded windows
        f.conv(4, 4, 4, 8, 3, 3, 2, 2, 0, 0, 1, 1, 8, HiddenActivation.RELU);     // 8×2×2, uneven padding
        f.logits(10, 8);
        IntegerModel model = f.build(OutputActivation.SOFTMAX);
        assertMatchesReference(model, pixels, 103);
        List<String> ops = parse(model).getGraph().getNodeList().stream().map(OnnxMl.NodeProto::getOpType).toList();
        assertEquals(List.of("QuantizeLinear", "Reshape", "DequantizeLinear", "DequantizeLinear", "DequantizeLinear",
                "Conv", "Relu", "QuantizeLinear", "MaxPool", "DequantizeLinear", "DequantizeLinear", "DequantizeLinear",
                "Conv", "Relu", "QuantizeLinear", "Flatten", "DequantizeLinear", "DequantizeLinear",
                "DequantizeLinear", "Gemm", "Softmax"), ops);
    }

    @Test
    void sevenBitConvModelMatchesTheReferenceInFusedIntegerKernels() throws OrtException {
        Function<SplittableRandom, double[]> pixels = uniformRows(64, 0, 1);
        ModelFactory f = new ModelFactory(8, 64, pixels, new ActivationQuant(1f / 255, 0));
        f.conv(1, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 7, HiddenActivation.RELU);
        f.maxPool(6, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0);
        f.dense(24, 7, HiddenActivation.RELU);
        f.logits(10, 7);
        assertMatchesReference(f.build(OutputActivation.SOFTMAX), pixels, 108);
    }

    @Test
    void convLastLayerGivesChannelMajorLogits() throws OrtException {
        Function<SplittableRandom, double[]> pixels = uniformRows(2 * 5 * 5, 0, 1);
        ModelFactory f = new ModelFactory(9, 50, pixels, new ActivationQuant(1f / 255, 0));
        f.conv(2, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 6, HiddenActivation.IDENTITY);
        f.convLogits(3, 5, 5, 2, 3, 6);                                            // 2×3×3 = 18 logits
        assertMatchesReference(f.build(OutputActivation.SOFTMAX), pixels, 109);
    }

    @Test
    void sigmoidSingleOutputModelMatchesTheReferenceInOnnxRuntime() throws OrtException {
        ModelFactory f = new ModelFactory(4, 10, gaussianRows(10), new ActivationQuant(6f / 255, 128));
        f.dense(8, 8, HiddenActivation.RELU);
        f.logits(1, 8);
        assertMatchesReference(f.build(OutputActivation.SIGMOID), gaussianRows(10), 104);
    }

    @Test
    void graphIsQdqWithInt8WeightsInt32BiasesAndRecordsItsProvenance() {
        ModelFactory f = new ModelFactory(5, 20, gaussianRows(20), new ActivationQuant(6f / 255, 128));
        f.dense(16, 8, HiddenActivation.RELU);
        f.logits(4, 6);
        OnnxMl.ModelProto proto = parse(f.build(OutputActivation.SOFTMAX));

        assertEquals(OnnxQdqExport.IR_VERSION, proto.getIrVersion());
        assertEquals(1, proto.getOpsetImportCount());
        assertEquals(13, proto.getOpsetImport(0).getVersion());
        assertEquals("candor", proto.getProducerName());
        assertEquals("test-1.0", proto.getProducerVersion());
        assertTrue(proto.getDocString().contains("UINT8 + 128"), proto.getDocString());
        Map<String, String> meta = metadata(proto);
        assertEquals("8,6", meta.get(OnnxQdqExport.META_WEIGHT_BITS));
        assertEquals("SOFTMAX", meta.get(OnnxQdqExport.META_OUTPUT_ACTIVATION));
        assertEquals("dense 20->16 int8 RELU; dense 16->4 int6 IDENTITY", meta.get(OnnxQdqExport.META_LAYERS));

        OnnxMl.GraphProto graph = proto.getGraph();
        Map<String, Long> ops = graph.getNodeList().stream()
                .collect(Collectors.groupingBy(OnnxMl.NodeProto::getOpType, Collectors.counting()));
        assertEquals(Map.of("QuantizeLinear", 2L, "DequantizeLinear", 6L, "Gemm", 2L, "Relu", 1L, "Softmax", 1L), ops);
        Map<String, OnnxMl.TensorProto> init = graph.getInitializerList().stream()
                .collect(Collectors.toMap(OnnxMl.TensorProto::getName, t -> t));
        assertEquals(OnnxMl.TensorProto.DataType.UINT8_VALUE, init.get("l0.weight_q").getDataType());
        assertEquals(List.of(16L, 20L), init.get("l0.weight_q").getDimsList());
        assertEquals(OnnxMl.TensorProto.DataType.UINT8_VALUE, init.get("l1.weight_q").getDataType());
        assertEquals(OnnxMl.TensorProto.DataType.INT32_VALUE, init.get("l1.bias_q").getDataType());
        assertEquals(OnnxMl.TensorProto.DataType.UINT8_VALUE, init.get("features.zero_point").getDataType());
        for (OnnxMl.NodeProto n : graph.getNodeList()) {
            if (n.getOpType().equals("Gemm")) {
                assertTrue(n.getInputList().stream().skip(1).allMatch(i -> producer(graph, i).equals(
                        "DequantizeLinear")), "Gemm " + n.getName() + " reads its weights and bias through DQ");
            }
        }
        assertEquals(List.of("features"), graph.getInputList().stream().map(OnnxMl.ValueInfoProto::getName).toList());
        assertEquals(List.of("outputs", "logits"),
                graph.getOutputList().stream().map(OnnxMl.ValueInfoProto::getName).toList());
        assertEquals("batch", graph.getInput(0).getType().getTensorType().getShape().getDim(0).getDimParam());
    }

    @Test
    void logitsOutputCanBeLeftOut() throws Exception {
        ModelFactory f = new ModelFactory(6, 5, gaussianRows(5), new ActivationQuant(6f / 255, 128));
        f.logits(3, 8);
        byte[] bytes = OnnxQdqExport.toBytes(f.build(OutputActivation.SOFTMAX), "test-1.0", false);
        assertEquals(List.of("outputs"), OnnxMl.ModelProto.parseFrom(bytes).getGraph().getOutputList().stream()
                .map(OnnxMl.ValueInfoProto::getName).toList());
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(bytes)) {
            assertEquals(List.of("outputs"), List.copyOf(session.getOutputNames()));
        }
    }

    @Test
    void inconsistentModelsAreRejectedNamingTheLayer() {
        ModelFactory f = new ModelFactory(7, 6, gaussianRows(6), new ActivationQuant(6f / 255, 128));
        f.dense(4, 8, HiddenActivation.RELU);
        f.logits(2, 8);
        IntegerModel good = f.build(OutputActivation.SOFTMAX);
        IntDense hidden = (IntDense) good.layers().get(0);
        IntDense last = (IntDense) good.layers().get(1);

        IntDense otherInput = new IntDense(last.nIn(), last.nOut(), last.bits(), last.weights(), last.weightScales(),
                last.bias(), new ActivationQuant(0.5f, 3), null, HiddenActivation.IDENTITY);
        assertMessage(new IntegerModel(6, good.input(), List.of(hidden, otherInput), OutputActivation.SOFTMAX, 2),
                "layer 1 (IntDense): input quantization");
        IntDense wide = new IntDense(hidden.nIn(), hidden.nOut(), 4, hidden.weights(), hidden.weightScales(),
                hidden.bias(), hidden.input(), hidden.output(), hidden.activation());
        assertMessage(new IntegerModel(6, good.input(), List.of(wide, last), OutputActivation.SOFTMAX, 2),
                "outside ±7 for 4 bits");
        assertMessage(new IntegerModel(7, good.input(), good.layers(), OutputActivation.SOFTMAX, 2),
                "layer 0 (IntDense): reads 6 values; the previous layer writes 7");
        assertMessage(new IntegerModel(6, good.input(), List.of(hidden), OutputActivation.SOFTMAX, 4),
                "layer 0 (IntDense): the last layer must not requantize");
        IntDense reluLast = new IntDense(last.nIn(), last.nOut(), last.bits(), last.weights(), last.weightScales(),
                last.bias(), last.input(), null, HiddenActivation.RELU);
        assertMessage(new IntegerModel(6, good.input(), List.of(hidden, reluLast), OutputActivation.SOFTMAX, 2),
                "must be IDENTITY");
    }

    private static void assertMessage(IntegerModel model, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OnnxQdqExport.toBytes(model, "test-1.0"));
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' lacks '" + fragment + "'");
    }

    // ---- running and comparing ----

    private static void assertMatchesReference(IntegerModel model, Function<SplittableRandom, double[]> rows,
                                               long rowStream) throws OrtException {
        SplittableRandom rng = Seeds.stream(SEED, rowStream);
        double[][] x = new double[ROWS][];
        float[][] features = new float[ROWS][];
        for (int r = 0; r < ROWS; r++) {
            x[r] = rows.apply(rng);
            features[r] = new float[x[r].length];
            for (int i = 0; i < x[r].length; i++) {
                features[r][i] = (float) x[r][i];
                x[r][i] = features[r][i];
            }
        }
        double[][] expected = new double[ROWS][];
        for (int r = 0; r < ROWS; r++) {
            expected[r] = Reference.outputs(model, x[r]);
        }
        byte[] bytes = OnnxQdqExport.toBytes(model, "test-1.0");
        for (Runtime level : Runtime.values()) {
            float[][][] got = run(bytes, features, level);
            float[][] outputs = got[0];
            float[][] logits = got[1];
            assertEquals(ROWS, outputs.length);
            assertEquals(model.outputs(), outputs[0].length, level + ": output width");
            assertEquals(model.outputs(), logits[0].length, level + ": logits width");
            int agree = 0;
            double gap = 0;
            for (int r = 0; r < ROWS; r++) {
                double[] want = probabilities(model.outputActivation(), expected[r]);
                double[] have = probabilities(model.outputActivation(), toDouble(outputs[r]));
                agree += decision(want) == decision(have) ? 1 : 0;
                for (int k = 0; k < want.length; k++) {
                    gap += Math.abs(want[k] - have[k]) / (ROWS * want.length);
                }
                assertArrayEquals(outputs[r], activate(model.outputActivation(), logits[r]), 1e-5f,
                        level + ": row " + r + " outputs are the activation of the logits");
            }
            double agreement = (double) agree / ROWS;
            assertTrue(agreement >= MIN_AGREEMENT, level + ": decision agreement " + agreement + " < "
                    + MIN_AGREEMENT);
            assertTrue(gap <= MAX_MEAN_PROBABILITY_GAP, level + ": mean |probability difference| " + gap + " > "
                    + MAX_MEAN_PROBABILITY_GAP + " (agreement " + agreement + ")");
        }
    }

    /** How ONNX Runtime is asked to run the exported graph. */
    private enum Runtime {
        /** The graph as written: QDQ simulated in float32. */
        AS_WRITTEN(OptLevel.NO_OPT, true),
        /** Every graph optimisation except the fusion of QDQ groups into integer kernels. */
        OPTIMISED_FLOAT(OptLevel.ALL_OPT, true),
        /** ORT's default: QDQ groups become QGemm/QLinearConv. */
        FUSED(OptLevel.ALL_OPT, false);

        final OptLevel level;
        final boolean keepQdq;

        Runtime(OptLevel level, boolean keepQdq) {
            this.level = level;
            this.keepQdq = keepQdq;
        }
    }

    /** {outputs, logits} from ONNX Runtime. */
    private static float[][][] run(byte[] bytes, float[][] features, Runtime level) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(level.level);
            if (level.keepQdq) {
                options.addConfigEntry("session.disable_quant_qdq", "1");
            }
            try (OrtSession session = env.createSession(bytes, options);
                 OnnxTensor input = OnnxTensor.createTensor(env, features);
                 OrtSession.Result result = session.run(Map.of(OnnxQdqExport.INPUT, input))) {
                return new float[][][] {
                        (float[][]) result.get(OnnxQdqExport.OUTPUT).orElseThrow().getValue(),
                        (float[][]) result.get(OnnxQdqExport.LOGITS).orElseThrow().getValue()};
            }
        }
    }

    /** Identity outputs are logits; compare them as the probabilities a softmax would make of them. */
    private static double[] probabilities(OutputActivation activation, double[] outputs) {
        return activation == OutputActivation.IDENTITY ? Reference.softmax(outputs) : outputs;
    }

    /** The class, or for one sigmoid output the side of 0.5. */
    private static int decision(double[] p) {
        if (p.length == 1) {
            return p[0] >= 0.5 ? 1 : 0;
        }
        int best = 0;
        for (int k = 1; k < p.length; k++) {
            if (p[k] > p[best]) {
                best = k;
            }
        }
        return best;
    }

    private static float[] activate(OutputActivation activation, float[] logits) {
        double[] out = Reference.activate(activation, toDouble(logits));
        float[] f = new float[out.length];
        for (int k = 0; k < out.length; k++) {
            f[k] = (float) out[k];
        }
        return f;
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int k = 0; k < v.length; k++) {
            d[k] = v[k];
        }
        return d;
    }

    private static OnnxMl.ModelProto parse(IntegerModel model) {
        try {
            return OnnxMl.ModelProto.parseFrom(OnnxQdqExport.toBytes(model, "test-1.0"));
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError("exported bytes do not parse as a ModelProto", e);
        }
    }

    private static Map<String, String> metadata(OnnxMl.ModelProto proto) {
        Map<String, String> m = new HashMap<>();
        proto.getMetadataPropsList().forEach(e -> m.put(e.getKey(), e.getValue()));
        return m;
    }

    private static String producer(OnnxMl.GraphProto graph, String tensor) {
        return graph.getNodeList().stream().filter(n -> n.getOutputList().contains(tensor))
                .map(OnnxMl.NodeProto::getOpType).findFirst().orElse("initializer");
    }

    private static Function<SplittableRandom, double[]> gaussianRows(int width) {
        return rng -> {
            double[] x = new double[width];
            for (int i = 0; i < width; i++) {
                x[i] = rng.nextGaussian();
            }
            return x;
        };
    }

    private static Function<SplittableRandom, double[]> uniformRows(int width, double lo, double hi) {
        return rng -> {
            double[] x = new double[width];
            for (int i = 0; i < width; i++) {
                x[i] = rng.nextDouble(lo, hi);
            }
            return x;
        };
    }

    // ---- a double-precision reference of the integer model (test only) ----

    /**
     * Dequantizes, computes each layer in double, requantizes hidden outputs with {@link ActivationQuant#quantize};
     * values flow as dequantized doubles, images flattened channel-major.
     */
    static final class Reference {
        static double[] outputs(IntegerModel model, double[] features) {
            return activate(model.outputActivation(), logits(model, features));
        }

        static double[] logits(IntegerModel model, double[] features) {
            double[] x = fakeQuant(model.input(), features);
            for (IntLayer layer : model.layers()) {
                x = forward(layer, x);
            }
            return x;
        }

        /** One layer; hidden dense/conv layers return requantized values, the last layer its logits. */
        static double[] forward(IntLayer layer, double[] x) {
            if (layer instanceof IntDense d) {
                return finish(dense(d, x), d.activation(), d.output());
            } else if (layer instanceof IntConv2d c) {
                return finish(conv(c, x), c.activation(), c.output());
            }
            return maxPool((IntMaxPool2d) layer, x);
        }

        static double[] finish(double[] acc, HiddenActivation activation, ActivationQuant output) {
            if (output == null) {
                return acc;
            }
            return fakeQuant(output, activation == HiddenActivation.RELU ? relu(acc) : acc);
        }

        static double[] dense(IntDense d, double[] x) {
            double[] y = new double[d.nOut()];
            for (int o = 0; o < d.nOut(); o++) {
                double s = 0;
                for (int i = 0; i < d.nIn(); i++) {
                    s += x[i] * d.weights()[o * d.nIn() + i];
                }
                y[o] = s * d.weightScales()[o] + d.bias()[o] * (double) (d.input().scale() * d.weightScales()[o]);
            }
            return y;
        }

        static double[] conv(IntConv2d c, double[] x) {
            int oc = c.outChannels(), oh = c.outHeight(), ow = c.outWidth();
            int ic = c.inChannels(), ih = c.inHeight(), iw = c.inWidth(), kh = c.kernelH(), kw = c.kernelW();
            double[] y = new double[oc * oh * ow];
            for (int o = 0; o < oc; o++) {
                double biasReal = c.bias()[o] * (double) (c.input().scale() * c.weightScales()[o]);
                for (int r = 0; r < oh; r++) {
                    for (int q = 0; q < ow; q++) {
                        double s = 0;
                        for (int i = 0; i < ic; i++) {
                            for (int a = 0; a < kh; a++) {
                                int h = r * c.strideH() + a - c.padTop();
                                for (int b = 0; b < kw; b++) {
                                    int w = q * c.strideW() + b - c.padLeft();
                                    if (h >= 0 && h < ih && w >= 0 && w < iw) {
                                        s += x[(i * ih + h) * iw + w] * c.weights()[((o * ic + i) * kh + a) * kw + b];
                                    }
                                }
                            }
                        }
                        y[(o * oh + r) * ow + q] = s * c.weightScales()[o] + biasReal;
                    }
                }
            }
            return y;
        }

        static double[] maxPool(IntMaxPool2d p, double[] x) {
            int ch = p.channels(), oh = p.outHeight(), ow = p.outWidth(), ih = p.inHeight(), iw = p.inWidth();
            double[] y = new double[ch * oh * ow];
            for (int c = 0; c < ch; c++) {
                for (int r = 0; r < oh; r++) {
                    for (int q = 0; q < ow; q++) {
                        double m = Double.NEGATIVE_INFINITY;
                        for (int a = 0; a < p.kernelH(); a++) {
                            int h = r * p.strideH() + a - p.padTop();
                            for (int b = 0; b < p.kernelW(); b++) {
                                int w = q * p.strideW() + b - p.padLeft();
                                if (h >= 0 && h < ih && w >= 0 && w < iw) {
                                    m = Math.max(m, x[(c * ih + h) * iw + w]);
                                }
                            }
                        }
                        y[(c * oh + r) * ow + q] = m;
                    }
                }
            }
            return y;
        }

        static double[] fakeQuant(ActivationQuant q, double[] x) {
            double[] y = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                y[i] = q.dequantize(q.quantize(x[i]));
            }
            return y;
        }

        static double[] relu(double[] x) {
            double[] y = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                y[i] = Math.max(0, x[i]);
            }
            return y;
        }

        static double[] activate(OutputActivation activation, double[] logits) {
            return switch (activation) {
                case SOFTMAX -> softmax(logits);
                case SIGMOID -> {
                    double[] y = new double[logits.length];
                    for (int k = 0; k < y.length; k++) {
                        y[k] = 1 / (1 + Math.exp(-logits[k]));
                    }
                    yield y;
                }
                case IDENTITY -> logits.clone();
            };
        }

        static double[] softmax(double[] z) {
            double max = Double.NEGATIVE_INFINITY;
            for (double v : z) {
                max = Math.max(max, v);
            }
            double[] e = new double[z.length];
            double sum = 0;
            for (int k = 0; k < z.length; k++) {
                e[k] = Math.exp(z[k] - max);
                sum += e[k];
            }
            for (int k = 0; k < z.length; k++) {
                e[k] /= sum;
            }
            return e;
        }
    }

    // ---- random models with calibrated activation quantization ----

    /**
     * Appends random layers and calibrates each hidden layer's output quantization on the reference's activations of
     * {@value #CALIBRATION_ROWS} rows, so no layer saturates or collapses to a few levels.
     */
    static final class ModelFactory {
        private final SplittableRandom rng;
        private final int inputs;
        private final ActivationQuant input;
        private final List<IntLayer> layers = new ArrayList<>();
        private List<double[]> calibration = new ArrayList<>();
        private ActivationQuant current;
        private int width;

        ModelFactory(long id, int inputs, Function<SplittableRandom, double[]> rows, ActivationQuant input) {
            this.rng = Seeds.stream(SEED, id);
            this.inputs = inputs;
            this.input = input;
            this.current = input;
            this.width = inputs;
            SplittableRandom rowRng = Seeds.stream(SEED, id, 1);
            for (int r = 0; r < CALIBRATION_ROWS; r++) {
                calibration.add(Reference.fakeQuant(input, rows.apply(rowRng)));
            }
        }

        void dense(int nOut, int bits, HiddenActivation activation) {
            IntDense raw = denseLayer(nOut, bits, 1.5, null, activation);
            ActivationQuant out = calibrate(calibration.stream().map(x -> Reference.dense(raw, x)).toList(),
                    activation);
            add(new IntDense(raw.nIn(), nOut, bits, raw.weights(), raw.weightScales(), raw.bias(), raw.input(), out,
                    activation), nOut);
        }

        /** The last layer; a larger gain gives decisive logits, so ties do not dominate the comparison. */
        void logits(int nOut, int bits) {
            add(denseLayer(nOut, bits, 6, null, HiddenActivation.IDENTITY), nOut);
        }

        private IntDense denseLayer(int nOut, int bits, double gain, ActivationQuant out, HiddenActivation act) {
            int qmax = (1 << (bits - 1)) - 1;
            byte[] w = weights(nOut * width, qmax);
            float[] scales = scales(nOut, gain, qmax, width);
            return new IntDense(width, nOut, bits, w, scales, biases(scales), current, out, act);
        }

        void conv(int inC, int inH, int inW, int outC, int kH, int kW, int sH, int sW, int pT, int pL, int pB,
                  int pR, int bits, HiddenActivation activation) {
            int outH = (inH + pT + pB - kH) / sH + 1;
            int outW = (inW + pL + pR - kW) / sW + 1;
            int qmax = (1 << (bits - 1)) - 1;
            int fanIn = inC * kH * kW;
            byte[] w = weights(outC * fanIn, qmax);
            float[] scales = scales(outC, 1.5, qmax, fanIn);
            IntConv2d raw = new IntConv2d(inC, inH, inW, outC, outH, outW, kH, kW, sH, sW, pT, pL, pB, pR, bits, w,
                    scales, biases(scales), current, null, activation);
            ActivationQuant out = calibrate(calibration.stream().map(x -> Reference.conv(raw, x)).toList(),
                    activation);
            add(new IntConv2d(inC, inH, inW, outC, outH, outW, kH, kW, sH, sW, pT, pL, pB, pR, bits, w, scales,
                    raw.bias(), current, out, activation), outC * outH * outW);
        }

        /** A conv layer as the last layer: its accumulators, flattened channel-major, are the logits. */
        void convLogits(int inC, int inH, int inW, int outC, int k, int bits) {
            int out = inH - k + 1;
            int outW = inW - k + 1;
            int qmax = (1 << (bits - 1)) - 1;
            float[] scales = scales(outC, 6, qmax, inC * k * k);
            add(new IntConv2d(inC, inH, inW, outC, out, outW, k, k, 1, 1, 0, 0, 0, 0, bits,
                    weights(outC * inC * k * k, qmax), scales, biases(scales), current, null,
                    HiddenActivation.IDENTITY), outC * out * outW);
        }

        void maxPool(int c, int inH, int inW, int kH, int kW, int sH, int sW, int pT, int pL, int pB, int pR) {
            int outH = (inH + pT + pB - kH) / sH + 1;
            int outW = (inW + pL + pR - kW) / sW + 1;
            add(new IntMaxPool2d(c, inH, inW, outH, outW, kH, kW, sH, sW, pT, pL, pB, pR), c * outH * outW);
        }

        IntegerModel build(OutputActivation activation) {
            return new IntegerModel(inputs, input, layers, activation, width);
        }

        private void add(IntLayer layer, int outWidth) {
            layers.add(layer);
            calibration = calibration.stream().map(x -> Reference.forward(layer, x)).toList();
            if (layer instanceof IntDense d) {
                current = d.output();
            } else if (layer instanceof IntConv2d c) {
                current = c.output();
            }
            width = outWidth;
        }

        private byte[] weights(int n, int qmax) {
            byte[] w = new byte[n];
            for (int k = 0; k < n; k++) {
                w[k] = (byte) rng.nextInt(-qmax, qmax + 1);
            }
            return w;
        }

        /** Uniform integer weights have variance qmax²/3; this scale gives outputs of roughly gain/√3 per unit input. */
        private float[] scales(int channels, double gain, int qmax, int fanIn) {
            float[] s = new float[channels];
            for (int o = 0; o < channels; o++) {
                s[o] = (float) (gain * rng.nextDouble(0.5, 1.5) / (qmax * Math.sqrt(fanIn)));
            }
            return s;
        }

        private int[] biases(float[] scales) {
            int[] b = new int[scales.length];
            for (int o = 0; o < b.length; o++) {
                b[o] = (int) Math.rint(0.2 * rng.nextGaussian() / (current.scale() * scales[o]));
            }
            return b;
        }

        private static ActivationQuant calibrate(List<double[]> acc, HiddenActivation activation) {
            double lo = 0;
            double hi = 0;
            for (double[] row : acc) {
                for (double v : row) {
                    double a = activation == HiddenActivation.RELU ? Math.max(0, v) : v;
                    lo = Math.min(lo, a);
                    hi = Math.max(hi, a);
                }
            }
            float scale = (float) ((hi - lo) / 255);
            return new ActivationQuant(scale, (int) Math.max(0, Math.min(255, Math.rint(-lo / scale))));
        }
    }
}
