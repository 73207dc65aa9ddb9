package io.candor.quant.intmodel;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Objects;
import java.util.StringJoiner;

/**
 * Writes an {@link IntegerModel} as an ONNX model in QDQ form (the "tensor-oriented" quantized representation of
 * the ONNX Runtime quantization docs: float operators whose quantized inputs pass through {@code DequantizeLinear}
 * and whose outputs pass through {@code QuantizeLinear}; ONNX operator specs for QuantizeLinear/DequantizeLinear,
 * opset 13, which added per-axis scales).
 *
 * <p>Contract: one graph input {@value #INPUT} float32 {@code [batch, inputs]}; output {@value #OUTPUT} float32
 * {@code [batch, outputs]} after the model's output activation (Softmax over axis 1, Sigmoid or Identity) and, unless
 * left out, a second output {@value #LOGITS} with the last layer's dequantized accumulators. A runtime that executes
 * the graph in float32 computes, up to float32 rounding, what the integer model computes:
 * <ul>
 *   <li>features are quantized with the model's input {@link ActivationQuant} (uint8);</li>
 *   <li>{@link IntDense}/{@link IntConv2d}: the int8 weights with per-output-channel scales, stored as UINT8
 *   {@code w + 128} with zero point 128 (the same real values), and the INT32
 *   bias at scale {@code input.scale · weightScale[o]} enter {@code Gemm(transB=1)}/{@code Conv} through
 *   per-axis DequantizeLinear; hidden layers apply Relu when asked and requantize to their output uint8;</li>
 *   <li>{@link IntMaxPool2d}, the NCHW {@code Reshape} before the first image layer and the {@code Flatten} before a
 *   dense layer act on the uint8 tensor itself: they only move or select values, so they are exact there and
 *   need no requantization.</li>
 * </ul>
 * Weights of layers narrower than 8 bits are stored at 8 bits too: opset 13 has no 4-bit type, and the values
 * already lie in {@code ±(2^(bits−1) − 1)} around the zero point; the bit widths are recorded in the model metadata
 * ({@value #META_WEIGHT_BITS}).
 *
 * <p>Why UINT8 weights: ONNX Runtime's CPU provider fuses QDQ groups into integer kernels (QGemm, QLinearConv). On x86
 * CPUs without VNNI its uint8 × int8 kernel adds pairs of products in saturating int16 (VPMADDUBSW), which clips when
 * int8 weights use the full range (ORT quantization docs, "reduce_range"): measured 94–97 % decision agreement with
 * the integer model. Its uint8 × uint8 kernel widens to int16 before multiplying and is exact, so with this encoding
 * the fused graph computes the integer model's accumulators exactly, on every CPU and without reducing the range.
 *
 * <p>The model is checked first: sizes chain, each layer's input quantization is the previous layer's output
 * quantization, only the last layer (a dense or conv layer) has no requantization and applies no activation.
 * Violations throw {@link IllegalArgumentException} naming the layer.
 */
public final class OnnxQdqExport {
    public static final String INPUT = "features";
    public static final String OUTPUT = "outputs";
    public static final String LOGITS = "logits";
    public static final String PRODUCER = "candor";
    /** Zero point of the UINT8 weight initializers: int8 weight {@code w} is stored as {@code w + 128}. */
    public static final int WEIGHT_ZERO_POINT = 128;
    /** Per-axis DequantizeLinear needs 13; nothing newer is used. */
    public static final int OPSET = 13;
    /** The IR version that came with opset 13 (ONNX 1.8). */
    public static final long IR_VERSION = 7;
    /** Metadata key: weight bits per layer, comma separated, "-" for layers without weights. */
    public static final String META_WEIGHT_BITS = "candor.weight_bits";
    /** Metadata key: one short description per layer, semicolon separated. */
    public static final String META_LAYERS = "candor.layers";
    public static final String META_OUTPUT_ACTIVATION = "candor.output_activation";

    private static final String BATCH = "batch";

    private OnnxQdqExport() {
    }

    /** The serialized ModelProto, with the {@value #LOGITS} output. */
    public static byte[] toBytes(IntegerModel model, String producerVersion) {
        return toBytes(model, producerVersion, true);
    }

    /** The serialized ModelProto; {@code withLogits} adds the {@value #LOGITS} output. */
    public static byte[] toBytes(IntegerModel model, String producerVersion, boolean withLogits) {
        return toModel(model, producerVersion, withLogits).toByteArray();
    }

