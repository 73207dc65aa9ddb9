package io.candor.quant.intmodel;

import org.nd4j.shade.jackson.core.JsonParser;
import org.nd4j.shade.jackson.core.JsonProcessingException;
import org.nd4j.shade.jackson.databind.DeserializationFeature;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.node.ArrayNode;
import org.nd4j.shade.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The binary file of an {@link IntegerModel}: a compact JSON header describing the layers, then the parameters with
 * weights bit-packed at their bit width. This comment is the format's specification.
 *
 * <h2>Layout (format version 1)</h2>
 * <table>
 *   <caption>File sections, in order</caption>
 *   <tr><th>Offset</th><th>Bytes</th><th>Content</th></tr>
 *   <tr><td>0</td><td>8</td><td>magic {@code "CNDRQNT\0"} (ASCII, last byte 0)</td></tr>
 *   <tr><td>8</td><td>4</td><td>format version, int32 little-endian: 1</td></tr>
 *   <tr><td>12</td><td>4</td><td>header length {@code H}, int32 little-endian</td></tr>
 *   <tr><td>16</td><td>H</td><td>header: one UTF-8 JSON object, no whitespace required (below)</td></tr>
 *   <tr><td>16 + H</td><td>D</td><td>data: the sections the header lists, back to back in header order; the file
 *       ends exactly after the last one</td></tr>
 * </table>
 *
 * <h2>Header</h2>
 * <pre>
 * {"inputs":int, "input":QUANT, "outputActivation":"SOFTMAX"|"SIGMOID"|"IDENTITY", "outputs":int, "layers":[LAYER…]}
 * QUANT   = {"scale":float32, "zeroPoint":0..255}
 * SECTION = [offset, length]    byte offset relative to the data start (16 + H), and byte length
 * LAYER   = {"kind":"dense", "nIn", "nOut", "bits", "activation"?, "input":QUANT, "output":QUANT?,
 *            "weights":SECTION, "weightScales":SECTION, "bias":SECTION}
 *         | {"kind":"conv2d", "inChannels", "inHeight", "inWidth", "outChannels", "outHeight", "outWidth",
 *            "kernel":[h,w], "stride":[h,w], "pads":[top,left,bottom,right], "bits", "activation"?, "input":QUANT,
 *            "output":QUANT?, "weights":SECTION, "weightScales":SECTION, "bias":SECTION}
 *         | {"kind":"maxpool2d", "channels", "inHeight", "inWidth", "outHeight", "outWidth", "kernel":[h,w],
 *            "stride":[h,w], "pads":[top,left,bottom,right]}
 * </pre>
 * The fields mirror the records {@link IntDense}, {@link IntConv2d}, {@link IntMaxPool2d}; {@code activation}
 * ({@code "RELU"|"IDENTITY"}) and {@code output} are absent where the record holds {@code null}. Float values are
 * written as the shortest decimal that reads back to the same float32. Unknown keys are ignored.
 *
 * <h2>Data sections</h2>
 * <table>
 *   <caption>Per dense or conv layer, in this order</caption>
 *   <tr><th>Section</th><th>Bytes</th><th>Encoding</th></tr>
 *   <tr><td>weights</td><td>{@code ceil(n · bits / 8)}</td><td>the record's {@code n} weights in its order,
 *       each {@code bits} wide in two's complement, packed LSB-first (value {@code i} occupies stream bits
 *       {@code i·bits … i·bits + bits − 1}, stream bit {@code j} is bit {@code j mod 8} of byte {@code j / 8});
 *       unused high bits of the last byte are 0</td></tr>
 *   <tr><td>weightScales</td><td>4 per output channel</td><td>float32 little-endian</td></tr>
 *   <tr><td>bias</td><td>4 per output channel</td><td>int32 little-endian</td></tr>
 * </table>
 *
 * <p>Reading rejects, with an {@link IllegalArgumentException} whose one-line message names the source, what is
 * wrong and what was expected: a wrong magic, another version, a header that is not a JSON object of this schema,
 * sections that are out of range, out of order, of the wrong length or followed by trailing bytes, nonzero padding
 * bits, and any model {@link PreparedIntegerModel#of} rejects. A model that reads is valid for
 * {@link IntegerInference}.
 */
public final class IntegerModelFile {
    /** The 8 magic bytes every file starts with. */
    public static final byte[] MAGIC = {'C', 'N', 'D', 'R', 'Q', 'N', 'T', 0};
    /** The format version this class writes and reads. */
    public static final int VERSION = 1;

    private static final int PREAMBLE = 16;
    private static final String DENSE = "dense";
    private static final String CONV = "conv2d";
    private static final String POOL = "maxpool2d";
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private IntegerModelFile() {
    }

    /**
     * The file bytes of {@code model}.
     *
     * @throws IllegalArgumentException if the model is invalid ({@link PreparedIntegerModel#of})
     */
    public static byte[] toBytes(IntegerModel model) {
        PreparedIntegerModel.of(model);
        ObjectNode header = JSON.createObjectNode();
        header.put("inputs", model.inputs());
        header.set("input", quant(model.input()));
        header.put("outputActivation", model.outputActivation().name());
        header.put("outputs", model.outputs());
        ArrayNode layers = header.putArray("layers");
        List<byte[]> sections = new ArrayList<>();
        long[] offset = {0};
        for (IntLayer layer : model.layers()) {
            ObjectNode n = layers.addObject();
            if (layer instanceof IntDense d) {
                n.put("kind", DENSE);
                n.put("nIn", d.nIn());
                n.put("nOut", d.nOut());
                putParameters(n, d.bits(), d.activation(), d.input(), d.output(), d.weights(), d.weightScales(),
                        d.bias(), sections, offset);
            } else if (layer instanceof IntConv2d c) {
                n.put("kind", CONV);
                n.put("inChannels", c.inChannels());
                n.put("inHeight", c.inHeight());
                n.put("inWidth", c.inWidth());
                n.put("outChannels", c.outChannels());
                n.put("outHeight", c.outHeight());
                n.put("outWidth", c.outWidth());
                putWindow(n, c.kernelH(), c.kernelW(), c.strideH(), c.strideW(), c.padTop(), c.padLeft(),
                        c.padBottom(), c.padRight());
                putParameters(n, c.bits(), c.activation(), c.input(), c.output(), c.weights(), c.weightScales(),
                        c.bias(), sections, offset);
            } else {
                IntMaxPool2d p = (IntMaxPool2d) layer;
                n.put("kind", POOL);
                n.put("channels", p.channels());
                n.put("inHeight", p.inHeight());
                n.put("inWidth", p.inWidth());
                n.put("outHeight", p.outHeight());
                n.put("outWidth", p.outWidth());
                putWindow(n, p.kernelH(), p.kernelW(), p.strideH(), p.strideW(), p.padTop(), p.padLeft(),
                        p.padBottom(), p.padRight());
            }
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(header);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("serializing a JSON tree of plain values failed", e);
        }
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(PREAMBLE + json.length + offset[0]))
                .order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).putInt(VERSION).putInt(json.length).put(json);
        for (byte[] s : sections) {
            out.put(s);
        }
        return out.array();
    }

    /**
     * Writes {@link #toBytes} to {@code out}; does not close it.
     *
     * @throws UncheckedIOException if writing fails
     */
    public static void write(IntegerModel model, OutputStream out) {
        byte[] bytes = toBytes(model);
        try {
            out.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("writing the integer model file failed", e);
        }
    }

    /**
     * Reads a model from the whole of {@code in}; does not close it.
     *
     * @param sourceName names the source in error messages (a path, a table row)
     * @throws IllegalArgumentException if the bytes are not a valid file, see the class doc
     * @throws UncheckedIOException if reading the stream fails
     */
    public static IntegerModel read(InputStream in, String sourceName) {
        try {
            return read(in.readAllBytes(), sourceName);
        } catch (IOException e) {
            throw new UncheckedIOException("reading integer model file " + sourceName + " failed", e);
        }
    }

    /**
     * Reads a model from file bytes.
     *
     * @param sourceName names the source in error messages
     * @throws IllegalArgumentException if the bytes are not a valid file, see the class doc
     */
    public static IntegerModel read(byte[] bytes, String sourceName) {
        try {
            return parse(bytes);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("integer model file " + sourceName + ": " + e.getMessage(), e);
        }
    }

    private static IntegerModel parse(byte[] bytes) {
        if (bytes == null || bytes.length < PREAMBLE) {
            throw new IllegalArgumentException("truncated: " + (bytes == null ? 0 : bytes.length)
                    + " bytes; expected at least " + PREAMBLE + " (magic, version, header length)");
        }
        if (!Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new IllegalArgumentException("magic bytes " + hex(bytes, MAGIC.length)
                    + "; expected 434e4452514e5400 (\"CNDRQNT\\0\"), this is not a Candor integer model");
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int version = buf.getInt(MAGIC.length);
        if (version != VERSION) {
            throw new IllegalArgumentException("format version " + version + "; expected " + VERSION);
        }
        int headerLength = buf.getInt(MAGIC.length + 4);
        if (headerLength < 2 || headerLength > bytes.length - PREAMBLE) {
            throw new IllegalArgumentException("header length " + headerLength + "; expected 2.."
                    + (bytes.length - PREAMBLE) + ", the bytes after the preamble (truncated file?)");
        }
        JsonNode header;
        try {
            header = JSON.readTree(bytes, PREAMBLE, headerLength);
        } catch (IOException e) {
            String why = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new IllegalArgumentException("header is not JSON (" + oneLine(why) + "); expected a UTF-8 JSON object");
        }
        if (header == null || !header.isObject()) {
            throw new IllegalArgumentException("header is " + (header == null ? "empty" : describe(header))
                    + "; expected a JSON object");
        }
        Fields top = new Fields(header, "header");
        int inputs = top.integer("inputs");
        ActivationQuant input = top.quant("input");
        OutputActivation outputActivation = top.enumValue("outputActivation", OutputActivation.class);
        int outputs = top.integer("outputs");
        JsonNode layerNodes = top.required("layers");
        if (!layerNodes.isArray() || layerNodes.isEmpty()) {
            throw new IllegalArgumentException("header.layers is " + describe(layerNodes)
                    + "; expected a non-empty array");
        }
        Data data = new Data(buf, PREAMBLE + headerLength);
        List<IntLayer> layers = new ArrayList<>();
        for (int i = 0; i < layerNodes.size(); i++) {
            layers.add(layer(new Fields(layerNodes.get(i), "header.layers[" + i + "]"), data));
        }
        IntegerModel model = new IntegerModel(inputs, input, layers, outputActivation, outputs);
        if (data.offset != data.size()) {
            throw new IllegalArgumentException("data has " + data.size() + " bytes; expected " + data.offset
                    + ", the end of the last section (trailing bytes)");
        }
        try {
            PreparedIntegerModel.of(model);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid model: " + e.getMessage());
        }
        return model;
    }

    private static IntLayer layer(Fields f, Data data) {
        String kind = f.text("kind");
        switch (kind) {
            case DENSE -> {
                int nIn = f.positive("nIn");
                int nOut = f.positive("nOut");
                int bits = f.bits();
                HiddenActivation activation = f.optionalEnum("activation", HiddenActivation.class);
                ActivationQuant input = f.quant("input");
                ActivationQuant output = f.optionalQuant("output");
                byte[] weights = data.weights(f, (long) nIn * nOut, bits);
                float[] scales = data.floats(f, "weightScales", nOut);
                int[] bias = data.ints(f, "bias", nOut);
                return new IntDense(nIn, nOut, bits, weights, scales, bias, input, output, activation);
            }
            case CONV -> {
                int inC = f.positive("inChannels");
                int inH = f.positive("inHeight");
                int inW = f.positive("inWidth");
                int outC = f.positive("outChannels");
                int outH = f.positive("outHeight");
                int outW = f.positive("outWidth");
                int[] k = f.ints("kernel", 2);
                int[] s = f.ints("stride", 2);
                int[] p = f.ints("pads", 4);
                int bits = f.bits();
                HiddenActivation activation = f.optionalEnum("activation", HiddenActivation.class);
                ActivationQuant input = f.quant("input");
                ActivationQuant output = f.optionalQuant("output");
                byte[] weights = data.weights(f, (long) outC * inC * Math.max(0, k[0]) * Math.max(0, k[1]), bits);
                float[] scales = data.floats(f, "weightScales", outC);
                int[] bias = data.ints(f, "bias", outC);
                return new IntConv2d(inC, inH, inW, outC, outH, outW, k[0], k[1], s[0], s[1], p[0], p[1], p[2], p[3],
                        bits, weights, scales, bias, input, output, activation);
            }
            case POOL -> {
                int[] k = f.ints("kernel", 2);
                int[] s = f.ints("stride", 2);
                int[] p = f.ints("pads", 4);
                return new IntMaxPool2d(f.positive("channels"), f.positive("inHeight"), f.positive("inWidth"),
                        f.positive("outHeight"), f.positive("outWidth"), k[0], k[1], s[0], s[1], p[0], p[1], p[2],
                        p[3]);
            }
            default -> throw new IllegalArgumentException(f.where + ".kind \"" + kind + "\"; expected \"" + DENSE
                    + "\", \"" + CONV + "\" or \"" + POOL + "\"");
        }
    }

    /** Typed access to one JSON object's fields, with messages that name the field's path. */
    private record Fields(JsonNode node, String where) {
        Fields {
            if (node == null || !node.isObject()) {
                throw new IllegalArgumentException(where + " is " + describe(node) + "; expected a JSON object");
            }
        }

        JsonNode required(String key) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) {
                throw new IllegalArgumentException(where + "." + key + " is missing; expected a value");
            }
            return v;
        }

        int integer(String key) {
            return toInt(required(key), where + "." + key);
        }

        int positive(String key) {
            int v = integer(key);
            if (v < 1) {
                throw new IllegalArgumentException(where + "." + key + " " + v + "; expected at least 1");
            }
            return v;
        }

        int bits() {
            int v = integer("bits");
            if (v < 2 || v > 8) {
                throw new IllegalArgumentException(where + ".bits " + v + "; expected 2..8");
            }
            return v;
        }

        int[] ints(String key, int count) {
            JsonNode v = required(key);
            if (!v.isArray() || v.size() != count) {
                throw new IllegalArgumentException(where + "." + key + " is " + describe(v) + "; expected an array of "
                        + count + " integers");
            }
            int[] out = new int[count];
            for (int i = 0; i < count; i++) {
                out[i] = toInt(v.get(i), where + "." + key + "[" + i + "]");
            }
            return out;
        }

        String text(String key) {
            JsonNode v = required(key);
            if (!v.isTextual()) {
                throw new IllegalArgumentException(where + "." + key + " is " + describe(v) + "; expected a string");
            }
            return v.textValue();
        }

        <E extends Enum<E>> E enumValue(String key, Class<E> type) {
            String name = text(key);
            for (E e : type.getEnumConstants()) {
                if (e.name().equals(name)) {
                    return e;
                }
            }
            throw new IllegalArgumentException(where + "." + key + " \"" + name + "\"; expected one of "
                    + Arrays.toString(type.getEnumConstants()));
        }

        <E extends Enum<E>> E optionalEnum(String key, Class<E> type) {
            return node.hasNonNull(key) ? enumValue(key, type) : null;
        }

        ActivationQuant quant(String key) {
            Fields q = new Fields(required(key), where + "." + key);
            JsonNode scale = q.required("scale");
            if (!scale.isNumber()) {
                throw new IllegalArgumentException(q.where + ".scale is " + describe(scale) + "; expected a number");
            }
            // Through the decimal text so the float32 written reads back exactly (no double rounding).
            float s = Float.parseFloat(scale.decimalValue().toString());
            try {
                return new ActivationQuant(s, q.integer("zeroPoint"));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(q.where + ": " + e.getMessage());
            }
        }

        ActivationQuant optionalQuant(String key) {
            return node.hasNonNull(key) ? quant(key) : null;
        }

        private static int toInt(JsonNode v, String path) {
            if (v == null || !v.isIntegralNumber() || !v.canConvertToInt()) {
                throw new IllegalArgumentException(path + " is " + describe(v) + "; expected an int32");
            }
            return v.intValue();
        }
    }

    /** The data area; sections are consumed in header order and must follow each other without gaps. */
    private static final class Data {
        private final ByteBuffer buf;
        private final int start;
        private long offset;

        Data(ByteBuffer buf, int start) {
            this.buf = buf;
            this.start = start;
        }

        long size() {
            return buf.capacity() - start;
        }

        /** Checks the section {@code key} of {@code f} is {@code [offset, expectedLength]} and inside the data. */
        private int section(Fields f, String key, long expectedLength) {
            int[] s = f.ints(key, 2);
            if (s[0] != offset) {
                throw new IllegalArgumentException(f.where + "." + key + " offset " + s[0] + "; expected " + offset
                        + ", right after the previous section");
            }
            if (s[1] != expectedLength) {
                throw new IllegalArgumentException(f.where + "." + key + " length " + s[1] + "; expected "
                        + expectedLength + " from the layer's shape and bits");
            }
            if (offset + expectedLength > size()) {
                throw new IllegalArgumentException(f.where + "." + key + " ends at data byte " + (offset + expectedLength)
                        + "; expected at most " + size() + ", the data length (truncated file?)");
            }
            int at = Math.toIntExact(start + offset);
            offset += expectedLength;
            return at;
        }

        byte[] weights(Fields f, long count, int bits) {
            if (count > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(f.where + " has " + count + " weights; expected at most "
                        + Integer.MAX_VALUE);
            }
            int at = section(f, "weights", (count * bits + 7) / 8);
            byte[] out = new byte[(int) count];
            int mask = (1 << bits) - 1;
            int sign = 1 << (bits - 1);
            long bit = 0;
            for (int i = 0; i < out.length; i++, bit += bits) {
                int pos = at + (int) (bit >>> 3);
                int shift = (int) (bit & 7);
                int word = (buf.get(pos) & 0xff) | (shift + bits > 8 ? (buf.get(pos + 1) & 0xff) << 8 : 0);
                int v = (word >>> shift) & mask;
                out[i] = (byte) (v >= sign ? v - (1 << bits) : v);
            }
            int used = (int) (bit & 7);
            if (used != 0 && (buf.get(at + (int) (bit >>> 3)) & 0xff) >>> used != 0) {
                throw new IllegalArgumentException(f.where + ".weights has nonzero padding bits in its last byte; "
                        + "expected 0");
            }
            return out;
        }

        float[] floats(Fields f, String key, int count) {
            int at = section(f, key, 4L * count);
            float[] out = new float[count];
            for (int i = 0; i < count; i++) {
                out[i] = buf.getFloat(at + 4 * i);
            }
            return out;
        }

        int[] ints(Fields f, String key, int count) {
            int at = section(f, key, 4L * count);
            int[] out = new int[count];
            for (int i = 0; i < count; i++) {
                out[i] = buf.getInt(at + 4 * i);
            }
            return out;
        }
    }

    private static void putParameters(ObjectNode n, int bits, HiddenActivation activation, ActivationQuant input,
                                      ActivationQuant output, byte[] weights, float[] scales, int[] bias,
                                      List<byte[]> sections, long[] offset) {
        n.put("bits", bits);
        if (activation != null) {
            n.put("activation", activation.name());
        }
        n.set("input", quant(input));
        if (output != null) {
            n.set("output", quant(output));
        }
        ByteBuffer s = ByteBuffer.allocate(4 * scales.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : scales) {
            s.putFloat(v);
        }
        ByteBuffer b = ByteBuffer.allocate(4 * bias.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : bias) {
            b.putInt(v);
        }
        addSection(n, "weights", pack(weights, bits), sections, offset);
        addSection(n, "weightScales", s.array(), sections, offset);
        addSection(n, "bias", b.array(), sections, offset);
    }

    private static void addSection(ObjectNode n, String key, byte[] bytes, List<byte[]> sections, long[] offset) {
        n.putArray(key).add(offset[0]).add(bytes.length);
        sections.add(bytes);
        offset[0] += bytes.length;
    }

    /** Two's complement, {@code bits} per value, LSB-first; see the class doc. */
    static byte[] pack(byte[] values, int bits) {
        byte[] out = new byte[(int) (((long) values.length * bits + 7) / 8)];
        int mask = (1 << bits) - 1;
        long bit = 0;
        for (byte value : values) {
            int v = value & mask;
            int pos = (int) (bit >>> 3);
            int shift = (int) (bit & 7);
            out[pos] |= (byte) (v << shift);
            if (shift + bits > 8) {
                out[pos + 1] |= (byte) (v >>> (8 - shift));
            }
            bit += bits;
        }
        return out;
    }

    private static void putWindow(ObjectNode n, int kH, int kW, int sH, int sW, int top, int left, int bottom,
                                  int right) {
        n.putArray("kernel").add(kH).add(kW);
        n.putArray("stride").add(sH).add(sW);
        n.putArray("pads").add(top).add(left).add(bottom).add(right);
    }

    private static ObjectNode quant(ActivationQuant q) {
        ObjectNode n = JSON.createObjectNode();
        n.put("scale", q.scale());
        n.put("zeroPoint", q.zeroPoint());
        return n;
    }

    private static String describe(JsonNode v) {
        if (v == null) {
            return "missing";
        }
        String text = v.toString();
        return v.getNodeType().name().toLowerCase() + " " + (text.length() > 40 ? text.substring(0, 40) + "…" : text);
    }

    private static String oneLine(String s) {
        String line = s == null ? "unknown error" : s.replaceAll("\\s+", " ").trim();
        return line.length() > 200 ? line.substring(0, 200) + "…" : line;
    }

    private static String hex(byte[] bytes, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(String.format("%02x", bytes[i]));
        }
        return sb.toString();
    }
}
