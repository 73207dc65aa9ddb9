package io.candor.config;

import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.param.StringArrayParam;
import scala.runtime.AbstractFunction1;

import java.io.Serializable;
import java.util.List;
import java.util.function.Function;

/**
 * Spark ML Params that mirror a conf key: the doc is the {@link Knob}'s, the validator is its rule. The owner sets the
 * default from {@link Knob#defaultValue()}, so a Transformer and {@code conf/application.conf} cannot disagree
 * ({@code KnobsTest} checks both, finding the knob of each such Param through {@link KnobCheck}).
 */
public final class KnobParams {
    private KnobParams() {
    }

    public static IntParam intParam(Params owner, String name, Knob<Integer> knob) {
        return new IntParam(owner, name, knob.doc(), new KnobCheck<>(knob, v -> (Integer) v));
    }

    public static LongParam longParam(Params owner, String name, Knob<Long> knob) {
        return new LongParam(owner, name, knob.doc(), new KnobCheck<>(knob, v -> (Long) v));
    }

    public static DoubleParam doubleParam(Params owner, String name, Knob<Double> knob) {
        return new DoubleParam(owner, name, knob.doc(), new KnobCheck<>(knob, v -> (Double) v));
    }

    public static Param<String> stringParam(Params owner, String name, Knob<String> knob) {
        return new Param<>(owner, name, knob.doc(), new KnobCheck<String, String>(knob, v -> v));
    }

    public static StringArrayParam stringArrayParam(Params owner, String name, Knob<List<String>> knob) {
        return new StringArrayParam(owner, name, knob.doc(), new KnobCheck<String[], List<String>>(knob, List::of));
    }

    /** A Param's validator: the rule of the knob it mirrors, applied to the Param's value as the knob's type. */
    public static final class KnobCheck<P, T> extends AbstractFunction1<P, Object> implements Serializable {
        private static final long serialVersionUID = 1L;
        private final Knob<T> knob;
        private final SerializableFunction<P, T> asKnobValue;

        KnobCheck(Knob<T> knob, SerializableFunction<P, T> asKnobValue) {
            this.knob = knob;
            this.asKnobValue = asKnobValue;
        }

        /** The knob this Param mirrors. */
        public Knob<T> knob() {
            return knob;
        }

        @Override
        public Object apply(P value) {
            return value != null && knob.problem(asKnobValue.apply(value)) == null;
        }
    }

    interface SerializableFunction<A, B> extends Function<A, B>, Serializable {
    }
}
