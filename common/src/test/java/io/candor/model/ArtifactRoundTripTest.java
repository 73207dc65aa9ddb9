package io.candor.model;

import io.candor.config.CandorConf;
import io.candor.data.PreparedData;
import io.candor.testing.TestSpark;
import io.candor.train.Evaluator;
import io.candor.train.TrainWorkflow;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.Tuple3;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.candor.train.TrainWorkflowTestSupport.byRowId;
import static io.candor.train.TrainWorkflowTestSupport.conf;
import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A saved artifact, loaded back as a Spark ML model and applied to the raw CSV, reproduces the training run's
 * predictions bit for bit; and training is deterministic for a seed.
 */
class ArtifactRoundTripTest {
    @TempDir
    static Path out;
    static TrainWorkflow.Outcome first;

    @BeforeAll
    static void train() {
        first = TrainWorkflow.run(TestSpark.session(), conf("breast_cancer", out, "train.epochs=5"));
    }

    @Test
    void loadedArtifactGivesBitIdenticalPredictions() {
        SparkSession spark = TestSpark.session();
        ModelArtifact loaded = ModelArtifact.load(spark, new org.apache.hadoop.fs.Path(first.artifactPath()));
        PreparedData data = PreparedData.prepare(spark, conf("breast_cancer", out, "train.epochs=5").dataset(), 42);
        List<Tuple3<Long, Double, double[]>> again = byRowId(Evaluator.predict(spark, loaded.networkZip(),
                data.split(PreparedData.TEST), data.featurizer().layout().size(), true,
                loaded.metadata().normalizer()));
        List<Tuple3<Long, Double, double[]>> original = byRowId(first.predictions().get(PreparedData.TEST));
        assertTrue(original.size() > 50);
        assertEquals(original.size(), again.size());
        for (int i = 0; i < original.size(); i++) {
            assertEquals(original.get(i)._1(), again.get(i)._1());
            assertArrayEquals(original.get(i)._3(), again.get(i)._3(), 0.0, "row " + original.get(i)._1());
        }
    }

    /**
     * The Spark ML face: the artifact applied to the raw CSV (its own pipeline, normaliser and network) agrees with
     * the run. Not bit for bit: a row's output may differ in the last float bits when it is batched with other rows,
     * because BLAS picks its summation order by matrix shape.
     */
    @Test
    void sparkMlModelReproducesPredictionsOnRawData() {
        SparkSession spark = TestSpark.session();
        CandorModel model = CandorModel.load(spark, first.artifactPath());
        Dataset<Row> raw = spark.read().option("header", "true").option("inferSchema", "true")
                .csv(TestSpark.sample("breast_cancer.csv").toString());
        List<Row> scored = model.transform(raw).select("probability", "prediction").collectAsList();
        for (Tuple3<Long, Double, double[]> test : byRowId(first.predictions().get(PreparedData.TEST))) {
            int rowId = (int) (long) test._1(); // row ids are file positions
            Vector p = (Vector) scored.get(rowId).get(0);
            for (int j = 0; j < p.size(); j++) {
                assertEquals(test._3()[j], p.apply(j), 1e-6, "row " + rowId + " class " + j);
            }
            assertEquals(p.argmax(), scored.get(rowId).getDouble(1), 0.0);
        }
    }

    @Test
    void sameSeedTrainsTheSameModel() {
        TrainWorkflow.Outcome second = TrainWorkflow.run(TestSpark.session(),
                conf("breast_cancer", out.resolve("again"), "train.epochs=5"));
        for (String split : List.of(PreparedData.TRAIN, PreparedData.TEST)) {
            first.metrics().get(split).forEach((metric, value) ->
                    assertEquals(value, second.metrics().get(split).get(metric), 1e-6, split + " " + metric));
        }
    }

    @Test
    void artifactRecordsLayoutNormaliserAndProvenance() {
        ModelArtifact artifact = ModelArtifact.load(TestSpark.session(), new org.apache.hadoop.fs.Path(first.artifactPath()));
        ArtifactMetadata m = artifact.metadata();
        assertEquals(30, m.featureNames().size());
        assertEquals(30, m.groups().size());
        assertEquals(List.of("0", "1"), m.classes());
        assertEquals("teacher-fp32", m.variant());
        assertEquals(first.parameterCount(), m.parameterCount());
        Map<String, String> provenance = new HashMap<>(m.provenance());
        assertEquals(first.runId(), provenance.get("run_id"));
        assertEquals(64, provenance.get("data_fingerprint").length());
        assertTrue(Integer.parseInt(provenance.get("training.multi_worker_rounds")) > 0);
        // The normaliser was fitted on the training split: standardised training features have mean ~0.
        assertTrue(Math.abs(m.normMean()[0] - 14.1) < 0.5, "mean radius " + m.normMean()[0]);
    }
}
