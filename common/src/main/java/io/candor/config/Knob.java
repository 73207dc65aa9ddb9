package io.candor.config;

import com.typesafe.config.ConfigValueType;

import java.io.Serializable;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One conf key, declared once: its dotted {@code key}, value {@link Type}, default, the {@link Rule} a value must
 * pass and a one-line {@code doc}. {@link Knobs} holds every declaration; {@code conf/application.conf}, the conf
 * checks of {@link ConfLoader}, the Spark ML Params that mirror a key ({@link KnobParams}) and the README's
 * configuration table all follow from it, and {@code KnobsTest} fails when one of them drifts.
 *
 * @param <T> the Java value of the key: {@code String}, {@code Boolean}, {@code Integer}, {@code Long},
 *     {@code Double}, {@code List<String>}, {@code List<Integer>}, or for a {@link Type#SECTION} a map of names to
 *     column lists
 */
public record Knob<T>(String key, Type type, T defaultValue, Rule<T> rule, String doc) implements Serializable {
    public Knob {
        if (key == null || key.isBlank() || type == null || defaultValue == null || rule == null) {
            throw new IllegalArgumentException("knob " + key + ": key, type, default and rule are required");
        }
        if (doc == null || doc.isBlank() || doc.contains("\n")) {
            throw new IllegalArgumentException("knob " + key + ": doc must be one non-empty line");
        }
    }

    /** What is wrong with {@code value} and what was expected ("-5 is below 1"), or null when it is acceptable. */
    public String problem(T value) {
        return rule.check().problem(value);
    }

    /** The value types of conf keys, with their HOCON counterparts. */
    public enum Type {
        STRING("string", ConfigValueType.STRING, null),
        BOOLEAN("boolean", ConfigValueType.BOOLEAN, null),
        INT("int", ConfigValueType.NUMBER, null),
        LONG("long", ConfigValueType.NUMBER, null),
        DOUBLE("double", ConfigValueType.NUMBER, null),
        STRING_LIST("list of strings", ConfigValueType.LIST, ConfigValueType.STRING),
        INT_LIST("list of ints", ConfigValueType.LIST, ConfigValueType.NUMBER),
        /** A section whose keys the user names, each a list of column names. */
        SECTION("section of column lists", ConfigValueType.OBJECT, ConfigValueType.LIST);

        private final String label;
        private final ConfigValueType hocon;
        private final ConfigValueType element;

        Type(String label, ConfigValueType hocon, ConfigValueType element) {
            this.label = label;
            this.hocon = hocon;
            this.element = element;
        }

        /** The name of the type in docs. */
        public String label() {
            return label;
        }

        /** The HOCON value type a value of this type has. */
        public ConfigValueType hocon() {
            return hocon;
        }

        /** The HOCON type of a list's elements (a section's values); null for a scalar. */
        public ConfigValueType element() {
            return element;
        }
    }

    /** A check of one value, serializable so that Spark ML Params can carry it. */
    @FunctionalInterface
    public interface Check<T> extends Serializable {
        /** What is wrong with {@code value} and what was expected, or null when it is acceptable. */
        String problem(T value);
    }

    /**
     * What a key accepts: {@code accepts} describes it for docs ("&gt;= 1"), {@code check} tests a value. Messages
     * name the value and the expected range; {@link ConfLoader} adds the key and where the value was set.
     */
    public record Rule<T>(String accepts, Check<T> check) implements Serializable {
        /** Any value of the type. */
        public static <T> Rule<T> any(String accepts) {
            return new Rule<>(accepts, v -> null);
        }

        public static Rule<Integer> atLeast(int min) {
            return new Rule<>(">= " + min, v -> v < min ? v + " is below " + min : null);
        }

        public static Rule<Long> atLeast(long min) {
            return new Rule<>(">= " + min, v -> v < min ? v + " is below " + min : null);
        }

        /** {@code lo..hi}; {@code what} names the quantity in the message above the range. */
        public static Rule<Integer> between(int lo, int hi, String what) {
            return new Rule<>(lo + ".." + hi, v -> v < lo ? v + " is below " + lo
                    : v > hi ? v + " is above " + hi + " (expected " + what + " " + lo + ".." + hi + ")" : null);
        }

        /** {@code (lo, hi]}, or {@code [lo, hi]} when {@code loInclusive}; NaN never passes. */
        public static Rule<Double> in(double lo, double hi, boolean loInclusive) {
            String range = (loInclusive ? "[" : "(") + lo + ", " + hi + "]";
            return new Rule<>((loInclusive ? "[" : "(") + plain(lo) + ", " + plain(hi) + "]", v -> {
                boolean aboveLo = loInclusive ? v >= lo : v > lo;
                return !aboveLo || v > hi || Double.isNaN(v) ? v + " is outside " + range : null;
            });
        }

        /** One of {@code choices}, ignoring case and surrounding blanks. */
        public static Rule<String> oneOf(String... choices) {
            List<String> allowed = List.of(choices);
            int last = allowed.size() - 1;
            String listed = last == 0 ? allowed.get(0)
                    : String.join(", ", allowed.subList(0, last)) + " or " + allowed.get(last);
            return new Rule<>(listed, v -> allowed.contains(v.trim().toLowerCase(Locale.ROOT)) ? null
                    : "'" + v.trim() + "' is not one of " + listed);
        }

        /** Not blank; {@code expected} says what the key should hold. */
        public static Rule<String> nonEmpty(String expected) {
            return new Rule<>(expected, v -> v.trim().isEmpty() ? "is empty (expected " + expected + ")"
                    : null);
        }

        /** A date YYYY-MM-DD, or empty. */
        public static Rule<String> dateOrEmpty() {
            return new Rule<>("YYYY-MM-DD or empty", v -> {
                if (v.trim().isEmpty()) {
                    return null;
                }
                try {
                    LocalDate.parse(v.trim());
                    return null;
                } catch (DateTimeParseException e) {
                    return "'" + v.trim() + "' is not a date (expected YYYY-MM-DD)";
                }
            });
        }

        /** Every element at least {@code min}; {@code what} names an element in the message ("a positive integer"). */
        public static Rule<List<Integer>> eachAtLeast(int min, String what) {
            return new Rule<>("elements >= " + min, v -> v.stream().filter(n -> n < min).findFirst()
                    .map(n -> "element " + n + " is not " + what).orElse(null));
        }

        private static String plain(double x) {
            if (x != Math.rint(x) || Math.abs(x) >= 1e15) {
                return String.valueOf(x);
            }
            String digits = String.valueOf((long) x);
            return digits.matches("10{6,}") ? "1e" + (digits.length() - 1) : digits;
        }
    }

    /** The default as HOCON would print it, for docs. */
    public String defaultText() {
        if (defaultValue instanceof String s) {
            return "\"" + s + "\"";
        }
        if (defaultValue instanceof List<?> list) {
            return Arrays.toString(list.stream().map(e -> e instanceof String s ? "\"" + s + "\"" : e.toString())
                    .toArray());
        }
        if (defaultValue instanceof Map<?, ?>) {
            return "{}";
        }
        if (defaultValue instanceof Double d && d != Math.rint(d)) {
            return BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
        }
        return defaultValue.toString();
    }
}
