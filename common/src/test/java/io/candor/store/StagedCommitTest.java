package io.candor.store;

import io.candor.testing.TestSpark;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Staged tables appear all at once; a run that dies before or during its commit is handled by recovery, and recovery
 * leaves the staged output of a run that is still going alone.
 */
class StagedCommitTest {
    @TempDir
    java.nio.file.Path root;

    private static List<Row> metrics(String runId, String date, String variant, double value) {
        List<Row> rows = new ArrayList<>();
        for (String metric : List.of("accuracy", "log_loss")) {
            rows.add(RowFactory.create(runId, "test", metric, value, 10L, 100L, 50L, 32, date, "m", variant));
        }
        return rows;
    }

    private static List<Row> run(String runId, String date) {
        return List.of(RowFactory.create(runId, "audit", "m", "", new java.sql.Timestamp(0), new java.sql.Timestamp(0),
                "passed", "conf", "sha", "data", 1L, "fp", 1L, "app", "local", "v", "cpu", date));
    }

    private List<String> values(SparkSession spark) {
        return new TableWriter(spark, root.toString()).read(Table.MODEL_METRICS)
                .selectExpr("concat_ws('/', cast(audit_date as string), variant, metric, cast(value as string), run_id)")
                .as(org.apache.spark.sql.Encoders.STRING()).collectAsList().stream().sorted().toList();
    }

    private static final String KEY = "audit/m/2026-01-01";

    /** Day 1 committed; day 2 and a replacement of day 1's variant a staged by run "r2", holding {@link #KEY}. */
    private SparkSession twoRuns() {
        SparkSession spark = TestSpark.session();
        StagedCommit.begin(spark, root.toString(), "r2", KEY);
        TableWriter direct = new TableWriter(spark, root.toString());
        direct.write(Table.MODEL_METRICS, concat(metrics("r1", "2026-01-01", "a", 0.5),
                metrics("r1", "2026-01-01", "b", 0.6)));
        direct.write(Table.RUNS, run("r1", "2026-01-01"));
        TableWriter staged = new TableWriter(spark, StagedCommit.stagingRoot(root.toString(), "r2"));
        staged.write(Table.MODEL_METRICS, concat(metrics("r2", "2026-01-01", "a", 0.7),
                metrics("r2", "2026-01-02", "a", 0.8)));
        staged.write(Table.RUNS, run("r2", "2026-01-01"));
        return spark;
    }

    @Test
    void stagedTablesChangeNothingUntilTheCommitThenReplaceOnlyTheirPartitions() throws Exception {
        SparkSession spark = twoRuns();
        List<String> before = values(spark);
        assertEquals(List.of("2026-01-01/a/accuracy/0.5/r1", "2026-01-01/a/log_loss/0.5/r1",
                "2026-01-01/b/accuracy/0.6/r1", "2026-01-01/b/log_loss/0.6/r1"), before);

        StagedCommit.commit(spark, root.toString(), "r2");
        assertEquals(List.of("2026-01-01/a/accuracy/0.7/r2", "2026-01-01/a/log_loss/0.7/r2",
                "2026-01-01/b/accuracy/0.6/r1", "2026-01-01/b/log_loss/0.6/r1", "2026-01-02/a/accuracy/0.8/r2",
                "2026-01-02/a/log_loss/0.8/r2"), values(spark), "a replaced, b kept, day 2 added");
        assertEquals(2, new TableWriter(spark, root.toString()).read(Table.RUNS).count(), "runs is appended to");
        assertFalse(Files.exists(root.resolve(StagedCommit.STAGING).resolve("r2")), "staging removed");
    }

    @Test
    void aRunThatDiedBeforeItsCommitIsDiscarded() {
        SparkSession spark = twoRuns();
        List<String> before = values(spark);
        try (RunLease next = RunLease.acquire(spark.sparkContext().hadoopConfiguration(), root.toString(), KEY, "r3")) {
            assertEquals(List.of(), StagedCommit.recover(spark, root.toString(), next));
        }
        assertEquals(before, values(spark));
        assertFalse(Files.exists(root.resolve(StagedCommit.STAGING).resolve("r2")));
    }

    @Test
    void recoveryLeavesTheStagingOfALiveRunOfAnotherKeyAlone() {
        SparkSession spark = twoRuns();
        var hadoop = spark.sparkContext().hadoopConfiguration();
        java.nio.file.Path staged = root.resolve(StagedCommit.STAGING).resolve("r2");
        try (RunLease live = RunLease.acquire(hadoop, root.toString(), KEY, "r2")) {
            try (RunLease other = RunLease.acquire(hadoop, root.toString(), "audit/other/2026-01-01", "r3")) {
                assertEquals(List.of(), StagedCommit.recover(spark, root.toString(), other));
            }
            assertTrue(Files.isDirectory(staged.resolve(Table.MODEL_METRICS.tableName())), "r2 still staging");
        }
        // r2's key is free now, so what it left is an orphan: the next recovery of any key removes it.
        try (RunLease other = RunLease.acquire(hadoop, root.toString(), "audit/other/2026-01-01", "r4")) {
            StagedCommit.recover(spark, root.toString(), other);
        }
        assertFalse(Files.exists(staged));
    }

    @Test
    void aRunThatDiedDuringItsCommitIsRolledForward() throws Exception {
        SparkSession spark = twoRuns();
        // Die after the commit marker and the first table: model_metrics moved, runs not yet.
        Path staging = new Path(StagedCommit.stagingRoot(root.toString(), "r2"));
        FileSystem fs = staging.getFileSystem(spark.sparkContext().hadoopConfiguration());
        fs.create(new Path(staging, StagedCommit.MARKER)).close();
        StagedCommit.interruptedAfterFirstTable(spark, root.toString(), "r2", Table.MODEL_METRICS);
        assertEquals(1, new TableWriter(spark, root.toString()).read(Table.RUNS).count());

        try (RunLease next = RunLease.acquire(spark.sparkContext().hadoopConfiguration(), root.toString(), KEY, "r3")) {
            assertEquals(List.of("r2"), StagedCommit.recover(spark, root.toString(), next));
        }
        assertEquals(6, values(spark).size());
        assertTrue(values(spark).contains("2026-01-01/a/accuracy/0.7/r2"));
        assertEquals(2, new TableWriter(spark, root.toString()).read(Table.RUNS).count(), "the rest moved in");
        assertFalse(Files.exists(root.resolve(StagedCommit.STAGING).resolve("r2")));
    }

    private static List<Row> concat(List<Row> a, List<Row> b) {
        List<Row> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
