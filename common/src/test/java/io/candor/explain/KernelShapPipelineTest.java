package io.candor.explain;

import io.candor.testing.TestSpark;
import io.candor.util.InputException;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import scala.collection.JavaConverters;
import scala.collection.Seq;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Spark application's use of {@link KernelShap}: its own DataFrame and DL4J network ({@link ApplicationData}), with
 * no Candor conf or artifact. The fitted Pipeline saves and loads
 * back giving the same bits, values add up to the prediction, partitioning does not change them, and transform runs
 * no job before an action.
 */
class KernelShapPipelineTest {
    private static final int ROWS = ApplicationData.ROWS;
    private static final int FEATURES = ApplicationData.FEATURES;
    private static final int CLASSES = ApplicationData.CLASSES;
    /** Below 2^5 - 2 = 30 coalitions, so KernelSHAP samples and the (seed, row id) draws matter. */
    private static final int MAX_COALITIONS = 16;
    private static final int BACKGROUND = 8;

    private static SparkSession spark;
    private static Dataset<Row> data;
    private static MultiLayerNetwork network;

    @BeforeAll
    static void applicationData() {
        spark = TestSpark.session();
        ApplicationData app = ApplicationData.create(spark);
        data = app.frame();
        network = app.network();
    }

    private static KernelShap kernelShap() {
        return new KernelShap().setNetwork(network).setMaxCoalitions(MAX_COALITIONS).setBackgroundSize(BACKGROUND)
                .setSeed(11);
    }

    @Test
    void savedPipelineLoadsBackAndGivesTheSameValuesAddingUpToThePrediction(@TempDir Path dir) throws Exception {
        PipelineModel fitted = new Pipeline().setStages(new PipelineStage[] {kernelShap()}).fit(data);
        Map<Long, List<double[]>> before = values(fitted.transform(data));

        String path = dir.resolve("kernel-shap-pipeline").toString();
        fitted.write().overwrite().save(path);
        PipelineModel loaded = PipelineModel.load(path);
        Map<Long, List<double[]>> after = values(loaded.transform(data));

        assertEquals(ROWS, before.size(), "rows explained");
        assertBitIdentical(before, after, "after save and load");
        for (Map.Entry<Long, List<double[]>> e : before.entrySet()) {
            List<double[]> r = e.getValue();
            for (int o = 0; o < CLASSES; o++) {
                double[] phi = r.get(o);
                double base = r.get(CLASSES)[o];
                double prediction = r.get(CLASSES + 1)[o];
                double sum = base;
                for (double v : phi) {
                    sum += v;
                }
                assertEquals(prediction, sum, 1e-9, "row " + e.getKey() + " output " + o + ": base + Σφ");
                assertEquals(FEATURES, phi.length, "values per output");
            }
        }
        // The prediction column is the network's own output (computed in double, the network trained in float).
        double[] p0 = network.output(Nd4j.create(new double[][] {firstFeatures()}).castTo(DataType.FLOAT))
                .castTo(DataType.DOUBLE).toDoubleVector();
        assertEquals(p0[1], before.get(0L).get(CLASSES + 1)[1], 1e-5, "row 0 prediction against the network");
    }

    @Test
    void unfittedStageSavesWithItsParamsAndNetwork(@TempDir Path dir) throws Exception {
        KernelShap stage = kernelShap().setOutputs(1).setOutputCol("phi");
        String path = dir.resolve("kernel-shap").toString();
        stage.save(path);
        KernelShap loaded = KernelShap.load(path);
        assertEquals(stage.uid(), loaded.uid(), "uid");
        assertEquals(List.of(stage.getFeaturesCol(), stage.getIdCol(), stage.getOutputCol(), stage.getSeed(),
                        stage.getMaxCoalitions(), stage.getBackgroundSize(), stage.getBatchValues()),
                List.of(loaded.getFeaturesCol(), loaded.getIdCol(), loaded.getOutputCol(), loaded.getSeed(),
                        loaded.getMaxCoalitions(), loaded.getBackgroundSize(), loaded.getBatchValues()), "params");
        assertEquals("[1]", java.util.Arrays.toString(loaded.getOutputs()), "outputs");
        assertTrue(loaded.hasNetwork(), "network loaded");
        KernelShapModel a = stage.fit(data);
        KernelShapModel b = loaded.fit(data);
        assertTrue(java.util.Arrays.deepEquals(a.backgroundRows(), b.backgroundRows()), "background rows");
        assertTrue(java.util.Arrays.equals(a.backgroundWeights(), b.backgroundWeights()), "background weights");
    }

    @Test
    void repartitionedInputGivesTheSameBits() {
        KernelShapModel model = kernelShap().fit(data);
        Map<Long, List<double[]>> one = values(model.transform(data.coalesce(1)));
        Map<Long, List<double[]>> five = values(model.transform(data.repartition(5, col("label"))));
        assertBitIdentical(one, five, "one partition against five");
    }

