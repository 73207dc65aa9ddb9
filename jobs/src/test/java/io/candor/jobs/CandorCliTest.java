package io.candor.jobs;

import io.candor.testing.TestSpark;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CandorCliTest {
    @TempDir
    Path out;

    @Test
    void helpIsAvailableForTheCommandAndEachSubcommand() {
        CliRun top = CliRun.of("--help");
        assertEquals(0, top.exitCode());
        assertTrue(top.out().contains("train") && top.out().contains("Exit codes"), top.out());
        CliRun train = CliRun.of("train", "--help");
        assertEquals(0, train.exitCode());
        assertTrue(train.out().contains("--conf") && train.out().contains("--set"), train.out());
        CliRun audit = CliRun.of("audit", "--help");
        assertEquals(0, audit.exitCode());
        for (String option : java.util.List.of("--conf", "--set", "--date", "--force", "--help", "--version",
                "Exit code 4")) {
            assertTrue(audit.out().contains(option), "audit --help lacks " + option + ":\n" + audit.out());
        }
    }

    @Test
    void trainPrintsMetricsAndWritesReadableTables() {
        SparkSession spark = TestSpark.session();
        CliRun run = CliRun.of("train", "--conf", TestSpark.sampleConf("breast_cancer").toString(),
                "--set", "dataset.path=" + TestSpark.sample("breast_cancer.csv"),
                "--set", "output.root=" + out, "--set", "train.epochs=3", "--date", "2026-11-20");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("test   accuracy"), run.out());
        assertTrue(run.out().contains("table:  " + out.resolve("model_metrics")), run.out());
        assertTrue(run.out().contains("table:  " + out.resolve("runs")), run.out());

        List<Row> runs = spark.read().parquet(out.resolve("runs").toString()).collectAsList();
        assertEquals(1, runs.size());
        Row r = runs.get(0);
        assertEquals("succeeded", r.getString(r.fieldIndex("status")));
        assertEquals("2026-11-20", r.get(r.fieldIndex("audit_date")).toString());
        assertEquals(569L, r.getLong(r.fieldIndex("rows")));
        long metrics = spark.read().parquet(out.resolve("model_metrics").toString())
                .filter("audit_date = '2026-11-20' and model = 'breast_cancer' and variant = 'teacher-fp32'").count();
        assertTrue(metrics >= 8, "metrics rows: " + metrics);
    }

    @Test
    void importanceRunsAfterTrainAndBadGroupsExitTwo() {
        String[] common = {"--conf", TestSpark.sampleConf("wine").toString(),
                "--set", "dataset.path=" + TestSpark.sample("wine.csv"), "--set", "output.root=" + out,
                "--set", "train.epochs=3", "--set", "importance.n-repeats=2"};
        assertEquals(0, CliRun.of(concat("train", common)).exitCode());
        CliRun run = CliRun.of(concat("importance", common));
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("wine/teacher-fp32: top features by log_loss"), run.out());
        assertTrue(run.out().contains("table:  " + out.resolve("permutation_importance")), run.out());

        CliRun shapley = CliRun.of(concat("shapley", concat("--set", concat("shapley.sample-rows=5",
                concat("--set", concat("shapley.sage.rows=60", concat("--set",
                        concat("shapley.sage.max-permutation-pairs=128", common))))))));
        assertEquals(0, shapley.exitCode(), shapley.err());
        assertTrue(shapley.out().contains("wine/teacher-fp32: 15 (row, output) explanations by kernel_shap"),
                shapley.out());
        assertTrue(shapley.out().contains("table:  " + out.resolve("shapley_global")), shapley.out());

        CliRun bad = CliRun.of(concat("importance", concat("--set", concat("importance.groups.g=[nope]", common))));
        assertEquals(2, bad.exitCode());
        assertTrue(bad.err().contains("'nope' is not an input of model wine"), bad.err());

        CliRun help = CliRun.of("bench", "importance", "--help");
        assertEquals(0, help.exitCode());
        assertTrue(help.out().contains("explainer efficiency"), help.out());
    }

    @Test
    void benchScaleRunsThePipelineOnGeneratedDataAndCleansUp(@TempDir Path tmp) throws Exception {
        Path work = tmp.resolve("scale");
        CliRun run = CliRun.of("bench", "scale", "--conf", TestSpark.projectRoot().resolve("conf/bench/scale.conf")
                .toString(), "--sizes", "300,600", "--features", "4", "--work-dir", work.toString(),
                "--set", "shapley.sample-rows=3", "--set", "shapley.sage.rows=100",
                "--set", "shapley.sage.max-permutation-pairs=64", "--set", "importance.n-repeats=1");
        assertEquals(0, run.exitCode(), run.err());
        for (String size : List.of("         300", "         600")) {
            assertTrue(run.out().lines().anyMatch(l -> l.startsWith(size) && l.contains("MiB")), run.out());
        }
        assertTrue(run.out().contains("slope:") && run.out().contains("time per row, largest / second-largest size"),
                run.out());
        try (var left = Files.list(work)) {
            assertEquals(List.of(), left.filter(p -> p.getFileName().toString().startsWith("rows-")).toList(),
                    "each size's data and tables are deleted after it");
        }
    }

    private static String[] concat(String first, String... rest) {
        String[] all = new String[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }
}
