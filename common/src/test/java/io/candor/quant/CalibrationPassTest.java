package io.candor.quant;

import io.candor.config.ConfLoader;
import io.candor.data.PreparedData;
import io.candor.model.Network;
import io.candor.model.NetworkFactory;
import io.candor.testing.TestSpark;
import io.candor.config.CandorConf;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Calibrated ranges are global: equal to one pass over all rows at once, whatever the partitioning. */
class CalibrationPassTest {
    static PreparedData data;
    static MultiLayerNetwork network;
    static byte[] zip;
    static double[][] reference;
    static double inputMin = Double.POSITIVE_INFINITY;
    static double inputMax = Double.NEGATIVE_INFINITY;

    @BeforeAll
    static void setUp() {
        CandorConf conf = new ConfLoader().load(TestSpark.sampleConf("breast_cancer"),
                List.of("dataset.path=" + TestSpark.sample("breast_cancer.csv")));
        data = PreparedData.prepare(TestSpark.session(), conf.dataset(), conf.seed());
        network = NetworkFactory.build(conf.model(), conf.train(),
                new NetworkFactory.Shape(30, 2, true, new int[] {0, 0, 0}), 7);
        zip = new Network(network).toBytes();
        // Reference: every row in one forward pass, every layer's output values sorted.
        List<Row> rows = data.frame().select("features").collectAsList();
        float[] flat = new float[rows.size() * 30];
        for (int i = 0; i < rows.size(); i++) {
            double[] v = ((Vector) rows.get(i).get(0)).toArray();
            for (int j = 0; j < 30; j++) {
                flat[i * 30 + j] = (float) v[j];
                inputMin = Math.min(inputMin, flat[i * 30 + j]);
                inputMax = Math.max(inputMax, flat[i * 30 + j]);
            }
        }
        List<INDArray> activations = Network.fromBytes(zip, "reference").multiLayer()
                .feedForward(Nd4j.create(flat, new long[] {rows.size(), 30}, 'c'), false);
        reference = new double[network.getnLayers()][];
        for (int l = 0; l < reference.length; l++) {
            reference[l] = activations.get(l + 1).castTo(DataType.DOUBLE).data().asDouble();
            Arrays.sort(reference[l]);
        }
    }

    @Test
    void minMaxRangesEqualOnePassOverAllRowsForAnyPartitioning() {
        for (int partitions : new int[] {1, 3, 7}) {
            Dataset<Row> rows = data.frame().repartition(partitions);
            CalibrationPass.Ranges result = CalibrationPass.run(TestSpark.session(), rows, zip,
                    new CalibrationPass.Options(CalibrationPass.Method.MIN_MAX, 100, 2048, 64));
            List<CalibrationPass.LayerRange> ranges = result.layers();
            assertEquals(-1, result.input().layer());
            assertEquals("input", result.input().type());
            assertEquals(inputMin, result.input().min(), 1e-6, "input min");
            assertEquals(inputMax, result.input().max(), 1e-6, "input max");
            assertEquals(3, ranges.size(), "two dense layers and the output");
            for (CalibrationPass.LayerRange r : ranges) {
                double[] values = reference[r.layer()];
                // Float activations can differ in the last bits with the batch they ran in.
                assertEquals(values[0], r.min(), 1e-5, "layer " + r.layer() + " min, " + partitions + " partitions");
                assertEquals(values[values.length - 1], r.max(), 1e-5, "layer " + r.layer() + " max");
                assertEquals(values.length, r.values());
            }
            assertEquals("DenseLayer", ranges.get(0).type());
            assertEquals(0.0, ranges.get(0).params().fakeQuant(0.0, 0), 0.0, "0 is exactly representable");
        }
    }

    @Test
    void percentileRangesClipOutliersToWithinOneBin() {
        int bins = 4096;
        double p = 99.0;
        List<CalibrationPass.LayerRange> ranges = CalibrationPass.run(TestSpark.session(), data.frame().repartition(3),
                zip, new CalibrationPass.Options(CalibrationPass.Method.PERCENTILE, p, bins, 50)).layers();
        for (CalibrationPass.LayerRange r : ranges) {
            double[] values = reference[r.layer()];
            double binWidth = (values[values.length - 1] - values[0]) / bins;
            int tail = (int) Math.floor(values.length * (100 - p) / 100);
            double exactLow = values[tail];
            double exactHigh = values[values.length - 1 - tail];
            assertTrue(Math.abs(r.min() - exactLow) <= binWidth + 1e-5, "layer " + r.layer() + " low " + r.min()
                    + " vs exact " + exactLow);
            assertTrue(Math.abs(r.max() - exactHigh) <= binWidth + 1e-5, "layer " + r.layer() + " high " + r.max()
                    + " vs exact " + exactHigh);
            assertTrue(r.max() - r.min() < values[values.length - 1] - values[0], "outliers are clipped");
        }
    }

    @Test
    void badOptionsAreRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> new CalibrationPass.Options(CalibrationPass.Method.PERCENTILE, 40, 2048, 64));
        assertThrows(IllegalArgumentException.class,
                () -> new CalibrationPass.Options(CalibrationPass.Method.MIN_MAX, 100, 1, 64));
    }

    @Test
    void aCalibrationSetWithoutRowsIsAnInputError() {
        io.candor.util.InputException e = org.junit.jupiter.api.Assertions.assertThrows(
                io.candor.util.InputException.class, () -> CalibrationPass.run(TestSpark.session(),
                        data.frame().limit(0), zip, new CalibrationPass.Options(CalibrationPass.Method.MIN_MAX,
                                100, 16, 8)));
        assertTrue(e.getMessage().contains("no rows"), e.getMessage());
    }
}
