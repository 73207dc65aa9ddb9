package io.candor.train;

import io.candor.data.PreparedData;
import io.candor.store.Table;
import io.candor.store.TableWriter;
import io.candor.testing.TestSpark;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Trains through the real distributed path (local[2], two partitions, parameter averaging): two workers really average,
 * many times, and the metrics table holds what the run reported. The sample confs' floors, through the command line,
 * are {@code SampleConfsTest}'s (jobs); here a loose floor per dataset guards the library path.
 */
class TrainWorkflowTest {
    @TempDir
    Path out;

    @ParameterizedTest(name = "{0}: test {1} >= {2}")
    @CsvSource({
            "breast_cancer, accuracy, 0.95",
            "diabetes, r2, 0.40"})
    void distributedTrainingReachesTheAccuracyFloor(String dataset, String metric, double floor) {
        SparkSession spark = TestSpark.session();
        TrainWorkflow.Outcome outcome = TrainWorkflow.run(spark, TrainWorkflowTestSupport.conf(dataset, out));

        double value = outcome.metrics().get(PreparedData.TEST).get(metric);
        System.out.printf("%s: test %s = %.4f (floor %.2f); %s%n", dataset, metric, value, floor, outcome.trace());
        assertTrue(value >= floor, dataset + " test " + metric + " " + value + " is below " + floor);

        // Parameter averaging really combined two workers, many times.
        assertEquals(2, outcome.trace().maxWorkersInRound(), "workers in a round");
        assertTrue(outcome.trace().multiWorkerRounds() >= 2, "averaging rounds across 2 workers: " + outcome.trace());

        // The metrics table holds exactly what the run reported, for this model and variant.
        TableWriter tables = new TableWriter(spark, out.toString());
        List<Row> rows = tables.read(Table.MODEL_METRICS)
                .filter(col("split").equalTo("test").and(col("metric").equalTo(metric))).collectAsList();
        assertEquals(1, rows.size());
        assertEquals(value, rows.get(0).getDouble(rows.get(0).fieldIndex("value")), 0.0);
        assertEquals(dataset, rows.get(0).getString(rows.get(0).fieldIndex("model")));
        assertEquals(1, tables.read(Table.RUNS).count());
    }
}
