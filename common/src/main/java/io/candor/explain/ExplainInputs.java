package io.candor.explain;

import io.candor.config.CandorConf;
import io.candor.data.Featurizer;
import io.candor.data.PreparedData;
import io.candor.data.TabularReader;
import io.candor.model.ModelArtifact;
import io.candor.store.RunRecord;
import io.candor.store.Table;
import io.candor.store.TableWriter;
import io.candor.util.Hashing;
import io.candor.util.InputException;
import io.candor.util.Seeds;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

/** What every explainer starts from: the model variants, each with its data and the rows to explain. */
public final class ExplainInputs {
    private ExplainInputs() {
    }

    /** A variant ready to explain: its artifact and the data prepared with the model's own featurizer and split. */
    public record Variant(String name, ModelArtifact artifact, PreparedData data) {
        public String label(CandorConf conf) {
            return conf.modelName() + "/" + name;
        }

        public int inputs() {
            return data.featurizer().layout().size();
        }
    }

    /**
     * Loads and prepares every variant before any is computed, so a bad one fails the run before any output. Variants
     * that carry the same fitted featurizer (a teacher and the twins and students built from it keep its Spark ML
     * pipeline, uid and all), split seed and classes share one preparation of the data: the same rows, read, featurized
     * and cached once instead of once per variant.
     */
    public static List<Variant> variants(SparkSession spark, CandorConf conf, List<String> requested) {
        List<Variant> variants = new ArrayList<>();
        Map<List<Object>, PreparedData> prepared = new HashMap<>();
        for (String name : requested.isEmpty() ? present(spark, conf) : requested) {
            ModelArtifact artifact = ModelArtifact.load(spark, ModelArtifact.directory(conf, name));
            long splitSeed = splitSeed(artifact, conf);
            List<String> classes = artifact.metadata().classes();
            PreparedData data = prepared.computeIfAbsent(Arrays.asList(artifact.pipeline().uid(), splitSeed, classes),
                    key -> PreparedData.prepareFor(spark, conf.dataset(), splitSeed, artifact.featurizer(), classes,
                            conf.modelName() + "/" + name));
            variants.add(new Variant(name, artifact, data));
        }
        return variants;
    }

    /**
     * The seed the model's train/test split was drawn with: a model is evaluated on its own test rows even when
     * {@code run.seed} changes (which then varies only the explainer's draws).
     */
    public static long splitSeed(ModelArtifact artifact, CandorConf conf) {
        String seed = artifact.metadata().provenance().get("seed");
        return seed != null ? Long.parseLong(seed) : conf.seed();
    }

    /** The split's rows, or a seeded sample of {@code sampleRows} of them (0: all). */
    public static Dataset<Row> rows(PreparedData data, ImportanceSpec.Split split, int sampleRows, long seed,
                                    long stream) {
        Dataset<Row> rows = splitRows(data, split);
        return sampleRows > 0 ? sample(rows, sampleRows, seed, stream) : rows;
    }

    public static Dataset<Row> splitRows(PreparedData data, ImportanceSpec.Split split) {
        return switch (split) {
            case TEST -> data.split(PreparedData.TEST);
            case TRAIN -> data.split(PreparedData.TRAIN);
            case ALL -> data.frame();
        };
    }

    /** A seeded sample of {@code size} of the rows, chosen by (seed, stream, row id): the same on any partitioning. */
    public static Dataset<Row> sample(Dataset<Row> rows, int size, long seed, long stream) {
        var order = udf((UDF1<Long, Double>) id -> Seeds.uniform(seed, stream, id), DataTypes.DoubleType);
        return rows.orderBy(order.apply(col(TabularReader.ROW_ID))).limit(size);
    }

    /** Stream of SAGE's row sample. */
    static final long SAGE_STREAM = 0x5A6EL;

    /** SAGE's rows on the driver, in row-id order: features, labels and ids. */
    public record SageRows(double[][] data, double[] labels, long[] ids) {
    }

