package io.candor.util;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ExactSumTest {
    /** Doubles over the whole range, both signs, subnormals and exact cancellations included. */
    private static List<Double> awkwardValues(long seed, int n) {
        Random random = new Random(seed);
        List<Double> values = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double v = switch (i % 5) {
                case 0 -> random.nextGaussian();
                case 1 -> Math.scalb(random.nextDouble(), random.nextInt(2000) - 1000);
                case 2 -> Double.longBitsToDouble(random.nextLong() & 0x000FFFFFFFFFFFFFL); // subnormal
                case 3 -> Math.scalb(1.0 + random.nextDouble(), 900 + random.nextInt(100));
                default -> -values.get(values.size() - 1); // cancels the previous one exactly
            };
            values.add(random.nextBoolean() ? v : -v);
        }
        return values;
    }

    @Test
    void sumIsTheCorrectlyRoundedExactSum() {
        for (long seed = 0; seed < 20; seed++) {
            List<Double> values = awkwardValues(seed, 500);
            ExactSum sum = new ExactSum();
            BigDecimal reference = BigDecimal.ZERO;
            for (double v : values) {
                sum.add(v);
                reference = reference.add(new BigDecimal(v));
            }
            assertEquals(0, reference.compareTo(sum.bigDecimalValue()), "seed " + seed);
            // Double.parseDouble, behind BigDecimal.doubleValue, rounds correctly.
            assertEquals(Double.parseDouble(reference.toString()), sum.doubleValue(), 0.0, "seed " + seed);
        }
    }

    @Test
    void orderAndMergingDoNotChangeTheBits() {
        List<Double> values = new ArrayList<>();
        Random random = new Random(7);
        for (int i = 0; i < 10_000; i++) {
            values.add(-Math.log(random.nextDouble()) * (random.nextBoolean() ? 1e-3 : 1e3));
        }
        double inOrder = sum(values).doubleValue();
        Collections.shuffle(values, new Random(1));
        ExactSum left = sum(values.subList(0, 3_333));
        ExactSum right = sum(values.subList(3_333, values.size()));
        assertEquals(inOrder, left.merge(right).doubleValue(), 0.0);
        Collections.reverse(values);
        assertEquals(inOrder, sum(values).doubleValue(), 0.0);
    }

    @Test
    void cancellationLosesNothing() {
        assertEquals(1.0, new ExactSum().add(1e300).add(1.0).add(-1e300).doubleValue(), 0.0);
        assertEquals(Double.MIN_VALUE, new ExactSum().add(Double.MAX_VALUE).add(Double.MIN_VALUE)
                .add(-Double.MAX_VALUE).doubleValue(), 0.0);
        assertEquals(-0.5, new ExactSum().add(0.1).add(-0.6).add(0.0).doubleValue(), 1e-17);
        assertEquals(0.0, new ExactSum().doubleValue(), 0.0);
    }

    @Test
    void productsAreAddedExactly() {
        double a = 1.0 + Math.ulp(1.0);
        // a * a = 1 + 2 ulp + ulp^2; the rounded product drops ulp^2, the exact sum keeps it.
        ExactSum sum = new ExactSum().addProduct(a, a).add(-1.0).add(-2 * Math.ulp(1.0));
        assertEquals(Math.ulp(1.0) * Math.ulp(1.0), sum.doubleValue(), 0.0);
    }

    @Test
    void rejectsNonFiniteValues() {
        assertThrows(IllegalArgumentException.class, () -> new ExactSum().add(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> new ExactSum().add(Double.POSITIVE_INFINITY));
    }

    private static ExactSum sum(List<Double> values) {
        ExactSum s = new ExactSum();
        values.forEach(s::add);
        return s;
    }
}
