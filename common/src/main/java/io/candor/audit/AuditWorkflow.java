package io.candor.audit;

import io.candor.config.CandorConf;
import io.candor.config.ConfLoader;
import io.candor.data.FeatureGroup;
import io.candor.data.PreparedData;
import io.candor.distill.DistillSpec;
import io.candor.distill.DistillWorkflow;
import io.candor.explain.ExplainInputs;
import io.candor.explain.FeatureGroups;
import io.candor.explain.ImportanceWorkflow;
import io.candor.explain.ShapleyWorkflow;
import io.candor.model.ModelArtifact;
import io.candor.model.ModelSpec;
import io.candor.quant.QatWorkflow;
import io.candor.quant.QuantizedTwin;
import io.candor.report.HtmlReport;
import io.candor.report.ReportModel;
import io.candor.store.RunLease;
import io.candor.store.RunRecord;
import io.candor.store.StagedCommit;
import io.candor.store.Table;
import io.candor.store.TableWriter;
import io.candor.train.Evaluator;
import io.candor.train.TrainWorkflow;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * {@code candor audit}: the nightly job for one model and one date. It builds the variants (teacher trained or loaded,
 * quantized teacher, distilled student and its quantized twin), explains every variant (permutation importance,
 * KernelSHAP, SAGE), compares the variants with each other ({@code variant_comparison}) and with the most recent earlier
 * date ({@code drift}), checks the thresholds and writes the HTML report.
 *
 * <p>Idempotent per date: the variants live under {@code <root>/audits/<date>/models}, and a stage whose artifacts an
 * earlier run of the date produced with the same conf is skipped (unless forced, or an earlier stage ran again). All
 * tables are staged and committed together ({@link StagedCommit}), so a failed or killed run leaves every earlier
 * result as it was, and a re-run replaces the date's partitions instead of adding rows.
 */
public final class AuditWorkflow {
    private static final Logger LOG = LoggerFactory.getLogger(AuditWorkflow.class);
    /** Rows per variant in the report's SHAP summary plot. */
    private static final int SHAP_POINTS_PER_VARIANT = 200;

    /** A threshold the night breached: which, on what, the value against the limit, and a sentence for people. */
    public record Breach(String threshold, String subject, double value, double limit, String message) {
    }

    /**
     * @param skipped stages not run again because this date already had their artifacts
     * @param recovered runs of earlier, interrupted commits that this run rolled forward
     */
    public record Outcome(String runId, String date, String model, List<String> variants, List<String> skipped,
                          List<Breach> breaches, String reportPath, List<String> tablePaths, List<String> recovered) {
        public boolean passed() {
            return breaches.isEmpty();
        }
    }

    private AuditWorkflow() {
    }

    /** The root of one date's model artifacts. */
    public static String modelsRoot(String outputRoot, String date) {
        return new Path(new Path(new Path(outputRoot, "audits"), date), "models").toString();
    }

    /** Where the report of {@code model} on {@code date} lands, relative to the output root. */
    public static String reportPath(String model, String date) {
        return "reports/" + model + "/audit_date=" + date + "/report.html";
    }

    /** The lease key an audit of {@code model} on {@code date} holds: one such audit at a time per output root. */
    public static String leaseKey(String model, String date) {
        return "audit/" + model + "/" + date;
    }

    public static Outcome run(SparkSession spark, CandorConf conf, boolean force) {
        Instant started = Instant.now();
        String runId = RunRecord.newRunId("audit", started);
        String root = conf.outputRoot();
        String date = conf.date().toString();
        requireQuantizable(conf);
        requireExplainable(spark, conf);
        // Before anything is written: a second audit of this model and date is refused, and leaves no trace.
        try (RunLease lease = RunLease.acquire(spark.sparkContext().hadoopConfiguration(), root,
                leaseKey(conf.modelName(), date), runId)) {
            List<String> recovered = StagedCommit.recover(spark, root, lease);
            ConfLoader loader = new ConfLoader();
            CandorConf audit = loader.derive(conf, List.of("output.models-root=" + modelsRoot(root, date)));
            String staging = StagedCommit.begin(spark, root, runId, lease.key());
            // Straight to the root, so that even a killed attempt leaves its trace in runs.
            new TableWriter(spark, root).write(Table.RUNS, List.of(new RunRecord(runId, "audit", audit.modelName(), "",
                    started, started, "started", audit, 0, "", spark).toRow()));
            try {
                Outcome outcome = runStaged(spark, audit, loader, force, runId, started, staging, recovered);
                lease.checkHeld();
                StagedCommit.commit(spark, root, runId);
                LOG.info("audit {}: committed {} tables for {} on {}", runId, outcome.tablePaths().size(),
                        audit.modelName(), date);
                return outcome;
            } catch (RuntimeException e) {
                try {
                    StagedCommit.discard(spark, root, runId);
                    new TableWriter(spark, root).write(Table.RUNS, List.of(new RunRecord(runId, "audit",
                            audit.modelName(), "", started, Instant.now(), "failed", audit, 0, "", spark).toRow()));
                } catch (RuntimeException cleanup) {
                    e.addSuppressed(cleanup);
                }
                throw e;
            }
        }
    }

