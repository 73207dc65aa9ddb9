package io.candor.data;

import io.candor.config.ConfLoader;
import io.candor.testing.TestSpark;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PreparedDataTest {
    @TempDir
    Path dir;

    private static DatasetSpec spec(String dataset, String... overrides) {
        List<String> all = new ArrayList<>(List.of("dataset.path=" + TestSpark.sample(dataset + ".csv")));
        all.addAll(List.of(overrides));
        return new ConfLoader().load(TestSpark.sampleConf(dataset), all).dataset();
    }

    private static Map<Long, double[]> features(PreparedData data) {
        Map<Long, double[]> byId = new HashMap<>();
        for (Row r : data.frame().select("row_id", "features").collectAsList()) {
            byId.put(r.getLong(0), ((Vector) r.get(1)).toArray());
        }
        return byId;
    }

    @Test
    void categoricalColumnsBecomeOneGroupEachOnAdult() {
        PreparedData adult = PreparedData.prepare(TestSpark.session(), spec("adult"), 42);
        FeatureLayout layout = adult.featurizer().layout();
        List<String> groupNames = layout.groups().stream().map(FeatureGroup::name).toList();
        assertEquals(List.of("age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
                "occupation", "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week",
                "native_country"), groupNames, "one group per source column, in file order");
        FeatureGroup workclass = layout.groups().get(1);
        assertTrue(workclass.indices().size() > 5);
        for (int i : workclass.indices()) {
            assertTrue(layout.names().get(i).startsWith("workclass="), layout.names().get(i));
        }
        // '?' is imputed as a category of its own, visible by name.
        assertTrue(layout.names().contains("workclass=(missing)"), layout.names().toString());
        int covered = layout.groups().stream().mapToInt(g -> g.indices().size()).sum();
        assertEquals(layout.size(), covered, "groups partition the input vector");
        assertEquals(List.of("<=50K", ">50K"), adult.classes());
        assertEquals(32561, adult.rows());
    }

    @Test
    void splitIsDeterministicAndNearTheConfiguredFraction() {
        SparkSession spark = TestSpark.session();
        PreparedData a = PreparedData.prepare(spark, spec("breast_cancer"), 7);
        PreparedData b = PreparedData.prepare(spark, spec("breast_cancer"), 7);
        PreparedData c = PreparedData.prepare(spark, spec("breast_cancer"), 8);
        List<Row> splitA = a.frame().select("row_id", "split").orderBy("row_id").collectAsList();
        assertEquals(splitA, b.frame().select("row_id", "split").orderBy("row_id").collectAsList());
        assertTrue(!splitA.equals(c.frame().select("row_id", "split").orderBy("row_id").collectAsList()),
                "another seed gives another split");
        double fraction = a.testRows() / (double) a.rows();
        assertTrue(fraction > 0.14 && fraction < 0.26, "test fraction " + fraction);
    }

    @Test
    void normaliserIsFittedOnTheTrainingSplitOnly() {
        PreparedData data = PreparedData.prepare(TestSpark.session(), spec("wine"), 42);
        List<Row> train = data.split(PreparedData.TRAIN).select("features").collectAsList();
        double sum = 0;
        double squares = 0;
        for (Row r : train) {
            double x = ((Vector) r.get(0)).apply(0);
            sum += x;
            squares += x * x;
        }
        double mean = sum / train.size();
        double variance = (squares - train.size() * mean * mean) / (train.size() - 1);
        assertEquals(0.0, mean, 1e-9);
        assertEquals(1.0, variance, 1e-9);
    }

    @Test
    void parquetInputGivesTheSameFeaturesAsCsv() {
        SparkSession spark = TestSpark.session();
        String parquet = dir.resolve("bc.parquet").toString();
        spark.read().option("header", "true").option("inferSchema", "true")
                .csv(TestSpark.sample("breast_cancer.csv").toString()).coalesce(1).write().parquet(parquet);
        PreparedData fromCsv = PreparedData.prepare(spark, spec("breast_cancer"), 42);
        PreparedData fromParquet = PreparedData.prepare(spark, spec("breast_cancer", "dataset.path=" + parquet), 42);
        assertEquals(fromCsv.rows(), fromParquet.rows());
        assertEquals(fromCsv.featurizer().layout(), fromParquet.featurizer().layout());
        Map<Long, double[]> a = features(fromCsv);
        Map<Long, double[]> b = features(fromParquet);
        assertEquals(a.keySet(), b.keySet());
        for (long id : a.keySet()) {
            assertArrayEquals(a.get(id), b.get(id), 1e-12, "row " + id);
        }
    }

    @Test
    void missingValuesAreDroppedOrImputedAsConfigured() throws IOException {
        Path csv = dir.resolve("gaps.csv");
        StringBuilder text = new StringBuilder("x,colour,target\n");
        for (int i = 0; i < 40; i++) {
            String x = i % 10 == 3 ? "?" : String.valueOf(i);
            String colour = i % 10 == 5 ? "" : (i % 2 == 0 ? "red" : "blue");
            text.append(x).append(',').append(colour).append(',').append(i % 2).append('\n');
        }
        Files.writeString(csv, text);
        SparkSession spark = TestSpark.session();
        List<String> base = List.of("dataset.path=" + csv, "dataset.categorical=[colour]", "dataset.normalize=false");

        List<String> drop = new ArrayList<>(base);
        drop.add("dataset.missing.policy=drop");
        PreparedData dropped = PreparedData.prepare(spark, new ConfLoader().load(TestSpark.sampleConf("breast_cancer"),
                drop).dataset(), 42);
        assertEquals(32, dropped.rows(), "rows 3, 13, 23, 33 lack x; rows 5, 15, 25, 35 lack colour");

        List<String> impute = new ArrayList<>(base);
        impute.add("dataset.missing.policy=impute");
        PreparedData imputed = PreparedData.prepare(spark, new ConfLoader().load(TestSpark.sampleConf("breast_cancer"),
                impute).dataset(), 42);
        assertEquals(40, imputed.rows());
        assertTrue(imputed.featurizer().layout().names().contains("colour=(missing)"));
        Map<Long, double[]> f = features(imputed);
        List<Row> trainIds = imputed.split(PreparedData.TRAIN).select("row_id").collectAsList();
        double sum = 0;
        int n = 0;
        for (Row r : trainIds) {
            long id = r.getLong(0);
            if (id % 10 != 3) {
                sum += id; // x equals the row id where present
                n++;
            }
        }
        assertEquals(sum / n, f.get(3L)[0], 1e-9, "a missing x takes the training mean");
        assertEquals(sum / n, f.get(13L)[0], 1e-9, "every missing x takes the same training mean");
        assertEquals(14.0, f.get(14L)[0], 0.0, "present values are untouched");
        assertEquals(0, imputed.frame().filter(col("label").isNull()).count());
    }
}
