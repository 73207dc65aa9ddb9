package io.candor.quant;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.candor.config.CandorConf;
import io.candor.data.Featurizer;
import io.candor.data.PreparedData;
import io.candor.data.TabularReader;
import io.candor.model.ModelArtifact;
import io.candor.store.Table;
import io.candor.store.TableWriter;
import io.candor.testing.TestSpark;
import io.candor.train.Evaluator;
import io.candor.train.Metrics;
import io.candor.train.TrainWorkflow;
import io.candor.train.TrainWorkflowTestSupport;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import scala.Tuple3;

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code candor qat} end to end on the bundled datasets: accuracy, agreement, size, and the distributed path. */
class QatWorkflowTest {
    @TempDir
    static java.nio.file.Path out;

    /** One fp32 model per dataset, trained once for every test of this class. */
    private static final Map<String, Double> FP32_TEST_ACCURACY = new HashMap<>();

    static synchronized CandorConf trained(String dataset, String... overrides) {
        if (!FP32_TEST_ACCURACY.containsKey(dataset)) {
            TrainWorkflow.Outcome fp32 = TrainWorkflow.run(TestSpark.session(),
                    TrainWorkflowTestSupport.conf(dataset, out));
            FP32_TEST_ACCURACY.put(dataset, fp32.metrics().get("test").get("accuracy"));
        }
        return TrainWorkflowTestSupport.conf(dataset, out, overrides);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"breast_cancer", "wine", "digits", "adult"})
    void int8QatStaysWithinOnePointOfFp32AndAgreesWithItsSimulation(String dataset) throws Exception {
        SparkSession spark = TestSpark.session();
        CandorConf conf = trained(dataset, "qat.epochs=2");
        QatWorkflow.Outcome qat = QatWorkflow.run(spark, conf);

        double fp32 = qat.fp32Metrics().get("test").get("accuracy");
        double int8 = qat.metrics().get("test").get("accuracy");
        assertEquals(FP32_TEST_ACCURACY.get(dataset), fp32, 1e-9, "the source model is the trained one");
        assertTrue(Math.abs(int8 - fp32) <= 0.01, dataset + ": int8 " + int8 + " vs fp32 " + fp32);
        assertTrue(qat.agreement() >= 0.995, dataset + ": integer vs fake-quant agreement " + qat.agreement());
        assertTrue(qat.meanAbsDifference() <= 0.02, dataset + ": mean |p diff| " + qat.meanAbsDifference());
        assertTrue(qat.training().multiWorkerRounds() >= 1, "fine-tuning averaged across >= 2 workers");
        assertEquals(3, qat.training().calibrations(), "calibrated before fine-tuning and after each epoch");
        double ratio = (double) qat.integerModelBytes() / qat.fp32ParameterBytes();
        if (dataset.equals("digits") || dataset.equals("adult")) {
            assertTrue(ratio <= 0.30, dataset + ": integer model is " + ratio + " of the fp32 parameter bytes");
        }

        Path dir = new Path(qat.artifactPath());
        assertEquals("teacher-int8", dir.getName());
        for (String file : List.of(ModelArtifact.NETWORK, ModelArtifact.METADATA, QatWorkflow.INTEGER_MODEL,
                QatWorkflow.ONNX_MODEL)) {
            assertTrue(Files.exists(Paths.get(dir.toString()).resolve(file)), file + " in the artifact");
        }
        TableWriter tables = new TableWriter(spark, conf.outputRoot());
        long layers = tables.read(Table.QUANTIZATION).filter(col("model").equalTo(dataset)
                .and(col("variant").equalTo("teacher-int8"))).count();
        assertEquals(dataset.equals("digits") ? 4 : 3, layers, "one quantization row per weighted layer");
        assertEquals(1, tables.read(Table.MODEL_METRICS).filter(col("model").equalTo(dataset)
                .and(col("variant").equalTo("teacher-int8")).and(col("split").equalTo("test"))
                .and(col("metric").equalTo("accuracy")).and(col("bits").equalTo(8))).count());

        if (dataset.equals("digits") || dataset.equals("breast_cancer")) {
            onnxRuntimeAgreesWithTheFakeQuantTwin(spark, conf, dir);
        }
    }

    @Test
    void aPlainDl4jZipWithTheFeatureSpecInTheConfCanBeQuantized() {
        CandorConf trainedConf = trained("breast_cancer");
        String zip = ModelArtifact.directory(trainedConf, "teacher-fp32") + "/"
                + ModelArtifact.NETWORK;
        QatWorkflow.Outcome ptq = QatWorkflow.run(TestSpark.session(), trained("breast_cancer",
                "qat.source=" + zip, "qat.mode=ptq", "qat.calibration=percentile", "model.name=bc_zip"));
        assertEquals("teacher-int8-ptq", ptq.variant());
        double fp32 = ptq.fp32Metrics().get("test").get("accuracy");
        assertEquals(FP32_TEST_ACCURACY.get("breast_cancer"), fp32, 1e-9, "same features, same split");
        assertTrue(Math.abs(ptq.metrics().get("test").get("accuracy") - fp32) <= 0.01);
        assertTrue(ptq.artifactPath().contains("bc_zip"), ptq.artifactPath());
    }

    /** The exported QDQ model, run by ONNX Runtime on the test rows, predicts what the DL4J twin predicts. */
    private static void onnxRuntimeAgreesWithTheFakeQuantTwin(SparkSession spark, CandorConf conf, Path dir)
            throws Exception {
        ModelArtifact artifact = ModelArtifact.load(spark, dir);
        PreparedData data = PreparedData.prepareFor(spark, conf.dataset(), io.candor.explain.ExplainInputs.splitSeed(artifact, conf), artifact.featurizer(),
                artifact.metadata().classes(), "twin");
        int width = artifact.metadata().featureNames().size();
        List<Tuple3<Long, Double, double[]>> twin = TrainWorkflowTestSupport.byRowId(Evaluator.predict(spark,
                artifact.networkZip(), data.split(PreparedData.TEST), width, true, data.featurizer().normalizer()));
        List<Row> rows = data.split(PreparedData.TEST).orderBy(TabularReader.ROW_ID)
                .select(Featurizer.FEATURES).collectAsList();
        float[][] features = new float[rows.size()][width];
        for (int i = 0; i < rows.size(); i++) {
            Vector v = (Vector) rows.get(i).get(0);
            for (int j = 0; j < width; j++) {
                features[i][j] = (float) v.apply(j);
            }
        }
        byte[] onnx = Files.readAllBytes(Paths.get(dir.toString()).resolve(QatWorkflow.ONNX_MODEL));
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        float[][] probabilities;
        try (OrtSession session = env.createSession(onnx, new OrtSession.SessionOptions());
             OnnxTensor input = OnnxTensor.createTensor(env, features);
             OrtSession.Result result = session.run(Map.of("features", input))) {
            probabilities = (float[][]) result.get("outputs").orElseThrow().getValue();
        }
        int same = 0;
        double diff = 0;
        for (int i = 0; i < rows.size(); i++) {
            double[] o = new double[probabilities[i].length];
            for (int j = 0; j < o.length; j++) {
                o[j] = probabilities[i][j];
                diff += Math.abs(o[j] - twin.get(i)._3()[j]);
            }
            same += Metrics.argmax(o, 0, o.length) == Metrics.argmax(twin.get(i)._3(), 0, o.length) ? 1 : 0;
        }
        double agreement = (double) same / rows.size();
        double meanDiff = diff / (rows.size() * (double) probabilities[0].length);
        assertTrue(agreement >= 0.995, "ONNX Runtime vs fake-quant agreement " + agreement);
        assertTrue(meanDiff <= 0.02, "ONNX Runtime vs fake-quant mean |p diff| " + meanDiff);
    }

    /**
     * Measured on digits (fp32 0.979): at 4 bits PTQ loses 0 to 1 point depending on the trained weights (0.979, and
     * 0.970 after a change of minibatch order) and QAT recovers it (0.982); at 3 bits PTQ 0.967, QAT 0.979; at 2 bits
     * PTQ collapses (0.410) and QAT recovers most of it (0.837). So the 4-bit bar is "QAT closes at least half of PTQ's
     * gap to fp32 and is no worse than 1 point below fp32", and the 2-bit bar is a 20-point margin.
     */
    @Test
    void qatBeatsPostTrainingQuantizationOnDigitsAtLowBitWidths() {
        SparkSession spark = TestSpark.session();
        QatWorkflow.Outcome ptq4 = QatWorkflow.run(spark, trained("digits", "qat.bits=4", "qat.mode=ptq"));
        QatWorkflow.Outcome qat4 = QatWorkflow.run(spark, trained("digits", "qat.bits=4", "qat.epochs=3"));
        double fp32 = qat4.fp32Metrics().get("test").get("accuracy");
        double ptq4Accuracy = ptq4.metrics().get("test").get("accuracy");
        double qat4Accuracy = qat4.metrics().get("test").get("accuracy");
        assertEquals("teacher-int4-ptq", ptq4.variant());
        assertEquals("teacher-int4", qat4.variant());
        assertEquals(0, ptq4.training().averagingRounds(), "PTQ does not train");
        // QAT closes at least half of the gap PTQ opens below fp32, give or take one of the 332 test rows.
        assertTrue(qat4Accuracy - ptq4Accuracy >= 0.5 * (fp32 - ptq4Accuracy) - 0.0035,
                "4-bit QAT " + qat4Accuracy + " vs PTQ " + ptq4Accuracy + " (fp32 " + fp32 + ")");
        assertTrue(qat4Accuracy >= fp32 - 0.01, "4-bit QAT " + qat4Accuracy + " vs fp32 " + fp32);
        double ratio = (double) qat4.integerModelBytes() / qat4.fp32ParameterBytes();
        assertTrue(ratio <= 0.17, "4-bit integer model is " + ratio + " of the fp32 parameter bytes");

        QatWorkflow.Outcome ptq2 = QatWorkflow.run(spark, trained("digits", "qat.bits=2", "qat.mode=ptq"));
        QatWorkflow.Outcome qat2 = QatWorkflow.run(spark, trained("digits", "qat.bits=2", "qat.epochs=3"));
        double ptq2Accuracy = ptq2.metrics().get("test").get("accuracy");
        double qat2Accuracy = qat2.metrics().get("test").get("accuracy");
        assertTrue(qat2Accuracy >= ptq2Accuracy + 0.20, "2-bit QAT " + qat2Accuracy + " vs PTQ " + ptq2Accuracy);
        assertTrue(qat2.integerModelBytes() < qat4.integerModelBytes(), "2-bit weights pack tighter than 4-bit");
    }
}