    static ModelProto toModel(IntegerModel model, String producerVersion, boolean withLogits) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(producerVersion, "producerVersion");
        validate(model);
        GraphWriter g = new GraphWriter();
        g.graph.setName("candor_integer_model");
        g.graph.addInput(floatValue(INPUT, model.inputs()));

        Activation act = new Activation(g.quantize(INPUT, "features", model.input()), model.input(), null);
        List<IntLayer> layers = model.layers();
        for (int i = 0; i < layers.size(); i++) {
            String prefix = "l" + i;
            IntLayer layer = layers.get(i);
            if (layer instanceof IntDense d) {
                String x = g.dequantize(g.flat(act, prefix), prefix + ".x", act.quant);
                String w = g.weights(prefix, d.weights(), new long[] {d.nOut(), d.nIn()}, d.weightScales());
                String b = g.bias(prefix, d.bias(), d.input().scale(), d.weightScales());
                boolean last = d.output() == null;
                String acc = g.node("Gemm", last ? LOGITS : prefix + ".acc", List.of(x, w, b),
                        List.of(intAttr("transB", 1)));
                if (!last) {
                    act = new Activation(g.requantize(acc, prefix, d.activation(), d.output()), d.output(), null);
                }
            } else if (layer instanceof IntConv2d c) {
                String x = g.dequantize(g.nchw(act, prefix, c.inChannels(), c.inHeight(), c.inWidth()),
                        prefix + ".x", act.quant);
                String w = g.weights(prefix, c.weights(),
                        new long[] {c.outChannels(), c.inChannels(), c.kernelH(), c.kernelW()}, c.weightScales());
                String b = g.bias(prefix, c.bias(), c.input().scale(), c.weightScales());
                String acc = g.node("Conv", prefix + ".acc", List.of(x, w, b), List.of(
                        intsAttr("kernel_shape", c.kernelH(), c.kernelW()),
                        intsAttr("strides", c.strideH(), c.strideW()),
                        intsAttr("pads", c.padTop(), c.padLeft(), c.padBottom(), c.padRight()),
                        intsAttr("dilations", 1, 1),
                        intAttr("group", 1)));
                int[] chw = {c.outChannels(), c.outHeight(), c.outWidth()};
                if (c.output() == null) {
                    g.node("Flatten", LOGITS, List.of(acc), List.of(intAttr("axis", 1)));
                } else {
                    act = new Activation(g.requantize(acc, prefix, c.activation(), c.output()), c.output(), chw);
                }
            } else if (layer instanceof IntMaxPool2d p) {
                String x = g.nchw(act, prefix, p.channels(), p.inHeight(), p.inWidth());
                String pooled = g.node("MaxPool", prefix + ".pool_q", List.of(x), List.of(
                        intsAttr("kernel_shape", p.kernelH(), p.kernelW()),
                        intsAttr("strides", p.strideH(), p.strideW()),
                        intsAttr("pads", p.padTop(), p.padLeft(), p.padBottom(), p.padRight())));
                act = new Activation(pooled, act.quant, new int[] {p.channels(), p.outHeight(), p.outWidth()});
            }
        }

        // The validated model ends in a dense or conv layer, which wrote LOGITS above.
        switch (model.outputActivation()) {
            case SOFTMAX -> g.node("Softmax", List.of(LOGITS), OUTPUT, List.of(intAttr("axis", 1)));
            case SIGMOID -> g.node("Sigmoid", List.of(LOGITS), OUTPUT, List.of());
            case IDENTITY -> g.node("Identity", List.of(LOGITS), OUTPUT, List.of());
        }
        g.graph.addOutput(floatValue(OUTPUT, model.outputs()));
        if (withLogits) {
            g.graph.addOutput(floatValue(LOGITS, model.outputs()));
        }

