package io.candor.explain;

import io.candor.testing.TestSpark;
import io.candor.util.InputException;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link PermutationImportance} on an application's own DataFrame and network ({@link ApplicationData}): the label's
 * driving feature ranks first and the noise feature's interval covers zero, partitioning and a save and load do not
 * change a bit, and bad rows fail naming the row.
 */
class PermutationImportanceNetworkTest {
    private static SparkSession spark;
    private static ApplicationData app;

    @BeforeAll
    static void applicationData() {
        spark = TestSpark.session();
        app = ApplicationData.create(spark);
    }

    private static PermutationImportance importance() {
        return new PermutationImportance().setNetwork(app.network()).setIdCol("row_id").setNRepeats(8).setSeed(9);
    }

    private static Map<String, ImportanceResult> byFeature(List<ImportanceResult> results, String metric) {
        return results.stream().filter(r -> r.metric().equals(metric))
                .collect(Collectors.toMap(ImportanceResult::feature, r -> r));
    }

    @Test
    void theDrivingFeatureRanksFirstAndTheNoiseFeatureCoversZero() {
        List<ImportanceResult> results = importance().analyze(app.frame());
        assertEquals(5 * 4, results.size(), "5 features x (accuracy, log_loss, macro_f1, auc)");
        Map<String, ImportanceResult> logLoss = byFeature(results, "log_loss");
        assertEquals(1, logLoss.get("features[0]").rank(), "x0 drives the label: " + logLoss);
        ImportanceResult noise = logLoss.get("features[4]");
        assertTrue(noise.mean() < 0.2 * logLoss.get("features[0]").mean(), "noise x4 " + noise);
        assertTrue(noise.ciLow() <= 0.01, "x4's interval reaches zero: " + noise);
        assertEquals(ApplicationData.ROWS, noise.rows());

        List<ImportanceResult> grouped = importance().setGroups("interaction=1,2").analyze(app.frame());
        assertEquals(List.of("features[0]", "features[3]", "features[4]", "interaction"),
                byFeature(grouped, "accuracy").keySet().stream().sorted().toList());
    }

    @Test
    void resultsDoNotDependOnPartitioningOrASaveAndLoad(@TempDir Path dir) throws Exception {
        List<ImportanceResult> one = importance().analyze(app.frame().coalesce(1));
        List<ImportanceResult> five = importance().analyze(app.frame().repartition(5, col("label")));
        assertEquals(one, five, "exact mode, 1 vs 5 partitions");

        String path = dir.resolve("importance").toString();
        importance().write().overwrite().save(path);
        PermutationImportance loaded = PermutationImportance.load(path);
        assertEquals(one, loaded.analyze(app.frame()), "after save and load");
        assertEquals(one.size(), loaded.transform(app.frame()).count(), "transform: one row per result");
    }

    @Test
    void badRowsFailNamingTheRow() {
        InputException range = assertThrows(InputException.class, () -> importance()
                .analyze(app.frame().withColumn("label", col("label").plus(col("row_id").equalTo(7).cast("int")
                        .multiply(5)))));
        assertTrue(range.getMessage().contains("row 7 ") && range.getMessage().contains("a class index 0..1"),
                range.getMessage());
        InputException noFeatures = assertThrows(InputException.class,
                () -> importance().setFeaturesCol("x").analyze(app.frame()));
        assertTrue(noFeatures.getMessage().contains("featuresCol \"x\" is not a column"), noFeatures.getMessage());
        InputException noModel = assertThrows(InputException.class,
                () -> new PermutationImportance().analyze(app.frame()));
        assertTrue(noModel.getMessage().contains("expected setNetwork"), noModel.getMessage());
    }
}
