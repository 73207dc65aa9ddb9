package io.candor.jobs;

import io.candor.store.Table;
import io.candor.testing.TestSpark;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two {@code candor audit} processes on one output root at once. Of two audits of the same model and date, the second
 * is refused with one line and exit 3 while the first commits; audits of different models both commit. Afterwards
 * every table reads back whole: the rows a run wrote concurrently equal, row for row, the rows the same conf wrote
 * alone (the audit is deterministic), with no duplicates and nothing left staged.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConcurrentAuditsTest {
    private static final String NIGHT_1 = "2026-11-20";
    private static final String NIGHT_2 = "2026-11-21";
    /** Tiny but complete: a teacher, its int8 twin, both explained and compared; thresholds off. */
    private static final List<String> TINY = List.of("train.epochs=4", "qat.epochs=1", "audit.distill=false",
            "importance.n-repeats=2", "shapley.sample-rows=6", "shapley.max-coalitions=64", "shapley.background.size=4",
            "shapley.sage.rows=60", "shapley.sage.max-permutation-pairs=64", "spark.master=local[1]",
            "audit.thresholds.min-rank-correlation=-1", "audit.thresholds.min-drift-rank-correlation=-1",
            "audit.thresholds.max-quantized-metric-drop=1", "audit.thresholds.max-metric-drift=1");
    private static final int VARIANTS = 2;

    @TempDir
    static Path root;

    private static Process audit(String dataset, String date, String logName) throws IOException {
        List<String> args = new ArrayList<>(List.of("audit", "--conf", TestSpark.sampleConf(dataset).toString(),
                "--date", date, "--set", "dataset.path=" + TestSpark.sample(dataset + ".csv"),
                "--set", "output.root=" + root));
        TINY.forEach(s -> args.addAll(List.of("--set", s)));
        return ChildCandor.start(root.resolve(logName), "2g", args);
    }

    private static int finish(Process p, String logName) throws Exception {
        assertTrue(p.waitFor(8, TimeUnit.MINUTES), logName + " did not finish");
        return p.exitValue();
    }

    private static String log(String logName) throws IOException {
        return Files.readString(root.resolve(logName));
    }

    @Test
    @Order(1)
    void aSecondAuditOfTheSameModelAndDateIsRefusedWhileTheFirstCommits() throws Exception {
        Process first = audit("breast_cancer", NIGHT_1, "first.log");
        Path leases = root.resolve("_leases/audit/breast_cancer/" + NIGHT_1);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (!holdsALease(leases)) {
            assertTrue(first.isAlive(), "the first audit ended before taking its lease:\n" + log("first.log"));
            assertTrue(System.nanoTime() < deadline, "no lease taken in 3 minutes");
            Thread.sleep(100);
        }
        Process second = audit("breast_cancer", NIGHT_1, "second.log");
        int refused = finish(second, "second.log");
        assertTrue(first.isAlive(), "the first audit must still be running for the refusal to mean anything");
        assertEquals(3, refused, log("second.log"));
        List<String> errors = log("second.log").lines().filter(l -> l.startsWith("candor audit: error:")).toList();
        assertEquals(1, errors.size(), log("second.log"));
        System.out.println("the second audit was refused with: " + errors.get(0));
        assertTrue(errors.get(0).contains("audit/breast_cancer/" + NIGHT_1 + " is in use by run audit-")
                && errors.get(0).contains("pid " + first.pid()), errors.get(0));

        assertEquals(0, finish(first, "first.log"), log("first.log"));
        SparkSession spark = TestSpark.session();
        Map<String, List<String>> statuses = statusesByRun(spark, NIGHT_1);
        assertEquals(1, statuses.size(), "the refused audit left no trace in runs: " + statuses);
        assertEquals(List.of("passed", "started"), statuses.values().iterator().next().stream().sorted().toList());
        assertNothingLeftOver();
    }

    @Test
    @Order(2)
    void auditsOfDifferentModelsAtOnceBothCommitEveryRow() throws Exception {
        Process breastCancer = audit("breast_cancer", NIGHT_2, "breast_cancer.log");
        Process wine = audit("wine", NIGHT_2, "wine.log");
        assertEquals(0, finish(breastCancer, "breast_cancer.log"), log("breast_cancer.log"));
        assertEquals(0, finish(wine, "wine.log"), log("wine.log"));

        SparkSession spark = TestSpark.session();
        for (Table t : Table.values()) {
            if (t == Table.RUNS || t == Table.DRIFT) {
                continue;
            }
            // The same conf on another night, alone on the root before: the very same rows.
            assertEquals(rows(spark, t, NIGHT_1, "breast_cancer"), rows(spark, t, NIGHT_2, "breast_cancer"),
                    t + ": breast_cancer written beside wine differs from breast_cancer written alone");
            List<String> wineRows = rows(spark, t, NIGHT_2, "wine");
            assertEquals(wineRows.size(), wineRows.stream().distinct().count(), t + ": duplicate wine rows");
            assertTrue(!wineRows.isEmpty(), t + ": no wine rows");
        }
        assertEquals((long) VARIANTS * 6 * 3, rows(spark, Table.SHAP_VALUES, NIGHT_2, "wine").size(),
                "variants x rows x classes");
        assertEquals(VARIANTS, rows(spark, Table.DRIFT, NIGHT_2, "breast_cancer").size(), "drift from night 1");
        for (String model : List.of("breast_cancer", "wine")) {
            Map<String, List<String>> statuses = statusesByRun(spark, NIGHT_2, model);
            assertEquals(1, statuses.size(), model + ": " + statuses);
            assertEquals(List.of("passed", "started"), statuses.values().iterator().next().stream().sorted().toList());
        }
        assertNothingLeftOver();
    }

    /** A table's rows of one date and model, without run ids and dates, sorted. */
    private static List<String> rows(SparkSession spark, Table t, String date, String model) {
        Path path = root.resolve(t.tableName());
        List<String> out = new ArrayList<>();
        for (Row r : spark.read().schema(t.schema()).option("basePath", path.toString()).parquet(path.toString())
                .filter("audit_date = '" + date + "' and model = '" + model + "'").collectAsList()) {
            out.add(ResultTables.line(r, t.schema().fieldNames(), f -> f.endsWith("run_id") || f.endsWith("audit_date")));
        }
        out.sort(String::compareTo);
        return out;
    }

    private static Map<String, List<String>> statusesByRun(SparkSession spark, String date, String... model) {
        Path path = root.resolve(Table.RUNS.tableName());
        String filter = "audit_date = '" + date + "' and job = 'audit'"
                + (model.length == 0 ? "" : " and model = '" + model[0] + "'");
        Map<String, List<String>> out = new TreeMap<>();
        spark.read().schema(Table.RUNS.schema()).option("basePath", path.toString()).parquet(path.toString())
                .filter(filter).collectAsList()
                .forEach(r -> out.computeIfAbsent(r.getAs("run_id"), k -> new ArrayList<>()).add(r.getAs("status")));
        return out;
    }

    private static boolean holdsALease(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.anyMatch(f -> f.getFileName().toString().chars().allMatch(Character::isDigit));
        }
    }

    /** No staged output and no held lease remain once every audit has ended. */
    private static void assertNothingLeftOver() throws IOException {
        for (String dir : List.of("_staging", "_leases")) {
            Path p = root.resolve(dir);
            if (Files.exists(p)) {
                try (Stream<Path> files = Files.walk(p)) {
                    List<Path> left = files.filter(Files::isRegularFile).toList();
                    assertEquals(List.of(), left, dir + " left behind");
                }
            }
        }
    }
}