    /**
     * Integer-only inference fuses ReLU or identity into requantization; a trained teacher with another activation would
     * fail its quantization only after training. A loaded model is checked when it is read.
     */
    private static void requireQuantizable(CandorConf conf) {
        String activation = conf.model().activation().toLowerCase(java.util.Locale.ROOT);
        if (conf.audit().qat() && conf.model().source() == ModelSpec.Source.TRAIN
                && !QuantizedTwin.fusesIntoRequantization(org.nd4j.linalg.activations.Activation
                .valueOf(activation.toUpperCase(java.util.Locale.ROOT)).getActivationFunction())) {
            throw new io.candor.config.ConfigException("conf key model.activation: " + activation + " cannot be"
                    + " quantized to integer-only inference, which audit.qat = true builds (expected relu or identity,"
                    + " or audit.qat = false)");
        }
    }

    /**
     * The explainers' conf depends on the data (KernelSHAP needs 2M + 2 coalitions for its M feature groups, custom
     * groups must name input columns, outputs must exist): checked on the data before any variant is built.
     */
    private static void requireExplainable(SparkSession spark, CandorConf conf) {
        PreparedData data = PreparedData.prepare(spark, conf.dataset(), conf.seed());
        try {
            ShapleyWorkflow.checkedOutputs(conf.shapley(), groups(conf, data).size(), data.outputs(), conf.modelName());
        } finally {
            data.release();
        }
    }

    private static Outcome runStaged(SparkSession spark, CandorConf audit, ConfLoader loader, boolean force,
                                     String runId, Instant started, String staging, List<String> recovered) {
        String root = audit.outputRoot();
        String date = audit.date().toString();
        Stages stages = new Stages(spark, force, staging);

        String teacher = audit.model().source() == ModelSpec.Source.TRAIN ? TrainWorkflow.TEACHER_FP32
                : TrainWorkflow.loadedVariantName(audit.model().path());
        List<String> variants = new ArrayList<>(List.of(teacher));
        stages.run("train", audit, List.of(teacher), c -> TrainWorkflow.run(spark, c));
        String teacherDir = ModelArtifact.directory(audit, teacher).toString();
        if (audit.audit().qat()) {
            CandorConf qat = loader.derive(audit, List.of("qat.source=" + teacherDir));
            variants.add(qat.qat().variant());
            stages.run("qat", qat, List.of(qat.qat().variant()), c -> QatWorkflow.run(spark, c));
        }
        if (audit.audit().distill()) {
            List<String> distillSets = new ArrayList<>(List.of("distill.teacher=" + teacherDir));
            if (audit.distill().logitsPath().isEmpty()) {
                // Each night's data differs: keep each date's teacher outputs with its models.
                distillSets.add("distill.logits-path=" + new Path(new Path(new Path(root, "audits"), date),
                        "teacher_logits/" + audit.modelName()));
            }
            if (audit.audit().qat()) {
                distillSets.add("distill.quantize=true"); // the audit compares int8 students too
            }
            CandorConf distill = loader.derive(audit, distillSets);
            List<String> students = new ArrayList<>(List.of(DistillSpec.STUDENT_FP32));
            if (distill.distill().quantize()) {
                students.add(distill.distill().quantizedVariant());
            }
            variants.addAll(students);
            stages.run("distill", distill, students, c -> DistillWorkflow.run(spark, c));
        }

        String list = variants.stream().map(v -> "\"" + v + "\"").reduce((a, b) -> a + "," + b).orElseThrow();
        CandorConf explain = loader.derive(audit, List.of("importance.variants=[" + list + "]",
                "shapley.variants=[" + list + "]"));
        ImportanceWorkflow.run(spark, explain.withTablesRoot(staging));
        ShapleyWorkflow.run(spark, explain.withTablesRoot(staging));

        List<ExplainInputs.Variant> loaded = ExplainInputs.variants(spark, explain, variants);
        PreparedData data = loaded.get(0).data();
        AuditTables tables = new AuditTables(spark, root, staging, date, audit.modelName());
        Night night = Night.of(tables, data.isClassification(), variants, audit.seed());
        Map<String, org.apache.spark.api.java.JavaRDD<scala.Tuple3<Long, Double, double[]>>> predictions =
                new LinkedHashMap<>();
        for (ExplainInputs.Variant v : loaded) {
            // Persisted: every pair joins it again.
            predictions.put(v.name(), Evaluator.predict(spark, v.artifact().networkZip(),
                    v.data().split(PreparedData.TEST), v.inputs(), v.data().isClassification(),
                    v.data().featurizer().normalizer())
                    .persist(org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK()));
        }
        AuditSpec spec = audit.audit();
        List<VariantComparison.Pair> pairs = VariantComparison.pairs(night, predictions, data.isClassification(),
                spec.topK());
        predictions.values().forEach(p -> p.unpersist(false));
        loaded.forEach(v -> v.data().release());
        List<Breach> breaches = new ArrayList<>(Thresholds.night(spec.thresholds(), night, teacher, pairs));
        Drift.Result drift = Drift.against(tables, night, spec);
        breaches.addAll(drift.breaches());
        breaches.forEach(b -> LOG.warn("audit {}: threshold {} breached: {}", audit.modelName(), b.threshold(),
                b.message()));

        TableWriter out = new TableWriter(spark, staging);
        out.write(Table.VARIANT_COMPARISON, VariantComparison.rows(pairs, runId, date, audit.modelName(), spec.topK()));
        out.write(Table.DRIFT, drift.rows(runId, date, audit.modelName()));
        ReportModel report = Report.model(audit, runId, data, night, pairs, drift, breaches, SHAP_POINTS_PER_VARIANT);
        String reportPath = writeReport(spark, report, staging, root, audit.modelName(), date);
        RunRecord run = new RunRecord(runId, "audit", audit.modelName(), String.join(",", variants), started,
                Instant.now(), breaches.isEmpty() ? "passed" : "breached", audit, data.rows(), data.fingerprint(),
                spark);
        out.write(Table.RUNS, List.of(run.toRow()));
        // After the commit every table is under the root (the audit writes or keeps each of them).
        List<String> tablePaths = Arrays.stream(Table.values()).map(new TableWriter(spark, root)::path)
                .toList();
        return new Outcome(runId, date, audit.modelName(), variants, stages.skipped, breaches, reportPath, tablePaths,
                recovered);
    }

