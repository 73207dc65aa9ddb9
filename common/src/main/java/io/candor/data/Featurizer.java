package io.candor.data;

import io.candor.util.InputException;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.attribute.Attribute;
import org.apache.spark.ml.attribute.AttributeGroup;
import org.apache.spark.ml.feature.Imputer;
import org.apache.spark.ml.feature.OneHotEncoder;
import org.apache.spark.ml.feature.StringIndexer;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.stat.Summarizer;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

/**
 * Turns parsed rows into the model's input vector: a Spark ML pipeline (optional mean {@link Imputer},
 * {@link StringIndexer} → {@link OneHotEncoder} per categorical column, {@link VectorAssembler}) fitted on the
 * training split, followed by the {@link Normalizer}. The fitted pipeline is saved with the model, so the same
 * transformation runs wherever the model is used.
 */
public final class Featurizer {
    public static final String FEATURES = "features";
    static final String RAW = "features_raw";

    private final PipelineModel pipeline;
    private final Normalizer normalizer;
    private final FeatureLayout layout;

    public Featurizer(PipelineModel pipeline, Normalizer normalizer, FeatureLayout layout) {
        this.pipeline = pipeline;
        this.normalizer = normalizer;
        this.layout = layout;
    }

    public PipelineModel pipeline() {
        return pipeline;
    }

    public Normalizer normalizer() {
        return normalizer;
    }

    public FeatureLayout layout() {
        return layout;
    }

    /** Fits the pipeline and normaliser on {@code train} (parsed rows of the training split). */
    public static Featurizer fit(Dataset<Row> train, List<String> numeric, List<String> categorical,
                                 List<String> columnOrder, DatasetSpec spec, double labelMean, double labelStd) {
        List<PipelineStage> stages = new ArrayList<>();
        List<String> numericInputs = new ArrayList<>(numeric);
        if (spec.missingPolicy() == DatasetSpec.MissingPolicy.IMPUTE && !numeric.isEmpty()) {
            numericInputs = numeric.stream().map(c -> c + "__imputed").toList();
            stages.add(new Imputer().setStrategy("mean").setInputCols(numeric.toArray(new String[0]))
                    .setOutputCols(numericInputs.toArray(new String[0])));
        }
        if (!categorical.isEmpty()) {
            String[] indexed = categorical.stream().map(c -> c + "__index").toArray(String[]::new);
            String[] encoded = categorical.stream().map(c -> c + "__onehot").toArray(String[]::new);
            // keep: a category unseen in training gets a slot of its own instead of failing the job.
            stages.add(new StringIndexer().setInputCols(categorical.toArray(new String[0])).setOutputCols(indexed)
                    .setHandleInvalid("keep").setStringOrderType("alphabetAsc"));
            stages.add(new OneHotEncoder().setInputCols(indexed).setOutputCols(encoded).setDropLast(false));
        }
        List<String> assembled = new ArrayList<>();
        for (String c : columnOrder) {
            int n = numeric.indexOf(c);
            if (n >= 0) {
                assembled.add(numericInputs.get(n));
            } else if (categorical.contains(c)) {
                assembled.add(c + "__onehot");
            }
        }
        stages.add(new VectorAssembler().setInputCols(assembled.toArray(new String[0])).setOutputCol(RAW));
        PipelineModel model = new Pipeline().setStages(stages.toArray(new PipelineStage[0])).fit(castInputs(train,
                numeric, categorical));

        Dataset<Row> transformed = model.transform(castInputs(train, numeric, categorical));
        FeatureLayout layout = layoutOf(transformed, columnOrder, numeric, categorical);
        Normalizer normalizer = spec.normalize()
                ? fitNormalizer(transformed, layout, numeric, labelMean, labelStd)
                : new Normalizer(new double[layout.size()], ones(layout.size()), labelMean, labelStd);
        return new Featurizer(model, normalizer, layout);
    }

    /** Adds the normalised {@value #FEATURES} vector; other columns are kept, the pipeline's own are dropped. */
    public Dataset<Row> transform(Dataset<Row> rows) {
        for (String c : layout.numericColumns()) {
            requireColumn(rows, c);
        }
        for (String c : layout.categoricalColumns()) {
            requireColumn(rows, c);
        }
        String[] original = rows.columns();
        Dataset<Row> out = pipeline.transform(castInputs(rows, layout.numericColumns(), layout.categoricalColumns()));
        Normalizer norm = normalizer;
        UserDefinedFunction normalise = udf((UDF1<Vector, Vector>) v -> Vectors.dense(norm.apply(v.toArray())),
                SQLDataTypes.VectorType());
        List<Column> keep = new ArrayList<>();
        for (String c : original) {
            if (!c.equals(FEATURES)) {
                keep.add(col(c));
            }
        }
        keep.add(normalise.apply(col(RAW)).as(FEATURES));
        return out.select(keep.toArray(new Column[0]));
    }

    private static void requireColumn(Dataset<Row> rows, String c) {
        if (!Arrays.asList(rows.columns()).contains(c)) {
            throw new InputException("input DataFrame: column '" + c + "' is missing (expected the model's input columns)");
        }
    }

    private static Dataset<Row> castInputs(Dataset<Row> rows, List<String> numeric, List<String> categorical) {
        Dataset<Row> out = rows;
        for (String c : numeric) {
            out = out.withColumn(c, col(c).cast(DataTypes.DoubleType));
        }
        for (String c : categorical) {
            out = out.withColumn(c, col(c).cast(DataTypes.StringType));
        }
        return out;
    }

    private static FeatureLayout layoutOf(Dataset<Row> transformed, List<String> columnOrder, List<String> numeric,
                                          List<String> categorical) {
        List<String> names = new ArrayList<>();
        List<FeatureGroup> groups = new ArrayList<>();
        for (String c : columnOrder) {
            if (numeric.contains(c)) {
                groups.add(new FeatureGroup(c, List.of(names.size())));
                names.add(c);
            } else if (categorical.contains(c)) {
                AttributeGroup slots = AttributeGroup.fromStructField(transformed.schema().apply(c + "__onehot"));
                List<Integer> indices = new ArrayList<>();
                for (int i = 0; i < slots.size(); i++) {
                    Attribute a = slots.getAttr(i);
                    indices.add(names.size());
                    names.add(c + "=" + (a.name().isDefined() ? a.name().get() : String.valueOf(i)));
                }
                groups.add(new FeatureGroup(c, indices));
            }
        }
        return new FeatureLayout(names, groups, numeric, categorical);
    }

    private static Normalizer fitNormalizer(Dataset<Row> transformed, FeatureLayout layout, List<String> numeric,
                                            double labelMean, double labelStd) {
        Row stats = transformed.select(Summarizer.metrics("mean", "std").summary(col(RAW)).as("s"))
                .select("s.mean", "s.std").first();
        double[] mean = ((Vector) stats.get(0)).toArray();
        double[] std = ((Vector) stats.get(1)).toArray();
        for (int i = 0; i < layout.size(); i++) {
            // One-hot slots stay 0/1; a constant numeric column keeps unit scale instead of dividing by zero.
            boolean isNumeric = numeric.contains(layout.names().get(i));
            if (!isNumeric) {
                mean[i] = 0.0;
                std[i] = 1.0;
            } else if (!(std[i] > 1e-12)) {
                std[i] = 1.0;
            }
        }
        return new Normalizer(mean, std, labelMean, labelStd);
    }

    private static double[] ones(int n) {
        double[] a = new double[n];
        Arrays.fill(a, 1.0);
        return a;
    }
}
