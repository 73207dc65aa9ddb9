package io.candor.explain;

import io.candor.config.KnobParams;
import io.candor.config.Knobs;
import io.candor.data.FeatureGroup;
import io.candor.util.InputException;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The Params explainer stages share, each declared once here with its name, doc, validator and default
 * ({@code featuresCol}, {@code labelCol}, {@code idCol}, {@code seed}, {@code groups}), and the input checks that go with them, so the same name means
 * the same thing and fails the same way on every stage that takes a features vector.
 */
public final class ExplainerParams {
    private ExplainerParams() {
    }

    public static Param<String> featuresCol(Params owner) {
        Param<String> p = new Param<>(owner, "featuresCol", "vector column of the network's inputs",
                new KernelShapParams.Check<String>(s -> !s.isEmpty()));
        owner.setDefault(p, "features");
        return p;
    }

    public static Param<String> idCol(Params owner) {
        Param<String> p = new Param<>(owner, "idCol", "integer column of unique row ids; every random draw for a row "
                + "comes from (seed, row id), so the results do not depend on partitioning",
                new KernelShapParams.Check<String>(s -> !s.isEmpty()));
        owner.setDefault(p, "row_id");
        return p;
    }

    public static Param<String> labelCol(Params owner) {
        Param<String> p = new Param<>(owner, "labelCol", "numeric column of the labels: class index 0..K-1 for a "
                + "network of K > 1 outputs, the target value for one output",
                new KernelShapParams.Check<String>(s -> !s.isEmpty()));
        owner.setDefault(p, "label");
        return p;
    }

    public static LongParam seed(Params owner) {
        LongParam p = KnobParams.longParam(owner, "seed", Knobs.RUN_SEED);
        owner.setDefault(p, Knobs.RUN_SEED.defaultValue());
        return p;
    }

    /** Feature groups of a features vector, "name=i,j,k"; see {@link #players}. */
    public static StringArrayParam groups(Params owner) {
        StringArrayParam p = new StringArrayParam(owner, "groups", "feature groups as \"name=i,j,k\" (indices into "
                + "featuresCol, disjoint); each group is one player and every other index a player of its own",
                new KernelShapParams.Check<String[]>(v -> Arrays.stream(v).allMatch(g -> g.matches(
                        "[^=]+=\\s*\\d+(\\s*,\\s*\\d+)*\\s*"))));
        owner.setDefault(p, new String[0]);
        return p;
    }

    /**
     * The players of a features vector of {@code inputs} entries: the {@code groups} Param's groups in order, then
     * every index no group names, alone, named {@code featuresCol[j]}.
     */
    public static List<FeatureGroup> players(String stage, String[] groups, int inputs, String featuresCol) {
        boolean[] taken = new boolean[inputs];
        List<FeatureGroup> out = new ArrayList<>();
        for (String group : groups) {
            String name = group.substring(0, group.indexOf('=')).trim();
            List<Integer> indices = Arrays.stream(group.substring(group.indexOf('=') + 1).split(","))
                    .map(s -> Integer.parseInt(s.trim())).toList();
            for (int j : indices) {
                if (j >= inputs || taken[j]) {
                    throw new InputException(stage + ": groups entry \"" + group + "\" has index " + j + (j >= inputs
                            ? ", out of range; expected 0.." + (inputs - 1) + " (the network has " + inputs + " inputs)"
                            : ", already in another group; expected disjoint groups"));
                }
                taken[j] = true;
            }
            out.add(new FeatureGroup(name, indices));
        }
        for (int j = 0; j < inputs; j++) {
            if (!taken[j]) {
                out.add(new FeatureGroup(featuresCol + "[" + j + "]", List.of(j)));
            }
        }
        return out;
    }

    /** The type of {@code column}, or an error naming the Param, the column, the input's columns and what was expected. */
    private static DataType require(StructType schema, String stage, String param, String column, String expected) {
        for (StructField f : schema.fields()) {
            if (f.name().equals(column)) {
                return f.dataType();
            }
        }
        throw new InputException(stage + ": " + param + " \"" + column + "\" is not a column of the input (columns: "
                + String.join(", ", schema.fieldNames()) + "); expected " + expected);
    }

    /** Checks the features column is a vector. */
    public static void requireVector(StructType schema, String stage, String column) {
        DataType type = require(schema, stage, "featuresCol", column, "a vector column of the network's inputs");
        if (!type.equals(SQLDataTypes.VectorType())) {
            throw new InputException(stage + ": featuresCol \"" + column + "\" is " + type.simpleString()
                    + "; expected a vector (org.apache.spark.ml.linalg.Vector) of the network's inputs");
        }
    }

    /** Checks the label column is numeric. */
    public static void requireNumericLabel(StructType schema, String stage, String column) {
        DataType type = require(schema, stage, "labelCol", column, "a numeric column of the labels");
        if (!(type instanceof org.apache.spark.sql.types.NumericType)) {
            throw new InputException(stage + ": labelCol \"" + column + "\" is " + type.simpleString()
                    + "; expected a numeric type (class index or target value)");
        }
    }

    /** Checks the id column holds integers. */
    public static void requireIds(StructType schema, String stage, String column) {
        DataType type = require(schema, stage, "idCol", column, "a column of integer row ids (they seed each row's "
                + "random draws)");
        if (!List.of(DataTypes.LongType, DataTypes.IntegerType, DataTypes.ShortType, DataTypes.ByteType).contains(type)) {
            throw new InputException(stage + ": idCol \"" + column + "\" is " + type.simpleString()
                    + "; expected an integer type (long, int, short or byte)");
        }
    }
}
