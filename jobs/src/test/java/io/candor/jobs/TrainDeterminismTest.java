package io.candor.jobs;

import io.candor.testing.TestSpark;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Training is a function of the conf, the data and the master: {@code candor train} on the digits sample conf, twice on
 * the same master, writes the same network, byte for byte, and the same {@code model_metrics}, value for value. Five of
 * the conf's 20 epochs: 30 averaging rounds and five reshuffles are as many chances for a stray random draw or an
 * order-dependent sum to show, at a quarter of the cost.
 */
class TrainDeterminismTest {
    @TempDir
    Path out;

    @Test
    void twoTrainRunsOnTheSameMasterWriteIdenticalNetworksAndMetrics() throws Exception {
        byte[] first = train("first");
        byte[] second = train("second");
        assertTrue(first.length > 10_000, "a trained digits network: " + first.length + " bytes");
        assertArrayEquals(first, second, "network.zip of the two runs");
        assertEquals(metrics("first"), metrics("second"), "model_metrics of the two runs, run ids aside");
    }

    private byte[] train(String run) throws Exception {
        Path root = out.resolve(run);
        CliRun r = CliRun.of("train", "--conf", TestSpark.sampleConf("digits").toString(),
                "--set", "dataset.path=" + TestSpark.sample("digits.csv"), "--set", "output.root=" + root,
                "--set", "train.epochs=5", "--date", "2026-11-23");
        assertEquals(0, r.exitCode(), r.out() + r.err());
        return Files.readAllBytes(root.resolve("models/digits/teacher-fp32/network.zip"));
    }

    private List<String> metrics(String run) {
        List<String> rows = new ArrayList<>();
        for (Row r : TestSpark.session().read().parquet(out.resolve(run).resolve("model_metrics").toString())
                .drop("run_id").collectAsList()) {
            rows.add(r.toString());
        }
        rows.sort(String::compareTo);
        assertEquals(6, rows.size(), "3 metrics on each of train and test: " + rows);
        return rows;
    }
}