    private static String writeReport(SparkSession spark, ReportModel report, String staging, String root,
                                      String model, String date) {
        String relative = reportPath(model, date);
        try {
            java.nio.file.Path local = Files.createTempFile("candor-report", ".html");
            try {
                HtmlReport.write(report, local);
                Path staged = new Path(staging, relative);
                FileSystem fs = staged.getFileSystem(spark.sparkContext().hadoopConfiguration());
                fs.copyFromLocalFile(false, true, new Path(local.toUri()), staged);
            } finally {
                Files.deleteIfExists(local);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing the audit report", e);
        }
        return new Path(root, relative).toString();
    }

    /**
     * Runs the compression stages in order, skipping a stage when this date already built it from the same conf and no
     * earlier stage ran again. A stage's completion is a marker file next to the date's artifacts, written after the
     * stage finishes; the first stage that runs deletes every marker first, so a run that dies half-way (leaving some
     * artifacts replaced) makes the next run rebuild instead of mixing artifacts of two runs.
     */
    private static final class Stages {
        private static final List<String> ORDER = List.of("train", "qat", "distill");
        private final SparkSession spark;
        private final String staging;
        private boolean upstreamRan;
        private boolean markersCleared;
        final List<String> skipped = new ArrayList<>();

        Stages(SparkSession spark, boolean force, String staging) {
            this.spark = spark;
            this.upstreamRan = force;
            this.staging = staging;
        }

        void run(String name, CandorConf conf, List<String> produces, java.util.function.Consumer<CandorConf> stage) {
            Path modelDir = new Path(conf.modelsRoot(), conf.modelName());
            try {
                FileSystem fs = modelDir.getFileSystem(spark.sparkContext().hadoopConfiguration());
                if (!upstreamRan && built(fs, modelDir, name, conf) && produces.stream()
                        .allMatch(v -> exists(fs, new Path(ModelArtifact.directory(conf, v), ModelArtifact.METADATA)))) {
                    LOG.info("audit stage {}: skipped, {} already built on {} from the same conf", name, produces,
                            conf.date());
                    skipped.add(name);
                    return;
                }
                if (!markersCleared) {
                    for (String s : ORDER) {
                        fs.delete(marker(modelDir, s), false);
                    }
                    markersCleared = true;
                }
                upstreamRan = true;
                LOG.info("audit stage {}: building {}", name, produces);
                stage.accept(conf.withTablesRoot(staging));
                try (var outStream = fs.create(marker(modelDir, name), true)) {
                    outStream.write(conf.sha256().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                throw new UncheckedIOException("audit stage " + name + " under " + modelDir, e);
            }
        }

        private static Path marker(Path modelDir, String stage) {
            return new Path(modelDir, ".built-" + stage);
        }

        private static boolean built(FileSystem fs, Path modelDir, String stage, CandorConf conf) throws IOException {
            Path marker = marker(modelDir, stage);
            if (!fs.exists(marker)) {
                return false;
            }
            try (var in = fs.open(marker)) {
                return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).equals(conf.sha256());
            }
        }

        private static boolean exists(FileSystem fs, Path p) {
            try {
                return fs.exists(p);
            } catch (IOException e) {
                throw new UncheckedIOException("reading " + p, e);
            }
        }
    }

    /**
     * Tonight's metrics and global importances per variant, the metric and importance the audit ranks by, and the
     * shap_values rows of a seeded sample of {@link #SHAP_POINTS_PER_VARIANT} row ids (the same for every variant).
     */
    record Night(List<String> variants, String primaryMetric, String importanceMetric, List<Row> metricRows,
                 List<Row> importanceRows, List<Row> globalRows, List<Row> shapRows,
                 Map<String, Map<String, Double>> testMetrics, Map<String, Map<String, Double>> importance,
                 Map<String, Map<String, Double>> sage) {

        /** Seed stream of the rows sampled into shapRows (and the report's SHAP summary plot). */
        static final long SHAP_SAMPLE_STREAM = 0x5AA9L;

        static Night of(AuditTables tables, boolean classification, List<String> variants, long seed) {
            List<Row> metricRows = tables.tonight(Table.MODEL_METRICS);
            List<Row> importanceRows = tables.tonight(Table.PERMUTATION_IMPORTANCE);
            List<Row> globalRows = tables.tonight(Table.SHAPLEY_GLOBAL);
            List<Row> shapRows = tables.shapSample(SHAP_POINTS_PER_VARIANT, seed, SHAP_SAMPLE_STREAM);
            String primary = classification ? "accuracy" : "r2";
            TreeSet<String> importanceMetrics = new TreeSet<>();
            importanceRows.forEach(r -> importanceMetrics.add(r.getAs("metric")));
            // Log-loss ranks features that accuracy, on a small test split, ties.
            String ranking = importanceMetrics.contains(classification ? "log_loss" : "r2")
                    ? (classification ? "log_loss" : "r2")
                    : importanceMetrics.isEmpty() ? primary : importanceMetrics.first();
            return new Night(variants, primary, ranking, metricRows, importanceRows, globalRows, shapRows,
                    AuditTables.testMetrics(metricRows), AuditTables.importance(importanceRows, ranking),
                    AuditTables.sage(globalRows));
        }

        double metric(String variant) {
            return testMetrics.getOrDefault(variant, Map.of()).getOrDefault(primaryMetric, Double.NaN);
        }

        /** Per variant, per (row id, output) of the sampled rows, the attribution vector. */
        Map<String, Map<List<Long>, double[]>> shap() {
            Map<String, Map<List<Long>, double[]>> out = new TreeMap<>();
            for (Row r : shapRows) {
                List<Double> phi = r.getList(r.fieldIndex("phi"));
                out.computeIfAbsent(r.getAs("variant"), v -> new HashMap<>()).put(
                        List.of(r.<Long>getAs("row_id"), (long) r.<Integer>getAs("output")),
                        phi.stream().mapToDouble(Double::doubleValue).toArray());
            }
            return out;
        }
    }

    /**
     * Feature values of single-column groups of the rows {@code rowIds} (a bounded sample) of the test split, for
     * colouring the SHAP summary; by row id.
     */
    static Map<Long, double[]> groupValues(PreparedData data, List<FeatureGroup> groups, java.util.Set<Long> rowIds) {
        Map<Long, double[]> out = new HashMap<>();
        if (rowIds.isEmpty()) {
            return out;
        }
        for (Row r : data.split(PreparedData.TEST).filter(org.apache.spark.sql.functions.col("row_id")
                .isin(rowIds.toArray())).select("row_id", "features").collectAsList()) {
            double[] x = ((Vector) r.get(1)).toArray();
            double[] values = new double[groups.size()];
            for (int g = 0; g < groups.size(); g++) {
                List<Integer> idx = groups.get(g).indices();
                values[g] = idx.size() == 1 ? x[idx.get(0)] : Double.NaN;
            }
            out.put(r.getLong(0), values);
        }
        return out;
    }

    static List<FeatureGroup> groups(CandorConf conf, PreparedData data) {
        return FeatureGroups.resolve(data.featurizer().layout(), conf.importance().groups(), conf.modelName());
    }
}