        return ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setProducerName(PRODUCER)
                .setProducerVersion(producerVersion)
                .setDocString("Candor integer model in ONNX QDQ form: uint8 activations, int8 per-channel weights (stored as UINT8 + 128), "
                        + "int32 biases; weights narrower than 8 bits are stored as INT8 (see "
                        + META_WEIGHT_BITS + ").")
                .addMetadataProps(meta(META_WEIGHT_BITS, weightBits(layers)))
                .addMetadataProps(meta(META_LAYERS, describe(layers)))
                .addMetadataProps(meta(META_OUTPUT_ACTIVATION, model.outputActivation().name()))
                .setGraph(g.graph)
                .build();
    }

    /** The running activation: a uint8 tensor, its quantization, and its {C, H, W} when it is an image (else null). */
    private record Activation(String name, ActivationQuant quant, int[] chw) {
    }

    private static void validate(IntegerModel model) {
        List<IntLayer> layers = model.layers();
        require(!layers.isEmpty(), "model: no layers; expected at least one dense or conv layer");
        require(model.input() != null, "model: no input quantization");
        require(model.outputActivation() != null, "model: no output activation");
        int size = model.inputs();
        ActivationQuant quant = model.input();
        int[] chw = null;
        for (int i = 0; i < layers.size(); i++) {
            IntLayer layer = layers.get(i);
            boolean last = i == layers.size() - 1;
            String at = "layer " + i + " (" + layer.getClass().getSimpleName() + ")";
            require(layer.inputSize() == size, at + ": reads " + layer.inputSize() + " values; the previous layer"
                    + " writes " + size);
            if (layer instanceof IntDense d) {
                checkWeighted(at, d.bits(), d.weights(), (long) d.nOut() * d.nIn(), d.weightScales(), d.nOut(),
                        d.bias(), d.input(), quant, d.output(), d.activation(), last);
                quant = d.output();
                chw = null;
            } else if (layer instanceof IntConv2d c) {
                checkWeighted(at, c.bits(), c.weights(),
                        (long) c.outChannels() * c.inChannels() * c.kernelH() * c.kernelW(), c.weightScales(),
                        c.outChannels(), c.bias(), c.input(), quant, c.output(), c.activation(), last);
                checkImage(at, chw, c.inChannels(), c.inHeight(), c.inWidth());
                checkWindow(at, c.inHeight(), c.inWidth(), c.outHeight(), c.outWidth(), c.kernelH(), c.kernelW(),
                        c.strideH(), c.strideW(), c.padTop(), c.padLeft(), c.padBottom(), c.padRight());
                quant = c.output();
                chw = new int[] {c.outChannels(), c.outHeight(), c.outWidth()};
            } else if (layer instanceof IntMaxPool2d p) {
                require(!last, at + ": the last layer must be dense or conv; its accumulators are the logits");
                checkImage(at, chw, p.channels(), p.inHeight(), p.inWidth());
                checkWindow(at, p.inHeight(), p.inWidth(), p.outHeight(), p.outWidth(), p.kernelH(), p.kernelW(),
                        p.strideH(), p.strideW(), p.padTop(), p.padLeft(), p.padBottom(), p.padRight());
                // Padding no wider than the window keeps every window on at least one real value.
                require(p.padTop() < p.kernelH() && p.padBottom() < p.kernelH() && p.padLeft() < p.kernelW()
                        && p.padRight() < p.kernelW(), at + ": padding must be smaller than the kernel");
                chw = new int[] {p.channels(), p.outHeight(), p.outWidth()};
            }
            size = layer.outputSize();
        }
        require(size == model.outputs(), "model: the last layer writes " + size + " values; outputs is "
                + model.outputs());
    }

    private static void checkWeighted(String at, int bits, byte[] weights, long weightCount, float[] scales,
                                      int channels, int[] bias, ActivationQuant input, ActivationQuant previous,
                                      ActivationQuant output, HiddenActivation activation, boolean last) {
        require(bits >= 2 && bits <= 8, at + ": bits " + bits + " is outside 2..8");
        require(weights != null && weights.length == weightCount, at + ": " + (weights == null ? "no" :
                weights.length) + " weights; expected " + weightCount);
        require(scales != null && scales.length == channels, at + ": " + (scales == null ? "no" : scales.length)
                + " weight scales; expected " + channels);
        require(bias != null && bias.length == channels, at + ": " + (bias == null ? "no" : bias.length)
                + " biases; expected " + channels);
        for (int o = 0; o < channels; o++) {
            require(scales[o] > 0 && Float.isFinite(scales[o]), at + ": weight scale " + scales[o] + " of channel "
                    + o + "; expected finite and > 0");
        }
        int qmax = (1 << (bits - 1)) - 1;
        for (int k = 0; k < weights.length; k++) {
            require(Math.abs(weights[k]) <= qmax, at + ": weight " + k + " is " + weights[k] + ", outside ±" + qmax
                    + " for " + bits + " bits");
        }
        require(input != null && input.equals(previous), at + ": input quantization " + input
                + " differs from the previous output quantization " + previous);
        require(activation != null, at + ": no activation");
        if (last) {
            require(output == null, at + ": the last layer must not requantize (output must be null)");
            require(activation == HiddenActivation.IDENTITY, at + ": the last layer's logits are not clamped;"
                    + " activation " + activation + " must be IDENTITY");
        } else {
            require(output != null, at + ": a hidden layer needs an output quantization");
        }
    }

    private static void checkImage(String at, int[] chw, int c, int h, int w) {
        if (chw != null) {
            require(chw[0] == c && chw[1] == h && chw[2] == w, at + ": reads [" + c + ", " + h + ", " + w
                    + "]; the previous layer writes [" + chw[0] + ", " + chw[1] + ", " + chw[2] + "]");
        }
    }

    private static void checkWindow(String at, int inH, int inW, int outH, int outW, int kH, int kW, int sH, int sW,
                                    int pT, int pL, int pB, int pR) {
        require(kH > 0 && kW > 0 && sH > 0 && sW > 0 && pT >= 0 && pL >= 0 && pB >= 0 && pR >= 0,
                at + ": kernel, strides and pads must be positive (pads ≥ 0)");
        int h = (inH + pT + pB - kH) / sH + 1;
        int w = (inW + pL + pR - kW) / sW + 1;
        require(h == outH && w == outW, at + ": output " + outH + "×" + outW + "; kernel, strides and pads give "
                + h + "×" + w);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    private static String weightBits(List<IntLayer> layers) {
        StringJoiner j = new StringJoiner(",");
        for (IntLayer layer : layers) {
            j.add(layer instanceof IntDense d ? Integer.toString(d.bits())
                    : layer instanceof IntConv2d c ? Integer.toString(c.bits()) : "-");
        }
        return j.toString();
    }

    private static String describe(List<IntLayer> layers) {
        StringJoiner j = new StringJoiner("; ");
        for (IntLayer layer : layers) {
            if (layer instanceof IntDense d) {
                j.add("dense " + d.nIn() + "->" + d.nOut() + " int" + d.bits() + " " + d.activation());
            } else if (layer instanceof IntConv2d c) {
                j.add("conv " + c.inChannels() + "x" + c.inHeight() + "x" + c.inWidth() + "->" + c.outChannels()
                        + "x" + c.outHeight() + "x" + c.outWidth() + " k" + c.kernelH() + "x" + c.kernelW() + " int"
                        + c.bits() + " " + c.activation());
            } else if (layer instanceof IntMaxPool2d p) {
                j.add("maxpool " + p.channels() + "x" + p.inHeight() + "x" + p.inWidth() + "->" + p.channels() + "x"
                        + p.outHeight() + "x" + p.outWidth());
            }
        }
        return j.toString();
    }

    private static OnnxMl.StringStringEntryProto meta(String key, String value) {
        return OnnxMl.StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    private static ValueInfoProto floatValue(String name, int width) {
        TensorShapeProto shape = TensorShapeProto.newBuilder()
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(BATCH))
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(width))
                .build();
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }

    private static AttributeProto intAttr(String name, long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    private static AttributeProto intsAttr(String name, long... values) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long v : values) {
            b.addInts(v);
        }
        return b.build();
    }

    /** Appends nodes and initializers to one graph; tensor names are the layer prefix plus a role. */
    private static final class GraphWriter {
        final GraphProto.Builder graph = GraphProto.newBuilder();

        String node(String op, String output, List<String> inputs, List<AttributeProto> attributes) {
            node(op, inputs, output, attributes);
            return output;
        }

        void node(String op, List<String> inputs, String output, List<AttributeProto> attributes) {
            graph.addNode(NodeProto.newBuilder().setOpType(op).setName(output + "/" + op).addAllInput(inputs)
                    .addOutput(output).addAllAttribute(attributes));
        }

        /** features → uint8, the model's first QuantizeLinear. */
        String quantize(String x, String prefix, ActivationQuant q) {
            String scale = scalar(prefix + ".scale", q.scale());
            String zp = uint8Scalar(prefix + ".zero_point", q.zeroPoint());
            return node("QuantizeLinear", prefix + ".q", List.of(x, scale, zp), List.of());
        }

        String dequantize(String q, String output, ActivationQuant quant) {
            String scale = scalar(output + ".scale", quant.scale());
            String zp = uint8Scalar(output + ".zero_point", quant.zeroPoint());
            return node("DequantizeLinear", output, List.of(q, scale, zp), List.of());
        }

        /** Optional Relu, then QuantizeLinear to the layer's uint8 output. */
        String requantize(String acc, String prefix, HiddenActivation activation, ActivationQuant output) {
            String x = activation == HiddenActivation.RELU ? node("Relu", prefix + ".relu", List.of(acc), List.of())
                    : acc;
            String scale = scalar(prefix + ".out.scale", output.scale());
            String zp = uint8Scalar(prefix + ".out.zero_point", output.zeroPoint());
            return node("QuantizeLinear", prefix + ".out_q", List.of(x, scale, zp), List.of());
        }

        /**
         * Weights as UINT8 {@code w + 128} with zero point 128, output channel first, dequantized per axis 0: the same
         * integers as int8 with zero point 0, in the type ORT's fused kernels multiply exactly (see the class doc).
         */
        String weights(String prefix, byte[] w, long[] dims, float[] scales) {
            byte[] shifted = new byte[w.length];
            for (int i = 0; i < w.length; i++) {
                shifted[i] = (byte) (w[i] + WEIGHT_ZERO_POINT);
            }
            add(tensor(prefix + ".weight_q", TensorProto.DataType.UINT8, dims)
                    .setRawData(ByteString.copyFrom(shifted)));
            String scale = floats(prefix + ".weight_scale", scales);
            byte[] zeroPoints = new byte[scales.length];
            java.util.Arrays.fill(zeroPoints, (byte) WEIGHT_ZERO_POINT);
            add(tensor(prefix + ".weight_zero_point", TensorProto.DataType.UINT8, scales.length)
                    .setRawData(ByteString.copyFrom(zeroPoints)));
            return node("DequantizeLinear", prefix + ".weight", List.of(prefix + ".weight_q", scale,
                    prefix + ".weight_zero_point"), List.of(intAttr("axis", 0)));
        }

        /** INT32 bias at scale {@code inputScale · weightScale[o]}, the float32 product as the integer model uses. */
        String bias(String prefix, int[] bias, float inputScale, float[] weightScales) {
            TensorProto.Builder q = tensor(prefix + ".bias_q", TensorProto.DataType.INT32, bias.length);
            for (int v : bias) {
                q.addInt32Data(v);
            }
            add(q);
            float[] scales = new float[bias.length];
            for (int o = 0; o < scales.length; o++) {
                scales[o] = inputScale * weightScales[o];
            }
            String scale = floats(prefix + ".bias_scale", scales);
            TensorProto.Builder zp = tensor(prefix + ".bias_zero_point", TensorProto.DataType.INT32, bias.length);
            for (int o = 0; o < bias.length; o++) {
                zp.addInt32Data(0);
            }
            add(zp);
            return node("DequantizeLinear", prefix + ".bias", List.of(prefix + ".bias_q", scale,
                    prefix + ".bias_zero_point"), List.of(intAttr("axis", 0)));
        }

        /** The uint8 activation as [batch, C·H·W]; Flatten on NCHW is channel-major like the integer model. */
        String flat(Activation act, String prefix) {
            return act.chw == null ? act.name
                    : node("Flatten", prefix + ".flat_q", List.of(act.name), List.of(intAttr("axis", 1)));
        }

        /** The uint8 activation as [batch, C, H, W]. */
        String nchw(Activation act, String prefix, int c, int h, int w) {
            if (act.chw != null) {
                return act.name;
            }
            TensorProto.Builder shape = tensor(prefix + ".shape", TensorProto.DataType.INT64, 4);
            shape.addInt64Data(-1).addInt64Data(c).addInt64Data(h).addInt64Data(w);
            add(shape);
            return node("Reshape", prefix + ".nchw_q", List.of(act.name, prefix + ".shape"), List.of());
        }

        String scalar(String name, float value) {
            add(tensor(name, TensorProto.DataType.FLOAT).addFloatData(value));
            return name;
        }

        String uint8Scalar(String name, int value) {
            add(tensor(name, TensorProto.DataType.UINT8).setRawData(ByteString.copyFrom(new byte[] {(byte) value})));
            return name;
        }

        String floats(String name, float[] values) {
            TensorProto.Builder t = tensor(name, TensorProto.DataType.FLOAT, values.length);
            ByteBuffer raw = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : values) {
                raw.putFloat(v);
            }
            add(t.setRawData(ByteString.copyFrom(raw.array())));
            return name;
        }

        void add(TensorProto.Builder t) {
            graph.addInitializer(t);
        }

        static TensorProto.Builder tensor(String name, TensorProto.DataType type, long... dims) {
            TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(type.getNumber());
            for (long d : dims) {
                t.addDims(d);
            }
            return t;
        }
    }
}
