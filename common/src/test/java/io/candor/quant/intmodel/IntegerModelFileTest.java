package io.candor.quant.intmodel;

import io.candor.util.Seeds;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.lang.reflect.RecordComponent;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class IntegerModelFileTest {
    private static final long SEED = 2024_0607L;
    private static final String SOURCE = "test.cqm";

    private static IntegerModel convModel(int bits) {
        return new RandomIntegerModels(SEED, bits, 2, 6, 6)
                .conv(3, 3, 1, 1, 1, HiddenActivation.RELU)
                .maxPool(2, 2, 0, 1)
                .dense(7, HiddenActivation.IDENTITY)
                .denseOutput(4, OutputActivation.SIGMOID);
    }

    private static IntegerModel mlp(int bits) {
        return new RandomIntegerModels(SEED + 1, bits, 64)
                .dense(128, HiddenActivation.RELU)
                .denseOutput(10, OutputActivation.SOFTMAX);
    }

    @ParameterizedTest
    @ValueSource(ints = {8, 4, 3, 2})
    void roundTripKeepsEveryField(int bits) {
        for (IntegerModel m : List.of(convModel(bits), mlp(bits))) {
            assertHasExtremeWeights(m, bits);
            byte[] bytes = IntegerModelFile.toBytes(m);
            IntegerModel back = IntegerModelFile.read(bytes, SOURCE);
            assertSameModel(m, back);
            assertArrayEquals(bytes, IntegerModelFile.toBytes(back), "writing is deterministic");
            float[] x = RandomIntegerModels.features(Seeds.stream(SEED, bits), 20, m.inputs());
            assertArrayEquals(IntegerInference.logits(m, x, 20), IntegerInference.logits(back, x, 20));
        }
    }

    @Test
    void streamsRoundTrip() {
        IntegerModel m = convModel(5);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        IntegerModelFile.write(m, out);
        assertSameModel(m, IntegerModelFile.read(new ByteArrayInputStream(out.toByteArray()), SOURCE));
    }

    @Test
    void weightsPackLsbFirstInTwosComplement() {
        assertArrayEquals(new byte[] {0x79, 0x0f}, IntegerModelFile.pack(new byte[] {-7, 7, -1, 0}, 4));
        // 3 bits: 1 = 001, -1 = 111, 3 = 011 → stream bits 100 111 110 (LSB first) → byte 0b11_111_001, then 0b0.
        assertArrayEquals(new byte[] {(byte) 0b1111_1001, 0b0}, IntegerModelFile.pack(new byte[] {1, -1, 3}, 3));
        assertArrayEquals(new byte[] {(byte) 0x81, 0x7f}, IntegerModelFile.pack(new byte[] {-127, 127}, 8));
    }

    @Test
    void theHeaderStartsWithMagicVersionAndLength() {
        byte[] bytes = IntegerModelFile.toBytes(mlp(8));
        assertArrayEquals(IntegerModelFile.MAGIC, Arrays.copyOf(bytes, 8));
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1, b.getInt(8));
        String json = new String(bytes, 16, b.getInt(12), StandardCharsets.UTF_8);
        assertTrue(json.startsWith("{\"inputs\":64,"), json);
        assertFalse(json.contains("\n"), "compact header");
    }

    @Test
    void filesAreSmallerThanFloatParameters() {
        int params = 64 * 128 + 128 + 128 * 10 + 10;
        double fp32 = 4.0 * params;
        int int8 = IntegerModelFile.toBytes(mlp(8)).length;
        int int4 = IntegerModelFile.toBytes(mlp(4)).length;
        assertTrue(int8 <= 0.30 * fp32, () -> "8-bit file " + int8 + " bytes vs fp32 " + fp32);
        assertTrue(int4 <= 0.17 * fp32, () -> "4-bit file " + int4 + " bytes vs fp32 " + fp32);
    }

    @Test
    void corruptFilesGiveClearErrors() {
        byte[] good = IntegerModelFile.toBytes(convModel(4));
        int headerLength = ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getInt(12);

        byte[] magic = good.clone();
        magic[0] = 'X';
        assertRejected(magic, "magic bytes 584e4452514e5400; expected 434e4452514e5400");

        byte[] version = good.clone();
        ByteBuffer.wrap(version).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 99);
        assertRejected(version, "format version 99; expected 1");

        assertRejected(Arrays.copyOf(good, 10), "truncated: 10 bytes; expected at least 16");
        assertRejected(Arrays.copyOf(good, 16 + headerLength / 2), "header length " + headerLength + "; expected 2..");
        assertRejected(Arrays.copyOf(good, good.length - 1), "(truncated file?)");
        assertRejected(Arrays.copyOf(good, good.length + 3), "trailing bytes");

        assertRejected(withHeader(good, "{not json"), "header is not JSON");
        assertRejected(withHeader(good, "[1,2]"), "header is array [1,2]; expected a JSON object");
        String json = new String(good, 16, headerLength, StandardCharsets.UTF_8);
        assertRejected(withHeader(good, json.replace("\"kind\":\"conv2d\"", "\"kind\":\"conv3d\"")),
                "header.layers[0].kind \"conv3d\"; expected \"dense\", \"conv2d\" or \"maxpool2d\"");
        assertRejected(withHeader(good, json.replace("\"bits\":4", "\"bits\":9")), "header.layers[0].bits 9; expected 2..8");
        assertRejected(withHeader(good, json.replace("\"inputs\":72", "\"inputs\":\"72\"")),
                "header.inputs is string \"72\"; expected an int32");
        assertRejected(withHeader(good, json.replace("\"outChannels\":3", "\"outChannels\":4")),
                "header.layers[0].weights length 27; expected 36 from the layer's shape and bits");
        assertRejected(withHeader(good, json.replace("\"outHeight\":6", "\"outHeight\":5")),
                "invalid model: layer 0 (IntConv2d): output 5×6; expected 6×6");
        assertRejected(withHeader(good, json.replace("\"weights\":[0,", "\"weights\":[1,")),
                "header.layers[0].weights offset 1; expected 0");
    }

    @Test
    void randomByteFlipsOnlyEverGiveIllegalArgument() {
        byte[] good = IntegerModelFile.toBytes(convModel(3));
        int headerEnd = 16 + ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getInt(12);
        SplittableRandom random = Seeds.stream(SEED, 99);
        int accepted = 0;
        for (int t = 0; t < 4000; t++) {
            byte[] bad = good.clone();
            int flips = 1 + random.nextInt(3);
            for (int f = 0; f < flips; f++) {
                // Half the mutants hit the header, where parsing is most intricate.
                int at = t % 2 == 0 ? random.nextInt(headerEnd) : random.nextInt(bad.length);
                bad[at] = (byte) (t % 4 < 2 ? random.nextInt(256) : bad[at] ^ (1 << random.nextInt(8)));
            }
            if (t % 10 == 0) {
                bad = Arrays.copyOf(bad, random.nextInt(bad.length + 1));
            }
            try {
                IntegerInference.prepare(IntegerModelFile.read(bad, SOURCE));
                accepted++;
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage().startsWith("integer model file " + SOURCE + ": "), e.getMessage());
                assertFalse(e.getMessage().contains("\n"), () -> "one line: " + e.getMessage());
            } catch (RuntimeException | Error e) {
                byte[] mutant = bad;
                fail("mutant " + t + " threw " + e + "; header "
                        + new String(mutant, 0, Math.min(mutant.length, headerEnd), StandardCharsets.ISO_8859_1), e);
            }
        }
        assertTrue(accepted < 4000, "some mutants are rejected");
    }

    private static byte[] withHeader(byte[] file, String json) {
        int headerLength = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getInt(12);
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(file.length - headerLength + h.length).order(ByteOrder.LITTLE_ENDIAN);
        out.put(file, 0, 12).putInt(h.length).put(h).put(file, 16 + headerLength, file.length - 16 - headerLength);
        return out.array();
    }

    private static void assertRejected(byte[] bytes, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> IntegerModelFile.read(bytes, SOURCE));
        assertTrue(e.getMessage().startsWith("integer model file " + SOURCE + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), () -> "message '" + e.getMessage() + "' lacks '" + expected + "'");
        assertFalse(e.getMessage().contains("\n"), "one-line message");
    }

    private static void assertHasExtremeWeights(IntegerModel m, int bits) {
        int qmax = (1 << (bits - 1)) - 1;
        boolean min = false;
        boolean max = false;
        for (IntLayer l : m.layers()) {
            byte[] w = l instanceof IntDense d ? d.weights() : l instanceof IntConv2d c ? c.weights() : new byte[0];
            for (byte v : w) {
                min |= v == -qmax;
                max |= v == qmax;
            }
        }
        assertTrue(min && max, "the model uses both ends of the " + bits + "-bit range");
    }

    /** Record equality with arrays compared by content. */
    static void assertSameModel(IntegerModel a, IntegerModel b) {
        assertEquals(a.inputs(), b.inputs());
        assertEquals(a.input(), b.input());
        assertEquals(a.outputActivation(), b.outputActivation());
        assertEquals(a.outputs(), b.outputs());
        assertEquals(a.layers().size(), b.layers().size());
        for (int i = 0; i < a.layers().size(); i++) {
            IntLayer x = a.layers().get(i);
            IntLayer y = b.layers().get(i);
            assertEquals(x.getClass(), y.getClass());
            for (RecordComponent rc : x.getClass().getRecordComponents()) {
                try {
                    Object u = rc.getAccessor().invoke(x);
                    Object v = rc.getAccessor().invoke(y);
                    assertTrue(Objects.deepEquals(u, v), "layer " + i + " " + rc.getName());
                } catch (ReflectiveOperationException e) {
                    throw new AssertionError(e);
                }
            }
        }
    }
}
