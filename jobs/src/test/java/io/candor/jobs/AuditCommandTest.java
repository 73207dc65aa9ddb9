package io.candor.jobs;

import io.candor.report.HeadlessChromium;
import io.candor.store.Table;
import io.candor.testing.TestSpark;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code candor audit} end to end on breast_cancer, night after night in one output root: the first night writes
 * every table and the report; the same date again replaces rather than duplicates; a run killed mid-way leaves the
 * date as it was; a second night on degraded data breaches the drift threshold and exits 4. Every table is read back
 * by Spark and by DuckDB, and the report is opened in headless Chromium.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AuditCommandTest {
    private static final String NIGHT_1 = "2026-11-20";
    private static final String NIGHT_2 = "2026-11-21";
    /** Small but real: every stage trains, quantizes, distills and explains. */
    private static final String[] SMALL = {"train.epochs=12", "qat.epochs=1", "distill.epochs=12",
        // The sample conf's 8-unit student needs its 30 epochs; in 12 its int8 twin drifts past the default threshold.
        "distill.student.hidden=[16]",
        "distill.qat-epochs=1", "importance.n-repeats=3", "shapley.sample-rows=12", "shapley.max-coalitions=128",
        "shapley.background.size=8", "shapley.sage.rows=150", "shapley.sage.max-permutation-pairs=256",
        // 98 test rows and 3 repeats rank the many near-zero features noisily; drift thresholds stay at defaults.
        "audit.thresholds.min-rank-correlation=0.2", "audit.thresholds.max-student-metric-drop=0.05"};
    private static final List<String> VARIANTS = List.of("teacher-fp32", "teacher-int8", "student-fp32", "student-int8");

    @TempDir
    static Path out;
    private static Map<String, List<String>> firstNight;

    static String[] audit(String date, String dataPath, String... extra) {
        List<String> args = new ArrayList<>(List.of("audit", "--conf", TestSpark.sampleConf("breast_cancer").toString(),
                "--date", date, "--set", "dataset.path=" + dataPath, "--set", "output.root=" + out));
        for (String s : SMALL) {
            args.addAll(List.of("--set", s));
        }
        args.addAll(List.of(extra));
        return args.toArray(new String[0]);
    }

    @Test
    @Order(1)
    void theFirstNightWritesEveryTableAndTheReport() throws Exception {
        CliRun run = CliRun.of(audit(NIGHT_1, TestSpark.sample("breast_cancer.csv").toString()));
        assertEquals(0, run.exitCode(), run.out() + run.err());
        for (Table t : Table.values()) {
            assertTrue(run.out().contains("table:  " + out.resolve(t.tableName())), run.out());
        }
        Path report = out.resolve("reports/breast_cancer/audit_date=" + NIGHT_1 + "/report.html");
        assertTrue(run.out().contains("report: " + report), run.out());
        assertTrue(Files.isRegularFile(report));
        assertTrue(run.out().contains("audit passed"), run.out());

        SparkSession spark = TestSpark.session();
        for (String v : VARIANTS) {
            assertTrue(count(spark, Table.MODEL_METRICS, NIGHT_1, "variant = '" + v + "'") > 0, v);
            assertTrue(count(spark, Table.PERMUTATION_IMPORTANCE, NIGHT_1, "variant = '" + v + "'") > 0, v);
            assertEquals(12L * 2, count(spark, Table.SHAP_VALUES, NIGHT_1, "variant = '" + v + "'"), v);
        }
        assertEquals(6, count(spark, Table.VARIANT_COMPARISON, NIGHT_1, "true"), "one row per pair of 4 variants");
        Row teacherVsInt8 = table(spark, Table.VARIANT_COMPARISON, NIGHT_1,
                "variant_a = 'teacher-fp32' and variant_b = 'teacher-int8'").get(0);
        assertTrue(teacherVsInt8.<Double>getAs("prediction_agreement") >= 0.95, teacherVsInt8.toString());
        assertTrue(teacherVsInt8.<Double>getAs("spearman_permutation") > 0.5, teacherVsInt8.toString());
        assertTrue(teacherVsInt8.<Double>getAs("shap_cosine_mean") > 0.8, teacherVsInt8.toString());
        assertEquals(0, count(spark, Table.DRIFT, NIGHT_1, "true"), "nothing to drift from on the first night");
        firstNight = snapshot(spark, NIGHT_1);
    }

    @Test
    @Order(2)
    void theSameDateAgainSkipsBuiltVariantsAndLeavesTheSameRows() {
        CliRun run = CliRun.of(audit(NIGHT_1, TestSpark.sample("breast_cancer.csv").toString()));
        assertEquals(0, run.exitCode(), run.out() + run.err());
        assertTrue(run.out().contains("skipped (already built on " + NIGHT_1 + "; --force rebuilds): train, qat, distill"),
                run.out());
        assertEquals(firstNight, snapshot(TestSpark.session(), NIGHT_1),
                "a re-run replaces the date: same rows, same values, no duplicates");
    }

    @Test
    @Order(3)
    void aRunKilledDuringItsWritesLeavesThePreviousRunOfTheDate() throws Exception {
        Path log = out.resolve("killed-run.log");
        Process child = ChildCandor.start(log, "3g", List.of(audit(NIGHT_1,
                TestSpark.sample("breast_cancer.csv").toString(), "--force", "--set", "spark.master=local[2]")));
        try {
            Path staging = out.resolve("_staging");
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
            // The first table this run writes is the retrained teacher's model_metrics, into its staging directory.
            while (!firstStagedTableWritten(staging)) {
                assertTrue(child.isAlive(), "the run ended before writing a table:\n" + Files.readString(log));
                assertTrue(System.nanoTime() < deadline, "no table written in 4 minutes");
                Thread.sleep(100);
            }
            child.destroyForcibly().waitFor();
        } finally {
            child.destroyForcibly();
        }
        SparkSession spark = TestSpark.session();
        assertEquals(firstNight, snapshot(spark, NIGHT_1), "the killed run changed the date's tables");
        List<Row> attempts = table(spark, Table.RUNS, NIGHT_1, "job = 'audit'");
        Map<String, List<String>> statusByRun = new TreeMap<>();
        attempts.forEach(r -> statusByRun.computeIfAbsent(r.getAs("run_id"), k -> new ArrayList<>())
                .add(r.getAs("status")));
        assertEquals(3, statusByRun.size(), "every attempt is in runs: " + statusByRun);
        assertEquals(1, statusByRun.values().stream().filter(s -> s.equals(List.of("started"))).count(),
                "the killed attempt started and never finished: " + statusByRun);
    }

    @Test
    @Order(4)
    void aSecondNightOnDegradedDataBreachesDriftAndExitsFour() throws Exception {
        Path degraded = out.resolve("breast_cancer_degraded.csv");
        flipLabels(TestSpark.sample("breast_cancer.csv"), degraded, 0.35);
        CliRun run = CliRun.of(audit(NIGHT_2, degraded.toString()));
        assertEquals(4, run.exitCode(), run.out() + run.err());
        assertTrue(run.out().contains("recovered") || !Files.exists(out.resolve("_staging"))
                        || isEmpty(out.resolve("_staging")), "the killed run's staging is cleared");
        assertTrue(run.err().lines().anyMatch(l -> l.startsWith("candor audit: threshold max-metric-drift breached: "
                + "teacher-fp32 accuracy")), run.err());

        SparkSession spark = TestSpark.session();
        List<Row> drift = table(spark, Table.DRIFT, NIGHT_2, "variant = 'teacher-fp32'");
        assertEquals(1, drift.size());
        Row d = drift.get(0);
        assertEquals(NIGHT_1, d.getAs("previous_audit_date"));
        assertTrue(d.<Double>getAs("metric_delta") < -0.1, d.toString());
        assertTrue(d.getList(d.fieldIndex("breached")).contains("max-metric-drift"), d.toString());
        assertEquals(VARIANTS.size(), count(spark, Table.DRIFT, NIGHT_2, "true"));
        assertEquals(firstNight, snapshot(spark, NIGHT_1), "night 2 left night 1 alone");

        String html = Files.readString(out.resolve("reports/breast_cancer/audit_date=" + NIGHT_2 + "/report.html"));
        assertTrue(html.contains("max-metric-drift"), "the report names the breach");
    }

    @Test
    @Order(5)
    void everyTableReadsBackInSparkAndDuckDbWithTheDocumentedColumns() throws Exception {
        SparkSession spark = TestSpark.session();
        try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
             Statement st = duck.createStatement()) {
            for (Table t : Table.values()) {
                String path = out.resolve(t.tableName()).toString();
                List<String> documented = Arrays.stream(t.schema().fields()).map(StructField::name).sorted().toList();
                org.apache.spark.sql.Dataset<Row> frame = spark.read().parquet(path);
                assertEquals(documented, Arrays.stream(frame.columns()).sorted().toList(), t + " in Spark");
                long sparkRows = frame.count();
                assertTrue(sparkRows > 0, t + " is empty");

                String source = "read_parquet('" + path + "/**/*.parquet', hive_partitioning = true)";
                List<String> duckColumns = new ArrayList<>();
                try (ResultSet rs = st.executeQuery("DESCRIBE SELECT * FROM " + source)) {
                    while (rs.next()) {
                        duckColumns.add(rs.getString("column_name"));
                    }
                }
                assertEquals(documented, duckColumns.stream().sorted().toList(), t + " in DuckDB");
                try (ResultSet rs = st.executeQuery("SELECT count(*), count(DISTINCT audit_date) FROM " + source)) {
                    rs.next();
                    assertEquals(sparkRows, rs.getLong(1), t + " row count in DuckDB");
                }
            }
            // A typical question, answered in SQL straight from the files: accuracy per variant and night.
            try (ResultSet rs = st.executeQuery("SELECT variant, audit_date, value FROM read_parquet('"
                    + out.resolve("model_metrics") + "/**/*.parquet', hive_partitioning = true) WHERE split = 'test'"
                    + " AND metric = 'accuracy' ORDER BY variant, audit_date")) {
                int rows = 0;
                while (rs.next()) {
                    double accuracy = rs.getDouble(3);
                    assertTrue(accuracy > 0.3 && accuracy <= 1.0, "accuracy " + accuracy);
                    rows++;
                }
                assertEquals(2 * VARIANTS.size(), rows);
            }
        }
    }

    @Test
    @Order(6)
    void theReportOpensInHeadlessChromiumWithEveryChartDrawn() throws Exception {
        Path report = out.resolve("reports/breast_cancer/audit_date=" + NIGHT_2 + "/report.html");
        HeadlessChromium.Page page = HeadlessChromium.open(report);
        assertEquals(List.of(), page.console(), "console messages");
        assertTrue(page.dom().contains("data-rendered=\"ok\""), page.stderr());
        for (String chart : List.of("importance", "sage", "beeswarm", "rank-agreement", "history")) {
            String markup = chartMarkup(page.dom(), chart);
            int marks = count(markup, "<rect") + count(markup, "<circle") + count(markup, "<path")
                    + count(markup, "<line");
            assertTrue(marks > 0, chart + " drew nothing");
        }
        assertTrue(count(chartMarkup(page.dom(), "beeswarm"), "<circle") >= 12 * 30,
                "a dot per (row, feature) of a variant");
        assertTrue(page.dom().contains("max-metric-drift"), "the breach is named on the page");
    }

    // ---- helpers --------------------------------------------------------------------------------------------

    /** Every row of the date, per table, as sorted strings without the run id (which a re-run changes). */
    private static Map<String, List<String>> snapshot(SparkSession spark, String date) {
        Map<String, List<String>> tables = new TreeMap<>();
        for (Table t : Table.values()) {
            if (t == Table.RUNS) {
                continue; // appended by design: every attempt is recorded
            }
            List<String> rows = new ArrayList<>();
            for (Row r : table(spark, t, date, "true")) {
                rows.add(ResultTables.line(r, t.schema().fieldNames(),
                        f -> f.equals("run_id") || f.equals("previous_run_id")));
            }
            rows.sort(String::compareTo);
            tables.put(t.tableName(), rows);
        }
        return tables;
    }

    private static List<Row> table(SparkSession spark, Table t, String date, String filter) {
        Path path = out.resolve(t.tableName());
        if (!Files.exists(path)) {
            return List.of();
        }
        return spark.read().schema(t.schema()).option("basePath", path.toString()).parquet(path.toString())
                .filter("audit_date = '" + date + "' and (" + filter + ")").collectAsList();
    }

    private static long count(SparkSession spark, Table t, String date, String filter) {
        return table(spark, t, date, filter).size();
    }

    private static boolean firstStagedTableWritten(Path staging) throws IOException {
        if (!Files.isDirectory(staging)) {
            return false;
        }
        try (Stream<Path> files = Files.walk(staging)) {
            return files.anyMatch(f -> f.toString().contains("/model_metrics/audit_date=")
                    && f.getFileName().toString().endsWith(".parquet"));
        } catch (java.io.UncheckedIOException | java.nio.file.NoSuchFileException changedWhileWalked) {
            return false; // Spark was moving files; look again
        }
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    /** Copies the CSV with the binary label flipped on a seeded {@code fraction} of the rows. */
    private static void flipLabels(Path from, Path to, double fraction) throws IOException {
        List<String> lines = Files.readAllLines(from, StandardCharsets.UTF_8);
        List<String> header = Arrays.asList(lines.get(0).split(","));
        int label = header.indexOf("target");
        java.util.SplittableRandom random = new java.util.SplittableRandom(7);
        List<String> outLines = new ArrayList<>(List.of(lines.get(0)));
        for (String line : lines.subList(1, lines.size())) {
            String[] cells = line.split(",", -1);
            if (random.nextDouble() < fraction) {
                cells[label] = cells[label].equals("0") ? "1" : "0";
            }
            outLines.add(String.join(",", cells));
        }
        Files.write(to, outLines, StandardCharsets.UTF_8);
    }

    private static String chartMarkup(String dom, String chart) {
        int start = dom.indexOf("data-chart=\"" + chart + "\"");
        assertTrue(start >= 0, "no chart " + chart);
        int end = dom.indexOf("data-chart=\"", start + 12);
        int section = dom.indexOf("</section>", start);
        return dom.substring(start, end < 0 ? section : Math.min(end, section < 0 ? end : section));
    }

    private static int count(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length())) {
            n++;
        }
        return n;
    }

}
