package io.candor.explain;

import io.candor.config.KnobParams;
import io.candor.config.Knobs;
import io.candor.util.InputException;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.runtime.AbstractFunction1;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;

/**
 * The Params that {@link KernelShap} and {@link KernelShapModel} share (Spark's {@code StandardScalerParams}
 * pattern): each is declared once here, with its default, doc and validator; the knobs that mirror a conf key take
 * the key's doc, rule and default from {@link Knobs}. Also the schema check both stages run before any work.
 *
 * <p>Output columns: {@code outputCol} is {@code array<array<double>>}, one inner array per explained output (in
 * the order of {@code outputs}, or every output of the network in index order when {@code outputs} is empty) holding
 * one Shapley value per entry of the features vector; {@code baseValueCol} and {@code predictionCol} are
 * {@code array<double>}, one value per explained output, so that {@code Σ_j values[k][j] + base[k] = prediction[k]}.
 */
public interface KernelShapParams extends Params {

    /** This stage's Param objects; each owner makes one {@link Declared} in its constructor. */
    Declared declared();

    default Param<String> featuresCol() { return declared().featuresCol; }
    default Param<String> idCol() { return declared().idCol; }
    default Param<String> outputCol() { return declared().outputCol; }
    default Param<String> baseValueCol() { return declared().baseValueCol; }
    default Param<String> predictionCol() { return declared().predictionCol; }
    default LongParam seed() { return declared().seed; }
    default IntParam maxCoalitions() { return declared().maxCoalitions; }
    default IntParam backgroundSize() { return declared().backgroundSize; }
    default LongParam batchValues() { return declared().batchValues; }
    default IntArrayParam outputs() { return declared().outputs; }

    default String getFeaturesCol() { return getOrDefault(featuresCol()); }
    default String getIdCol() { return getOrDefault(idCol()); }
    default String getOutputCol() { return getOrDefault(outputCol()); }
    default String getBaseValueCol() { return getOrDefault(baseValueCol()); }
    default String getPredictionCol() { return getOrDefault(predictionCol()); }
    default long getSeed() { return (Long) getOrDefault(seed()); }
    default int getMaxCoalitions() { return (Integer) getOrDefault(maxCoalitions()); }
    default int getBackgroundSize() { return (Integer) getOrDefault(backgroundSize()); }
    default long getBatchValues() { return (Long) getOrDefault(batchValues()); }
    default int[] getOutputs() { return getOrDefault(outputs()).clone(); }

    /**
     * Checks that the input has the features and id columns with the right types and none of the output columns,
     * and returns the input schema with the three output columns appended.
     *
     * @throws InputException naming the Param, the column and what was expected
     */
    default StructType validateAndTransformSchema(StructType schema) {
        String stage = getClass().getSimpleName();
        ExplainerParams.requireVector(schema, stage, getFeaturesCol());
        ExplainerParams.requireIds(schema, stage, getIdCol());
        StructType out = schema;
        for (String name : List.of(getOutputCol(), getBaseValueCol(), getPredictionCol())) {
            if (Arrays.asList(schema.fieldNames()).contains(name)) {
                throw new InputException(stage + ": output column \"" + name + "\" already exists in the input; "
                        + "expected a new column name (set outputCol, baseValueCol or predictionCol)");
            }
        }
        out = out.add(getOutputCol(), DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.DoubleType, false),
                false), false);
        out = out.add(getBaseValueCol(), DataTypes.createArrayType(DataTypes.DoubleType, false), false);
        return out.add(getPredictionCol(), DataTypes.createArrayType(DataTypes.DoubleType, false), false);
    }

    /** The Param objects of one owner, with their defaults set on it. */
    final class Declared implements Serializable {
        private static final long serialVersionUID = 1L;

        final Param<String> featuresCol;
        final Param<String> idCol;
        final Param<String> outputCol;
        final Param<String> baseValueCol;
        final Param<String> predictionCol;
        final LongParam seed;
        final IntParam maxCoalitions;
        final IntParam backgroundSize;
        final LongParam batchValues;
        final IntArrayParam outputs;

        Declared(Params owner) {
            featuresCol = ExplainerParams.featuresCol(owner);
            idCol = ExplainerParams.idCol(owner);
            outputCol = new Param<>(owner, "outputCol", "output column: array<array<double>>, per explained output "
                    + "one Shapley value per feature", new Check<String>(s -> !s.isEmpty()));
            baseValueCol = new Param<>(owner, "baseValueCol", "output column: array<double>, per explained output "
                    + "the base value E_bg[f]", new Check<String>(s -> !s.isEmpty()));
            predictionCol = new Param<>(owner, "predictionCol", "output column: array<double>, per explained output "
                    + "the network's prediction f(x) = base + sum of the values", new Check<String>(s -> !s.isEmpty()));
            seed = ExplainerParams.seed(owner);
            maxCoalitions = KnobParams.intParam(owner, "maxCoalitions", Knobs.SHAPLEY_MAX_COALITIONS);
            backgroundSize = KnobParams.intParam(owner, "backgroundSize", Knobs.SHAPLEY_BACKGROUND_SIZE);
            batchValues = KnobParams.longParam(owner, "batchValues", Knobs.SHAPLEY_BATCH_VALUES);
            outputs = new IntArrayParam(owner, "outputs", Knobs.SHAPLEY_OUTPUTS.doc(), new Check<int[]>(v ->
                    Knobs.SHAPLEY_OUTPUTS.problem(Arrays.stream(v).boxed().toList()) == null));
            owner.setDefault(outputCol, "shap_values");
            owner.setDefault(baseValueCol, "shap_base");
            owner.setDefault(predictionCol, "shap_prediction");
            owner.setDefault(maxCoalitions, Knobs.SHAPLEY_MAX_COALITIONS.defaultValue());
            owner.setDefault(backgroundSize, Knobs.SHAPLEY_BACKGROUND_SIZE.defaultValue());
            owner.setDefault(batchValues, Knobs.SHAPLEY_BATCH_VALUES.defaultValue());
            owner.setDefault(outputs, Knobs.SHAPLEY_OUTPUTS.defaultValue().stream().mapToInt(Integer::intValue)
                    .toArray());
        }
    }

    /** A Param validator from a predicate; null values are invalid. */
    final class Check<T> extends AbstractFunction1<T, Object> implements Serializable {
        private static final long serialVersionUID = 1L;
        private final SerializablePredicate<T> ok;

        Check(SerializablePredicate<T> ok) {
            this.ok = ok;
        }

        @Override
        public Object apply(T value) {
            return value != null && ok.test(value);
        }
    }

    /** A predicate that travels with its Param. */
    interface SerializablePredicate<T> extends Predicate<T>, Serializable {
    }
}
