package io.candor.quant.intmodel;

import io.candor.util.Seeds;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IntegerInferenceTest {
    private static final long SEED = 1812_2018L;
    private static final int ROWS = 2000;
    private static final double MIN_ARGMAX_AGREEMENT = 0.995;
    private static final double MAX_MEAN_ABS_PROB_DIFF = 0.005;

    static IntegerModel denseModel(int bits) {
        return new RandomIntegerModels(SEED, bits, 20)
                .dense(32, HiddenActivation.RELU)
                .dense(16, HiddenActivation.IDENTITY)
                .denseOutput(10, OutputActivation.SOFTMAX);
    }

    static IntegerModel convModel(int bits) {
        return new RandomIntegerModels(SEED + 1, bits, 2, 8, 8)
                .conv(4, 3, 1, 1, 1, HiddenActivation.RELU)
                .maxPool(2, 2, 0, 0)
                .conv(6, 3, 2, 0, 1, HiddenActivation.IDENTITY)
                .maxPool(2, 1, 0, 1)
                .dense(12, HiddenActivation.RELU)
                .denseOutput(5, OutputActivation.SOFTMAX);
    }

    @ParameterizedTest
    @ValueSource(ints = {8, 4})
    void denseModelsAgreeWithTheQdqReference(int bits) {
        assertAgreement(denseModel(bits), bits);
    }

    @ParameterizedTest
    @ValueSource(ints = {8, 4})
    void convPoolModelsAgreeWithTheQdqReference(int bits) {
        assertAgreement(convModel(bits), bits);
    }

    @Test
    void aConvLastLayerAndSigmoidAgreeWithTheQdqReference() {
        IntegerModel m = new RandomIntegerModels(SEED + 2, 8, 1, 6, 6)
                .conv(3, 3, 1, 0, 0, HiddenActivation.RELU)
                .convOutput(2, 3, OutputActivation.SIGMOID);
        assertEquals(8, m.outputs());
        float[] x = RandomIntegerModels.features(Seeds.stream(SEED, 3), ROWS, m.inputs());
        double[][] a = IntegerInference.outputs(m, x, ROWS);
        double[][] b = QdqReference.outputs(m, x, ROWS);
        assertTrue(meanAbsDiff(a, b) <= MAX_MEAN_ABS_PROB_DIFF, () -> "mean |diff| " + meanAbsDiff(a, b));
    }

    private static void assertAgreement(IntegerModel m, int bits) {
        float[] x = RandomIntegerModels.features(Seeds.stream(SEED, bits, m.inputs()), ROWS, m.inputs());
        double[][] integer = IntegerInference.outputs(m, x, ROWS);
        double[][] reference = QdqReference.outputs(m, x, ROWS);
        int agree = 0;
        for (int r = 0; r < ROWS; r++) {
            assertEquals(1.0, Arrays.stream(integer[r]).sum(), 1e-12, "softmax row sums to 1");
            if (argmax(integer[r]) == argmax(reference[r])) {
                agree++;
            }
        }
        double agreement = agree / (double) ROWS;
        double diff = meanAbsDiff(integer, reference);
        assertTrue(agreement >= MIN_ARGMAX_AGREEMENT, () -> "argmax agreement " + agreement);
        assertTrue(diff <= MAX_MEAN_ABS_PROB_DIFF, () -> "mean |prob diff| " + diff);
        assertTrue(spread(reference) > 0.05, "the model's outputs depend on the input (not a degenerate test)");
    }

    @Test
    void logitsAreTheOutputsBeforeTheOutputActivation() {
        IntegerModel m = denseModel(8);
        float[] x = RandomIntegerModels.features(Seeds.stream(SEED, 4), 50, m.inputs());
        double[][] logits = IntegerInference.logits(m, x, 50);
        double[][] outputs = IntegerInference.outputs(m, x, 50);
        for (int r = 0; r < 50; r++) {
            double[] p = logits[r].clone();
            PreparedIntegerModel.applyOutputActivation(OutputActivation.SOFTMAX, p);
            assertArrayEquals(p, outputs[r], 0.0);
        }
        double[][] reference = QdqReference.logits(m, x, 50);
        assertTrue(meanAbsDiff(logits, reference) < 0.05, "logits agree with the reference");
    }

    @Test
    void batchesGiveTheSameRowsAsSingleRows() {
        IntegerModel m = convModel(8);
        PreparedIntegerModel p = IntegerInference.prepare(m);
        float[] x = RandomIntegerModels.features(Seeds.stream(SEED, 5), 7, m.inputs());
        double[][] batch = p.logits(x, 7);
        for (int r = 0; r < 7; r++) {
            float[] row = Arrays.copyOfRange(x, r * m.inputs(), (r + 1) * m.inputs());
            assertArrayEquals(batch[r], p.logits(row, 1)[0], 0.0);
        }
        assertEquals(0, p.logits(new float[0], 0).length);
    }

    /** Single hidden layers: every uint8 code within one step of the QDQ reference, nearly all equal. */
    @ParameterizedTest
    @ValueSource(ints = {8, 4})
    void hiddenCodesDifferFromTheReferenceByAtMostOneStep(int bits) {
        IntegerModel dense = new RandomIntegerModels(SEED + 3, bits, 24).dense(40, HiddenActivation.RELU)
                .dense(30, HiddenActivation.IDENTITY).denseOutput(3, OutputActivation.SOFTMAX);
        IntegerModel conv = convModel(bits);
        for (IntegerModel m : List.of(dense, conv)) {
            int rows = 500;
            float[] x = RandomIntegerModels.features(Seeds.stream(SEED, 6, bits), rows, m.inputs());
            PreparedIntegerModel p = IntegerInference.prepare(m);
            for (int l = 0; l < m.layers().size() - 1; l++) {
                IntLayer layer = m.layers().get(l);
                ActivationQuant in = inputQuant(m, l);
                int[] before = p.hiddenCodes(x, rows, l);
                int[] after = p.hiddenCodes(x, rows, l + 1);
                int n = layer.outputSize();
                int equal = 0;
                for (int r = 0; r < rows; r++) {
                    int[] expected = QdqReference.hiddenLayer(layer, in,
                            Arrays.copyOfRange(before, r * layer.inputSize(), (r + 1) * layer.inputSize()));
                    for (int j = 0; j < n; j++) {
                        int d = Math.abs(after[r * n + j] - expected[j]);
                        int row = r;
                        int col = j;
                        int layerIndex = l;
                        assertTrue(d <= 1, () -> "layer " + layerIndex + " row " + row + " value " + col + " differs by "
                                + d + " steps");
                        equal += d == 0 ? 1 : 0;
                    }
                    if (layer instanceof IntMaxPool2d) {
                        assertArrayEquals(expected, Arrays.copyOfRange(after, r * n, (r + 1) * n), "max pool is exact");
                    }
                }
                double share = equal / (double) (rows * n);
                assertTrue(share >= 0.995, "layer " + l + ": only " + share + " of codes equal the reference");
            }
        }
    }

    private static ActivationQuant inputQuant(IntegerModel m, int layer) {
        ActivationQuant q = m.input();
        for (int l = 0; l < layer; l++) {
            IntLayer x = m.layers().get(l);
            if (x instanceof IntDense d) {
                q = d.output();
            } else if (x instanceof IntConv2d c) {
                q = c.output();
            }
        }
        return q;
    }

    /** A hand-computed conv: padding is real 0, NCHW layout, per-channel scales, ReLU clamps at the zero point. */
    @Test
    void aHandComputedConvPadsWithRealZero() {
        ActivationQuant in = new ActivationQuant(0.5f, 10);
        ActivationQuant out = new ActivationQuant(0.25f, 100);
        // 1 input channel 2×2, 2 output channels, 3×3 kernel of ones (channel 0) and minus ones (channel 1), pad 1.
        byte[] w = new byte[18];
        Arrays.fill(w, 0, 9, (byte) 1);
        Arrays.fill(w, 9, 18, (byte) -1);
        IntConv2d conv = new IntConv2d(1, 2, 2, 2, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1, 8, w, new float[] {1f, 0.5f},
                new int[] {2, 0}, in, out, HiddenActivation.RELU);
        IntDense last = new IntDense(8, 1, 8, new byte[] {1, 0, 0, 0, 0, 0, 0, 2}, new float[] {0.125f}, new int[] {3},
                out, null, null);
        IntegerModel m = new IntegerModel(4, in, List.of(conv, last), OutputActivation.IDENTITY, 1);
        // Codes 11, 12, 13, 14 are reals 0.5, 1, 1.5, 2; every 3×3 window with pad 1 covers all four: sum 5.
        float[] x = {0.5f, 1f, 1.5f, 2f};
        int[] codes = IntegerInference.prepare(m).hiddenCodes(x, 1, 1);
        // Channel 0: (5 + bias 2 · 0.5 · 1) / 0.25 = 24 steps → 124; channel 1: −5 · 0.5 → ReLU → 100.
        assertArrayEquals(new int[] {124, 124, 124, 124, 100, 100, 100, 100}, codes);
        // Last layer: acc = 3 + (124 − 100) · 1 + (100 − 100) · 2 = 27, times 0.25 · 0.125.
        assertEquals(27 * 0.25 * 0.125, IntegerInference.logits(m, x, 1)[0][0], 1e-15);
        assertEquals(27 * 0.25 * 0.125, QdqReference.logits(m, x, 1)[0][0], 1e-12);
    }

    @Test
    void fixedPointMultipliersMatchTheirExactRoundingDefinition() {
        SplittableRandom random = Seeds.stream(SEED, 7);
        int nearest = 0;
        int small = 0;
        int trials = 200_000;
        for (int t = 0; t < trials; t++) {
            double real = Math.scalb(1 + random.nextDouble(), random.nextInt(-36, 6));
            FixedPointMultiplier m = FixedPointMultiplier.of(real);
            int acc = switch (t % 3) {
                case 0 -> random.nextInt();
                case 1 -> random.nextInt(-1 << 20, 1 << 20);
                default -> random.nextInt(-5000, 5000);
            };
            int got = m.apply(acc);
            assertEquals(reference(acc, m), got, () -> "acc " + acc + " · " + real);
            BigDecimal exact = new BigDecimal(acc).multiply(new BigDecimal(real));
            long clampedExact = exact.setScale(0, RoundingMode.HALF_EVEN).max(BigDecimal.valueOf(Integer.MIN_VALUE))
                    .min(BigDecimal.valueOf(Integer.MAX_VALUE)).longValueExact();
            long diff = Math.abs(got - clampedExact);
            assertTrue(diff <= 1, () -> "acc " + acc + " · " + real + " = " + exact + ", fixed point gave " + got);
            if (exact.abs().compareTo(BigDecimal.valueOf(1 << 16)) <= 0) {
                small++;
                nearest += diff == 0 ? 1 : 0;
            }
            if (real >= 0x1.0p-32) {
                assertEquals(real, m.real(), real * 0x1.0p-31, "mantissa has 31 bits");
            } else {
                assertEquals(FixedPointMultiplier.ZERO, m, "below 2^-32 the multiplier is zero");
            }
        }
        // Where requantization results matter (|acc · M| up to 2^16) the 2^−31 mantissa error is below 2^−15 steps.
        assertTrue(small > trials / 3 && nearest >= small * 0.9999, "rounds to nearest except near ties: " + nearest
                + " of " + small);
    }

    /** The class doc's definition in BigInteger: {@code clamp(floor(acc · m · 2^shift / 2^31 + 1/2))}. */
    private static int reference(int acc, FixedPointMultiplier m) {
        BigInteger p = BigInteger.valueOf(acc).multiply(BigInteger.valueOf(m.multiplier()));
        int n = 31 - m.shift();
        BigInteger v = n > 0 ? p.add(BigInteger.ONE.shiftLeft(n - 1)).shiftRight(n) : p.shiftLeft(-n);
        return v.max(BigInteger.valueOf(Integer.MIN_VALUE)).min(BigInteger.valueOf(Integer.MAX_VALUE)).intValueExact();
    }

    @Test
    void fixedPointEdgeCases() {
        assertEquals(FixedPointMultiplier.ZERO, FixedPointMultiplier.of(0));
        assertEquals(0, FixedPointMultiplier.of(0).apply(Integer.MAX_VALUE));
        assertEquals(FixedPointMultiplier.ZERO, FixedPointMultiplier.of(0x1.0p-40), "below 2^-32 every product < 1/2");
        assertEquals(FixedPointMultiplier.ZERO, FixedPointMultiplier.of(Double.MIN_VALUE));
        FixedPointMultiplier tiny = FixedPointMultiplier.of(0x1.0p-31);
        assertEquals(1, tiny.apply(Integer.MAX_VALUE), "(2^31 − 1) / 2^31 rounds to 1");
        assertEquals(-1, tiny.apply(Integer.MIN_VALUE));
        FixedPointMultiplier one = FixedPointMultiplier.of(1);
        for (int acc : new int[] {0, 1, -1, 255, -255, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
            assertEquals(acc, one.apply(acc), "M = 1 is the identity");
        }
        FixedPointMultiplier half = FixedPointMultiplier.of(0.5);
        assertEquals(2, half.apply(3), "1.5 → 2");
        assertEquals(-1, half.apply(-3), "−1.5 → −1, ties toward +∞");
        assertEquals(-2, half.apply(-5), "−2.5 → −2");
        FixedPointMultiplier almostOne = FixedPointMultiplier.of(1 - 0x1.0p-40);
        assertEquals(new FixedPointMultiplier(1 << 30, 1), almostOne, "a mantissa rounding to 2^31 carries");
        FixedPointMultiplier three = FixedPointMultiplier.of(3);
        assertEquals(300, three.apply(100));
        assertEquals(Integer.MAX_VALUE, three.apply(1 << 30), "M >= 1 saturates instead of wrapping");
        assertEquals(Integer.MIN_VALUE, FixedPointMultiplier.of(0x1.0p40).apply(-1), "huge M saturates");
        assertEquals(32, FixedPointMultiplier.of(0x1.0p100).shift());
        assertThrows(IllegalArgumentException.class, () -> FixedPointMultiplier.of(-1));
        assertThrows(IllegalArgumentException.class, () -> FixedPointMultiplier.of(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> FixedPointMultiplier.of(Double.POSITIVE_INFINITY));
        assertThrows(IllegalArgumentException.class, () -> new FixedPointMultiplier(5, 0));
    }

    @Test
    void invalidModelsAreRejectedNamingTheLayer() {
        IntegerModel m = denseModel(4);
        IntDense d0 = (IntDense) m.layers().get(0);
        IntDense d1 = (IntDense) m.layers().get(1);
        IntDense d2 = (IntDense) m.layers().get(2);
        assertRejected(replace(m, 1, new IntDense(33, d1.nOut(), 4, new byte[33 * d1.nOut()], d1.weightScales(),
                d1.bias(), d1.input(), d1.output(), d1.activation())), "layer 1 (IntDense): inputSize 33; expected 32");
        byte[] big = d0.weights().clone();
        big[5] = 8;
        assertRejected(replace(m, 0, new IntDense(d0.nIn(), d0.nOut(), 4, big, d0.weightScales(), d0.bias(),
                d0.input(), d0.output(), d0.activation())), "layer 0 (IntDense): weight 8 at index 5; expected within ±7");
        assertRejected(replace(m, 0, new IntDense(d0.nIn(), d0.nOut(), 9, d0.weights(), d0.weightScales(), d0.bias(),
                d0.input(), d0.output(), d0.activation())), "layer 0 (IntDense): bits 9; expected 2..8");
        assertRejected(replace(m, 2, new IntDense(d2.nIn(), d2.nOut(), 4, d2.weights(), new float[3], d2.bias(),
                d2.input(), null, null)), "layer 2 (IntDense): 3 weight scales; expected 10");
        assertRejected(replace(m, 1, new IntDense(d1.nIn(), d1.nOut(), 4, d1.weights(), d1.weightScales(), d1.bias(),
                d1.input(), null, d1.activation())), "layer 1 (IntDense): has no output quantization");
        assertRejected(replace(m, 1, new IntDense(d1.nIn(), d1.nOut(), 4, d1.weights(), d1.weightScales(), d1.bias(),
                new ActivationQuant(1f, 0), d1.output(), d1.activation())), "layer 1 (IntDense): input quantization");
        assertRejected(new IntegerModel(m.inputs(), m.input(), m.layers(), m.outputActivation(), 11),
                "model: outputs 11; expected 10");
        assertRejected(new IntegerModel(m.inputs(), m.input(), List.of(d0, d1, new IntMaxPool2d(1, 4, 4, 2, 2, 2, 2, 2,
                2, 0, 0, 0, 0)), m.outputActivation(), 4), "layer 2 (IntMaxPool2d): is the last layer");
        assertRejected(new IntegerModel(16, m.input(), List.of(new IntMaxPool2d(1, 4, 4, 3, 3, 2, 2, 2, 2, 0, 0, 0, 0),
                d0), m.outputActivation(), 10), "layer 0 (IntMaxPool2d): output 3×3; expected 2×2");
        IntegerModel ok = denseModel(8);
        assertRejected(ok, null);
        Executable badFeatures = () -> IntegerInference.outputs(ok, new float[19], 1);
        assertMessage(badFeatures, "features: 19 values for 1 rows; expected rows >= 0 and rows · 20");
        float[] nan = new float[40];
        nan[25] = Float.NaN;
        assertMessage(() -> IntegerInference.outputs(ok, nan, 2), "features: NaN at row 1, column 5");
    }

    private static IntegerModel replace(IntegerModel m, int index, IntLayer layer) {
        List<IntLayer> layers = new ArrayList<>(m.layers());
        layers.set(index, layer);
        return new IntegerModel(m.inputs(), m.input(), layers, m.outputActivation(), m.outputs());
    }

    private static void assertRejected(IntegerModel m, String message) {
        if (message == null) {
            IntegerInference.prepare(m);
            return;
        }
        assertMessage(() -> IntegerInference.prepare(m), message);
        assertMessage(() -> QdqReference.outputs(m, new float[m.inputs()], 1), message);
    }

    static int argmax(double[] row) {
        int best = 0;
        for (int j = 1; j < row.length; j++) {
            if (row[j] > row[best]) {
                best = j;
            }
        }
        return best;
    }

    private static double meanAbsDiff(double[][] a, double[][] b) {
        double sum = 0;
        long n = 0;
        for (int r = 0; r < a.length; r++) {
            for (int j = 0; j < a[r].length; j++) {
                sum += Math.abs(a[r][j] - b[r][j]);
                n++;
            }
        }
        return sum / n;
    }

    private static double spread(double[][] p) {
        double max = 0;
        for (double[] row : p) {
            max = Math.max(max, Math.abs(row[0] - p[0][0]));
        }
        return max;
    }

    private static void assertMessage(Executable call, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), () -> "message '" + e.getMessage() + "' lacks '" + expected + "'");
    }
}
