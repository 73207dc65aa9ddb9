package io.candor.quant;

import io.candor.util.Seeds;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.List;
import java.util.SplittableRandom;

import static io.candor.quant.QuantParamsTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BatchNormFoldingTest {
    private static final long SEED = 2015_0211L;
    private static final double TOLERANCE = 1e-5;
    private static final int CLASSES = 3;
    private static final int HEIGHT = 6;
    private static final int WIDTH = 5;
    private static final int DEPTH = 2;

    @Test
    void denseFoldingScalesEachOutputColumnAndShiftsItsBias() {
        INDArray w = Nd4j.create(new double[][] {{1, 2}, {3, 4}, {5, 6}});
        INDArray b = Nd4j.create(new double[][] {{0.5, -1}});
        BatchNormStats bn = new BatchNormStats(new double[] {2, -1}, new double[] {0.1, 0.2},
                new double[] {1, -3}, new double[] {3, 0.25}, 1);
        BatchNormFolding.Folded f = BatchNormFolding.fold(w, b, ChannelAxis.DENSE, bn);
        double f0 = 2 / Math.sqrt(4);
        double f1 = -1 / Math.sqrt(1.25);
        assertArrayEquals(new long[] {3, 2}, f.weights().shape());
        for (int r = 0; r < 3; r++) {
            assertEquals(w.getDouble(r, 0) * f0, f.weights().getDouble(r, 0), 1e-15);
            assertEquals(w.getDouble(r, 1) * f1, f.weights().getDouble(r, 1), 1e-15);
        }
        assertArrayEquals(new long[] {1, 2}, f.bias().shape());
        assertEquals((0.5 - 1) * f0 + 0.1, f.bias().getDouble(0, 0), 1e-15);
        assertEquals((-1 + 3) * f1 + 0.2, f.bias().getDouble(0, 1), 1e-15);
        assertEquals(1.0, w.getDouble(0, 0), 0.0, "inputs are not modified");
        assertEquals(0.5, b.getDouble(0, 0), 0.0, "inputs are not modified");
    }

    @Test
    void convFoldingScalesEachFirstIndexAndAMissingBiasCountsAsZero() {
        INDArray w = Nd4j.ones(DataType.FLOAT, 2, 3, 2, 2);
        BatchNormStats bn = new BatchNormStats(new double[] {3, 0.5}, new double[] {1, 2},
                new double[] {4, -4}, new double[] {8, 0}, 1);
        BatchNormFolding.Folded f = BatchNormFolding.fold(w, null, ChannelAxis.CONV2D, bn);
        assertEquals(DataType.FLOAT, f.weights().dataType());
        assertArrayEquals(new long[] {2, 3, 2, 2}, f.weights().shape());
        assertEquals(1.0, f.weights().slice(0).minNumber().doubleValue(), 1e-7);
        assertEquals(1.0, f.weights().slice(0).maxNumber().doubleValue(), 1e-7);
        assertEquals(0.5, f.weights().slice(1).minNumber().doubleValue(), 1e-7);
        assertEquals(0.5, f.weights().slice(1).maxNumber().doubleValue(), 1e-7);
        assertArrayEquals(new long[] {1, 2}, f.bias().shape());
        assertEquals(-4 * 1.0 + 1, f.bias().getDouble(0, 0), 1e-6);
        assertEquals(4 * 0.5 + 2, f.bias().getDouble(0, 1), 1e-6);
    }

    @ParameterizedTest(name = "useLogStd={0}, lockGammaBeta={1}")
    @CsvSource({"true, false", "false, false", "true, true"})
    void foldingADenseLayerLeavesTheTrainedNetworkOutputUnchanged(boolean useLogStd, boolean lockGammaBeta) {
        int nIn = 7;
        int width = 6;
        BatchNormalization.Builder bn = new BatchNormalization.Builder().useLogStd(useLogStd);
        if (lockGammaBeta) {
            bn.lockGammaBeta(true).gamma(1.7).beta(-0.3);
        }
        MultiLayerNetwork net = network(InputType.feedForward(nIn),
                new DenseLayer.Builder().nOut(width).activation(Activation.IDENTITY).build(), bn.build());
        fit(net, nIn, 1);
        MultiLayerNetwork folded = network(InputType.feedForward(nIn),
                new DenseLayer.Builder().nOut(width).activation(Activation.IDENTITY).build(), null);
        assertFoldedNetworkAgrees(net, folded, ChannelAxis.DENSE, nIn, 2);
    }

    @Test
    void foldingAConvolutionLeavesTheTrainedNetworkOutputUnchanged() {
        int nIn = HEIGHT * WIDTH * DEPTH;
        InputType input = InputType.convolutionalFlat(HEIGHT, WIDTH, DEPTH);
        MultiLayerNetwork net = network(input, new ConvolutionLayer.Builder(3, 2).nOut(4)
                .activation(Activation.IDENTITY).build(), new BatchNormalization.Builder().build());
        fit(net, nIn, 3);
        MultiLayerNetwork folded = network(input, new ConvolutionLayer.Builder(3, 2).nOut(4)
                .activation(Activation.IDENTITY).build(), null);
        assertFoldedNetworkAgrees(net, folded, ChannelAxis.CONV2D, nIn, 4);
    }

    @Test
    void dl4jBatchNormalizationAppliesNoActivationAtInferenceSoTheFoldedLayerKeepsTheIdentity() {
        int nIn = 7;
        MultiLayerNetwork net = network(InputType.feedForward(nIn),
                new DenseLayer.Builder().nOut(6).activation(Activation.IDENTITY).build(),
                new BatchNormalization.Builder().activation(Activation.TANH).build());
        fit(net, nIn, 5);
        INDArray bnOut = net.feedForward(inputs(40, nIn, 6), false).get(2);
        assertTrue(bnOut.amaxNumber().doubleValue() > 1.0, "BN output leaves tanh's range: tanh was not applied");
    }

    @Test
    void mismatchedChannelCountsAreRejectedNamingThem() {
        BatchNormStats two = new BatchNormStats(new double[] {1, 1}, new double[] {0, 0}, new double[] {0, 0},
                new double[] {1, 1}, 1e-5);
        assertMessage(() -> BatchNormFolding.fold(Nd4j.ones(4, 3), null, ChannelAxis.DENSE, two),
                "batch norm: 2 channels after a layer with 3 output channels (weights [4, 3])");
        assertMessage(() -> BatchNormFolding.fold(Nd4j.ones(4, 2), Nd4j.ones(1, 3), ChannelAxis.DENSE, two),
                "bias: shape [1, 3]; expected 2 values");
        assertMessage(() -> BatchNormFolding.fold(Nd4j.ones(2, 3, 3), null, ChannelAxis.CONV2D, two),
                "weights: shape [2, 3, 3] for CONV2D; expected rank 4");
        assertMessage(() -> new BatchNormStats(new double[] {1, 1}, new double[] {0}, new double[] {0, 0},
                new double[] {1, 1}, 1e-5), "beta: 1 values; expected one value per channel, as many as gamma (2)");
        assertMessage(() -> new BatchNormStats(new double[] {1}, new double[] {0}, new double[] {0},
                new double[] {-1}, 0.5), "variance: channel 0 has variance -1.0 and eps 0.5");
        assertMessage(() -> new BatchNormStats(new double[] {1}, new double[] {0}, new double[] {Double.NaN},
                new double[] {1}, 0.5), "mean: channel 0 is NaN");
    }

    /**
     * Folds the BN layer (index 1) of {@code net} into layer 0 and copies the rest into {@code folded}, which lacks
     * the BN layer; the two must then agree in inference mode, while the unfolded weights must not.
     */
    private static void assertFoldedNetworkAgrees(MultiLayerNetwork net, MultiLayerNetwork folded, ChannelAxis axis,
            int nIn, long id) {
        BatchNormStats stats = BatchNormStats.of(net.getLayer(1));
        assertNonTrivial(stats);
        BatchNormFolding.Folded f = BatchNormFolding.fold(net.getLayer(0).getParam("W"),
                net.getLayer(0).getParam("b"), axis, stats);
        folded.getLayer(0).setParam("W", f.weights());
        folded.getLayer(0).setParam("b", f.bias());
        folded.getLayer(1).setParam("W", net.getLayer(2).getParam("W"));
        folded.getLayer(1).setParam("b", net.getLayer(2).getParam("b"));

        INDArray x = inputs(40, nIn, id);
        List<INDArray> original = net.feedForward(x, false);
        List<INDArray> foldedActs = folded.feedForward(x, false);
        assertClose(original.get(2), foldedActs.get(1), "activations after BN vs folded layer");
        assertClose(net.output(x, false), folded.output(x, false), "network outputs");

        folded.getLayer(0).setParam("W", net.getLayer(0).getParam("W"));
        folded.getLayer(0).setParam("b", net.getLayer(0).getParam("b"));
        double unfolded = folded.feedForward(x, false).get(1).sub(original.get(2)).amaxNumber().doubleValue();
        assertTrue(unfolded > 1e-2, "without folding the activations differ, by " + unfolded);
    }

    private static void assertNonTrivial(BatchNormStats stats) {
        double maxAbsMean = 0;
        double maxVarGap = 0;
        for (int c = 0; c < stats.channels(); c++) {
            maxAbsMean = Math.max(maxAbsMean, Math.abs(stats.mean()[c]));
            maxVarGap = Math.max(maxVarGap, Math.abs(stats.variance()[c] - 1));
        }
        assertTrue(maxAbsMean > 0.05, "running mean moved from 0: " + maxAbsMean);
        assertTrue(maxVarGap > 0.05, "running variance moved from 1: " + maxVarGap);
    }

    private static void assertClose(INDArray expected, INDArray actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what);
        double diff = expected.sub(actual).amaxNumber().doubleValue();
        assertTrue(diff <= TOLERANCE, what + " differ by " + diff);
    }

    /** Layer 0, then {@code bn} if not null, then a softmax output layer; built in double precision. */
    private static MultiLayerNetwork network(InputType input, Layer first, BatchNormalization bn) {
        NeuralNetConfiguration.ListBuilder layers = new NeuralNetConfiguration.Builder()
                .seed(SEED)
                .dataType(DataType.DOUBLE)
                .weightInit(WeightInit.XAVIER)
                .updater(new Adam(0.01))
                .list()
                .layer(first);
        if (bn != null) {
            layers.layer(bn);
        }
        MultiLayerConfiguration conf = layers
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(input)
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** A few minibatches so that γ, β and the running mean and variance move away from their initial values. */
    private static void fit(MultiLayerNetwork net, int nIn, long id) {
        for (int step = 0; step < 30; step++) {
            INDArray x = inputs(32, nIn, id, step);
            SplittableRandom rnd = Seeds.stream(SEED, id, step, 1);
            INDArray y = Nd4j.zeros(DataType.DOUBLE, 32, CLASSES);
            for (int r = 0; r < 32; r++) {
                y.putScalar(r, rnd.nextInt(CLASSES), 1.0);
            }
            net.fit(new DataSet(x, y));
        }
    }

    /** Inputs far from zero mean and unit variance, so that batch normalization has work to do. */
    private static INDArray inputs(int rows, int nIn, long... ids) {
        SplittableRandom rnd = Seeds.stream(SEED, ids);
        double[] v = new double[rows * nIn];
        for (int i = 0; i < v.length; i++) {
            v[i] = 1.5 + 3 * rnd.nextGaussian() + 0.1 * (i % nIn);
        }
        return Nd4j.create(v, new long[] {rows, nIn}, DataType.DOUBLE);
    }
}