    /**
     * SAGE's seeded sample of at most {@code size} rows ({@code row_id}, {@code features}, {@code label}) brought to
     * the driver, which holds them for the whole estimation: the only rows it ever holds, bounded by {@code size}.
     */
    public static SageRows sageRows(Dataset<Row> rows, int size, long seed) {
        List<Row> sample = sample(rows, size, seed, SAGE_STREAM)
                .select(TabularReader.ROW_ID, Featurizer.FEATURES, TabularReader.LABEL)
                .orderBy(TabularReader.ROW_ID).collectAsList();
        double[][] data = new double[sample.size()][];
        double[] labels = new double[sample.size()];
        long[] ids = new long[sample.size()];
        for (int i = 0; i < data.length; i++) {
            Row r = sample.get(i);
            ids[i] = r.getLong(0);
            data[i] = ((Vector) r.get(1)).toArray();
            labels[i] = r.isNullAt(2) ? Double.NaN : r.getDouble(2);
        }
        return new SageRows(data, labels, ids);
    }

    /**
     * Explainer tasks per pass over the rows, the same on every topology. Which rows share a task, and their order,
     * decide how partial sums are grouped and which rows share a batch; keeping both independent of the cluster makes
     * local[1], local[N] and a cluster give bit-identical tables. 32 tasks keep 2-16 cores busy and report progress
     * often enough.
     */
    public static final int EXPLAIN_TASKS = 32;

    /** The rows in {@link #EXPLAIN_TASKS} tasks by a hash of the row id, each task's rows in row-id order. */
    public static Dataset<Row> spread(Dataset<Row> rows) {
        return rows.repartition(EXPLAIN_TASKS, col(TabularReader.ROW_ID)).sortWithinPartitions(TabularReader.ROW_ID);
    }

    /** The variant's network broadcast to executors; close to release it. */
    public static final class BroadcastModel implements AutoCloseable {
        private final Broadcast<byte[]> zip;
        private final ModelSource source;

        public BroadcastModel(SparkSession spark, Variant variant) {
            byte[] bytes = variant.artifact().networkZip();
            PreparedData data = variant.data();
            this.zip = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(bytes);
            this.source = new ArtifactModelSource(zip, Hashing.sha256(bytes), variant.inputs(), data.outputs(),
                    data.isClassification() ? null : data.featurizer().normalizer());
        }

        public ModelSource source() {
            return source;
        }

        @Override
        public void close() {
            zip.destroy();
        }
    }

    /** Appends the {@code runs} row of a successful explainer run over {@code variants}; returns the table path. */
    public static String recordRun(SparkSession spark, CandorConf conf, String runId, String job,
                                   java.time.Instant started, List<Variant> variants) {
        PreparedData first = variants.get(0).data();
        String names = String.join(",", variants.stream().map(Variant::name).toList());
        RunRecord run = new RunRecord(runId, job, conf.modelName(), names, started, java.time.Instant.now(),
                "succeeded", conf, first.rows(), first.fingerprint(), spark);
        return new TableWriter(spark, conf.tablesRoot()).write(Table.RUNS, List.of(run.toRow()));
    }

    /** Every artifact directory of the model, in name order. */
    private static List<String> present(SparkSession spark, CandorConf conf) {
        Path modelDir = new Path(conf.modelsRoot(), conf.modelName());
        try {
            FileSystem fs = modelDir.getFileSystem(spark.sparkContext().hadoopConfiguration());
            List<String> found = new ArrayList<>();
            if (fs.exists(modelDir)) {
                for (FileStatus s : fs.listStatus(modelDir)) {
                    if (s.isDirectory() && !s.getPath().getName().startsWith(".")) {
                        found.add(s.getPath().getName());
                    }
                }
            }
            if (found.isEmpty()) {
                throw new InputException("model " + conf.modelName() + ": no artifacts under " + modelDir
                        + " (expected candor train to have written one)");
            }
            found.sort(String::compareTo);
            return found;
        } catch (IOException e) {
            throw new InputException("model directory " + modelDir + ": cannot be listed: " + e.getMessage(), e);
        }
    }
}
