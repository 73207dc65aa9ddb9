package io.candor.explain;

import io.candor.config.CandorConf;
import io.candor.data.FeatureGroup;
import io.candor.data.PreparedData;
import io.candor.model.ModelArtifact;
import io.candor.store.RunRecord;
import io.candor.store.Table;
import io.candor.store.TableWriter;
import io.candor.train.TrainWorkflow;
import io.candor.util.Hashing;
import io.candor.util.InputException;
import io.candor.util.Seeds;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

/**
 * {@code candor importance}: permutation importance of every model variant (or those the conf names) over the
 * configured split, written to {@code permutation_importance}. Every variant's inputs are checked against the data
 * before the first variant is computed, and nothing is written until all are done.
 */
public final class ImportanceWorkflow {
    private static final long SAMPLE_STREAM = 0x5A3B1EL;

    private ImportanceWorkflow() {
    }

    public record VariantImportance(String variant, List<ImportanceResult> results) {
    }

    public record Outcome(String runId, List<VariantImportance> variants, List<String> tablePaths) {
    }

    /** A variant ready to explain: its artifact, data prepared with its featurizer, and its players. */
    private record Plan(String variant, ModelArtifact artifact, PreparedData data, Dataset<Row> rows,
                        List<FeatureGroup> groups, List<String> metrics) {
    }

    public static Outcome run(SparkSession spark, CandorConf conf) {
        Instant started = Instant.now();
        String runId = RunRecord.newRunId("importance", started);
        ImportanceSpec spec = conf.importance();
        List<Plan> plans = new ArrayList<>();
        for (String variant : variants(spark, conf)) {
            plans.add(plan(spark, conf, variant));
        }

        List<VariantImportance> results = new ArrayList<>();
        List<Row> tableRows = new ArrayList<>();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        for (Plan plan : plans) {
            PreparedData data = plan.data();
            int inputs = data.featurizer().layout().size();
            byte[] zip = plan.artifact().networkZip();
            Broadcast<byte[]> network = jsc.broadcast(zip);
            try {
                ModelSource source = new ArtifactModelSource(network, Hashing.sha256(zip), inputs, data.outputs(),
                        data.isClassification() ? null : data.featurizer().normalizer());
                var options = new PermutationImportanceJob.Options(spec.nRepeats(), spec.mode(), spec.blocks(),
                        conf.seed(), spec.batchValues(), plan.metrics(),
                        "importance " + conf.modelName() + "/" + plan.variant());
                List<ImportanceResult> importance = PermutationImportanceJob.run(spark, plan.rows(), source,
                        plan.groups(), inputs, data.isClassification(), data.outputs(), options);
                results.add(new VariantImportance(plan.variant(), importance));
                for (ImportanceResult r : importance) {
                    tableRows.add(RowFactory.create(runId, r.feature(), r.metric(), r.baseline(), r.mean(), r.std(),
                            r.ciLow(), r.ciHigh(), r.nRepeats(), r.rank(), r.mode(), r.rows(), conf.date().toString(),
                            conf.modelName(), plan.variant()));
                }
            } finally {
                network.destroy();
            }
        }

        TableWriter tables = new TableWriter(spark, conf.outputRoot());
        List<String> written = new ArrayList<>();
        written.add(tables.write(Table.PERMUTATION_IMPORTANCE, tableRows));
        PreparedData first = plans.get(0).data();
        String variants = String.join(",", plans.stream().map(Plan::variant).toList());
        RunRecord run = new RunRecord(runId, "importance", conf.modelName(), variants, started, Instant.now(),
                "succeeded", conf, first.rows(), first.fingerprint(), spark, TrainWorkflow.backend());
        written.add(tables.write(Table.RUNS, List.of(run.toRow())));
        return new Outcome(runId, results, written);
    }

    private static Plan plan(SparkSession spark, CandorConf conf, String variant) {
        ModelArtifact artifact = ModelArtifact.load(spark, ModelArtifact.directory(conf.outputRoot(), conf.modelName(), variant));
        String name = conf.modelName() + "/" + variant;
        PreparedData data = PreparedData.prepareFor(spark, conf.dataset(), splitSeed(artifact, conf),
                artifact.featurizer(), artifact.metadata().classes(), name);
        List<FeatureGroup> groups = FeatureGroups.resolve(data.featurizer().layout(), conf.importance().groups(), name);
        List<String> metrics = conf.importance().metrics().isEmpty()
                ? ScoreAccumulator.metricNames(data.isClassification(), data.outputs()) : conf.importance().metrics();
        if (metrics.contains("auc") && data.outputs() != 2) {
            throw new io.candor.config.ConfigException("conf key importance.metrics: auc needs a binary task, but "
                    + name + " has " + data.outputs() + " classes (expected accuracy, log_loss or macro_f1)");
        }
        return new Plan(variant, artifact, data, rows(data, conf), groups, metrics);
    }

    /**
     * The seed the model's train/test split was drawn with: a model is evaluated on its own test rows even when
     * {@code run.seed} changes (which then varies only the permutations).
     */
    static long splitSeed(ModelArtifact artifact, CandorConf conf) {
        String seed = artifact.metadata().provenance().get("seed");
        return seed != null ? Long.parseLong(seed) : conf.seed();
    }

    private static Dataset<Row> rows(PreparedData data, CandorConf conf) {
        Dataset<Row> rows = switch (conf.importance().split()) {
            case TEST -> data.split(PreparedData.TEST);
            case TRAIN -> data.split(PreparedData.TRAIN);
            case ALL -> data.frame();
        };
        int sample = conf.importance().sampleRows();
        if (sample > 0) {
            long seed = conf.seed();
            var order = udf((UDF1<Long, Double>) id -> Seeds.uniform(seed, SAMPLE_STREAM, id), DataTypes.DoubleType);
            rows = rows.orderBy(order.apply(col("row_id"))).limit(sample);
        }
        return rows;
    }

    /** The variants to explain: those the conf names, else every artifact directory of the model. */
    static List<String> variants(SparkSession spark, CandorConf conf) {
        Path modelDir = new Path(new Path(conf.outputRoot(), "models"), conf.modelName());
        if (!conf.importance().variants().isEmpty()) {
            return conf.importance().variants();
        }
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