    @Test
    void transformRunsNoJobBeforeAnAction() throws Exception {
        KernelShapModel model = kernelShap().setOutputs(1).fit(data);
        AtomicInteger jobs = new AtomicInteger();
        SparkListener counter = new SparkListener() {
            @Override
            public void onJobStart(SparkListenerJobStart jobStart) {
                jobs.incrementAndGet();
            }
        };
        spark.sparkContext().listenerBus().waitUntilEmpty();
        spark.sparkContext().addSparkListener(counter);
        try {
            Dataset<Row> explained = model.transform(data.repartition(3));
            spark.sparkContext().listenerBus().waitUntilEmpty();
            assertEquals(0, jobs.get(), "jobs run by transform");
            assertEquals(List.of("row_id", "features", "label", "shap_values", "shap_base", "shap_prediction"),
                    List.of(explained.columns()), "columns");
            List<Row> rows = explained.select("shap_values").collectAsList();
            assertEquals(ROWS, rows.size(), "rows after the action");
            assertEquals(1, rows.get(0).getList(0).size(), "explained outputs (setOutputs(1))");
            spark.sparkContext().listenerBus().waitUntilEmpty();
            assertTrue(jobs.get() > 0, "the listener sees the action's jobs");
        } finally {
            spark.sparkContext().removeSparkListener(counter);
        }
    }

    @Test
    void knobParamsTakeTheirDefaultAndDocFromTheKnobs() {
        KernelShap stage = new KernelShap();
        assertEquals(io.candor.config.Knobs.RUN_SEED.defaultValue(), stage.getSeed(), "seed");
        assertEquals(io.candor.config.Knobs.SHAPLEY_MAX_COALITIONS.defaultValue(), stage.getMaxCoalitions(),
                "maxCoalitions");
        assertEquals(io.candor.config.Knobs.SHAPLEY_BACKGROUND_SIZE.defaultValue(), stage.getBackgroundSize(),
                "backgroundSize");
        assertEquals(io.candor.config.Knobs.SHAPLEY_BATCH_VALUES.defaultValue(), stage.getBatchValues(),
                "batchValues");
        assertEquals(0, stage.getOutputs().length, "outputs (empty: every output)");
        assertEquals(io.candor.config.Knobs.SHAPLEY_MAX_COALITIONS.doc(), stage.maxCoalitions().doc(), "doc");
        assertEquals(List.of("features", "row_id", "shap_values"),
                List.of(stage.getFeaturesCol(), stage.getIdCol(), stage.getOutputCol()), "column defaults");
    }

    @Test
    void missingFeaturesColumnIsRejectedByName() {
        KernelShap stage = kernelShap().setFeaturesCol("inputs");
        InputException e = assertThrows(InputException.class, () -> stage.transformSchema(data.schema()));
        assertTrue(e.getMessage().contains("featuresCol \"inputs\" is not a column of the input"), e.getMessage());
        assertTrue(e.getMessage().contains("row_id, features, label"), e.getMessage());
        InputException id = assertThrows(InputException.class,
                () -> kernelShap().setIdCol("id").transformSchema(data.schema()));
        assertTrue(id.getMessage().contains("idCol \"id\" is not a column of the input"), id.getMessage());
    }

    private static double[] firstFeatures() {
        Row first = data.where(col("row_id").equalTo(0L)).first();
        return ((org.apache.spark.ml.linalg.Vector) first.get(1)).toArray();
    }

    /** Row id to [φ of each output..., base per output, prediction per output]. */
    private static Map<Long, List<double[]>> values(Dataset<Row> explained) {
        Map<Long, List<double[]>> out = new TreeMap<>();
        for (Row r : explained.select("row_id", "shap_values", "shap_base", "shap_prediction").collectAsList()) {
            List<double[]> parts = new ArrayList<>();
            for (Seq<Double> phi : r.<Seq<Double>>getList(1)) {
                parts.add(doubles(JavaConverters.seqAsJavaList(phi)));
            }
            parts.add(doubles(r.getList(2)));
            parts.add(doubles(r.getList(3)));
            out.put(r.getLong(0), parts);
        }
        return out;
    }

    private static double[] doubles(List<?> values) {
        return values.stream().mapToDouble(v -> (Double) v).toArray();
    }

    private static void assertBitIdentical(Map<Long, List<double[]>> a, Map<Long, List<double[]>> b, String what) {
        assertEquals(a.keySet(), b.keySet(), what + ": row ids");
        for (Long id : a.keySet()) {
            List<double[]> x = a.get(id);
            List<double[]> y = b.get(id);
            assertEquals(x.size(), y.size(), what + ": row " + id);
            for (int k = 0; k < x.size(); k++) {
                assertEquals(x.get(k).length, y.get(k).length, what + ": row " + id + " part " + k);
                for (int j = 0; j < x.get(k).length; j++) {
                    assertEquals(Double.doubleToRawLongBits(x.get(k)[j]), Double.doubleToRawLongBits(y.get(k)[j]),
                            what + ": row " + id + " part " + k + " value " + j);
                }
            }
        }
    }
}
