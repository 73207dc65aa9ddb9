package io.candor.util;

import java.io.Serializable;
import java.math.BigDecimal;
import java.math.BigInteger;

/**
 * The exact sum of finite doubles, mergeable across Spark partitions: every addend is added without rounding into a
 * fixed-point accumulator that spans the whole double range (a Kulisch accumulator), so the result does not depend on
 * the order of the additions or on how the rows were partitioned, and {@link #doubleValue()} is the exact sum
 * correctly rounded once. That is what lets a metric summed on executors equal, bit for bit, the same metric summed
 * on one machine.
 *
 * <p>Each double is {@code m * 2^e} with a 53-bit integer {@code m} and {@code e >= -1074}; {@code m} is split into
 * 32-bit chunks added to signed 64-bit digits of weight {@code 2^(32 i - 1074)}. Digits absorb 2^30 additions before
 * their carries must be propagated, which {@link #add} does on its own. Not thread-safe.
 */
public final class ExactSum implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final int MIN_EXPONENT = -1074; // the weight of the smallest subnormal
    private static final int DIGIT_BITS = 32;
    /** Enough digits for 2^1024 times 2^64 additions, plus the chunks of the top addend. */
    private static final int DIGITS = (2100 + 64) / DIGIT_BITS + 3;
    private static final long MASK = (1L << DIGIT_BITS) - 1;
    private static final int ADDS_BEFORE_CARRY = 1 << 30;
    private static final BigDecimal UNIT = new BigDecimal(BigInteger.valueOf(5).pow(-MIN_EXPONENT), -MIN_EXPONENT);

    private final long[] digits = new long[DIGITS];
    private int pendingAdds;

    /** Adds {@code value} exactly. */
    public ExactSum add(double value) {
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException("ExactSum adds finite values only, got " + value);
        }
        if (value == 0) {
            return this;
        }
        long bits = Double.doubleToRawLongBits(value);
        int biased = (int) ((bits >>> 52) & 0x7FF);
        long mantissa = bits & ((1L << 52) - 1);
        int shift; // position of the mantissa's lowest bit above 2^MIN_EXPONENT
        if (biased == 0) {
            shift = 0; // subnormal: m * 2^-1074
        } else {
            mantissa |= 1L << 52;
            shift = biased - 1;
        }
        if (bits < 0) {
            mantissa = -mantissa;
        }
        int digit = shift / DIGIT_BITS;
        int offset = shift % DIGIT_BITS;
        // m << offset spans at most 85 bits: as a 128-bit number high * 2^64 + unsigned(low), cut into two unsigned
        // 32-bit chunks and a signed top chunk, each added to its digit.
        long low = mantissa << offset;
        long high = offset == 0 ? mantissa >> 63 : mantissa >> (64 - offset);
        digits[digit] += low & MASK;
        digits[digit + 1] += low >>> DIGIT_BITS;
        digits[digit + 2] += high;
        if (++pendingAdds >= ADDS_BEFORE_CARRY) {
            carry();
        }
        return this;
    }

    /** Adds the exact product {@code a * b} (its rounded value and, by FMA, the rounding error). */
    public ExactSum addProduct(double a, double b) {
        double product = a * b;
        add(product);
        return add(Math.fma(a, b, -product));
    }

    /** Adds every addend of {@code other}; {@code other} is unchanged. */
    public ExactSum merge(ExactSum other) {
        carry();
        other.carry();
        for (int i = 0; i < DIGITS; i++) {
            digits[i] += other.digits[i];
        }
        pendingAdds = 1;
        return this;
    }

    /** The exact sum. */
    public BigDecimal bigDecimalValue() {
        return new BigDecimal(integerValue()).multiply(UNIT);
    }

    /** The exact sum, rounded once to the nearest double (ties to even). */
    public double doubleValue() {
        BigInteger n = integerValue();
        BigInteger magnitude = n.abs();
        int length = magnitude.bitLength();
        double rounded;
        if (length <= 53) {
            rounded = Math.scalb((double) magnitude.longValueExact(), MIN_EXPONENT); // exact, subnormal or not
        } else {
            // At least 2^-1021, so the value is normal and rounding to 53 bits is rounding to a double.
            int drop = length - 53;
            long kept = magnitude.shiftRight(drop).longValueExact();
            boolean half = magnitude.testBit(drop - 1);
            boolean sticky = magnitude.getLowestSetBit() < drop - 1;
            if (half && (sticky || (kept & 1) == 1)) {
                kept++;
            }
            rounded = Math.scalb((double) kept, drop + MIN_EXPONENT);
        }
        return n.signum() < 0 ? -rounded : rounded;
    }

    private BigInteger integerValue() {
        carry();
        BigInteger n = BigInteger.ZERO;
        for (int i = DIGITS - 1; i >= 0; i--) {
            n = n.shiftLeft(DIGIT_BITS).add(BigInteger.valueOf(digits[i]));
        }
        return n;
    }

    /** Propagates carries so every digit but the top one lies in [0, 2^32). */
    private void carry() {
        for (int i = 0; i < DIGITS - 1; i++) {
            long c = digits[i] >> DIGIT_BITS;
            digits[i] -= c << DIGIT_BITS;
            digits[i + 1] += c;
        }
        pendingAdds = 0;
    }
}
