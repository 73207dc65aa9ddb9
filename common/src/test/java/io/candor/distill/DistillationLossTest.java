package io.candor.distill;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMSE;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DistillationLossTest {
    private static final int N = 6;
    private static final int K = 4;

    /** Teacher logits then a one-hot label per row, and student logits, in double. */
    private static INDArray[] batch(long seed, boolean classification) {
        SplittableRandom random = new SplittableRandom(seed);
        double[][] labels = new double[N][2 * K];
        double[][] z = new double[N][K];
        for (int i = 0; i < N; i++) {
            int y = random.nextInt(K);
            for (int j = 0; j < K; j++) {
                labels[i][j] = 3 * random.nextGaussian();
                labels[i][K + j] = classification ? (j == y ? 1 : 0) : random.nextGaussian();
                z[i][j] = 2 * random.nextGaussian();
            }
        }
        return new INDArray[] {Nd4j.create(labels), Nd4j.create(z)};
    }

    @Test
    void gradientMatchesCentralFiniteDifferences() {
        for (boolean classification : new boolean[] {true, false}) {
            for (double t : new double[] {0.5, 1, 2, 5}) {
                for (double alpha : new double[] {0, 0.3, 0.7, 1}) {
                    DistillationLoss loss = new DistillationLoss(t, alpha, classification);
                    INDArray[] b = batch((long) (t * 100 + alpha * 10), classification);
                    INDArray labels = b[0];
                    INDArray z = b[1];
                    double[] analytic = loss.computeGradient(labels, z, new ActivationIdentity(), null)
                            .data().asDouble();
                    double h = 1e-6;
                    for (int idx = 0; idx < N * K; idx++) {
                        INDArray plus = z.dup();
                        INDArray minus = z.dup();
                        plus.putScalar(idx, z.getDouble(idx) + h);
                        minus.putScalar(idx, z.getDouble(idx) - h);
                        double numeric = (loss.computeScore(labels, plus, new ActivationIdentity(), null, false)
                                - loss.computeScore(labels, minus, new ActivationIdentity(), null, false)) / (2 * h);
                        double rel = Math.abs(numeric - analytic[idx]) / Math.max(1e-8, Math.abs(numeric)
                                + Math.abs(analytic[idx]));
                        assertTrue(rel <= 1e-4 || Math.abs(numeric - analytic[idx]) < 1e-9, loss + " element " + idx
                                + ": analytic " + analytic[idx] + " vs numeric " + numeric);
                    }
                }
            }
        }
    }

    @Test
    void withAlphaZeroItIsPlainCrossEntropyAndMse() {
        INDArray[] b = batch(11, true);
        INDArray y = b[0].get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(K, 2 * K)).dup();
        DistillationLoss kd = new DistillationLoss(3, 0, true);
        LossMCXENT ce = new LossMCXENT();
        assertEquals(ce.computeScore(y, b[1].dup(), new ActivationSoftmax(), null, true),
                kd.computeScore(b[0], b[1], new ActivationIdentity(), null, true), 1e-10);
        assertArrayEquals(ce.computeGradient(y, b[1].dup(), new ActivationSoftmax(), null).data().asDouble(),
                kd.computeGradient(b[0], b[1], new ActivationIdentity(), null).data().asDouble(), 1e-10);

        INDArray[] r = batch(12, false);
        INDArray target = r[0].get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(K, 2 * K)).dup();
        assertEquals(new LossMSE().computeScore(target, r[1].dup(), new ActivationIdentity(), null, true),
                new DistillationLoss(1, 0, false).computeScore(r[0], r[1], new ActivationIdentity(), null, true),
                1e-10);
    }

    @Test
    void withUnitTemperatureAndAlphaOneTheMinimumIsTheTeachersDistribution() {
        INDArray[] b = batch(13, true);
        DistillationLoss loss = new DistillationLoss(1, 1, true);
        INDArray teacher = b[0].get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, K)).dup();
        INDArray atTeacher = teacher.add(7.5); // same distribution, shifted logits
        double best = loss.computeScore(b[0], atTeacher, new ActivationIdentity(), null, false);
        assertEquals(0.0, best, 1e-10, "KL of a distribution with itself");
        assertTrue(loss.computeGradient(b[0], atTeacher, new ActivationIdentity(), null).amaxNumber().doubleValue()
                < 1e-12, "zero gradient at the teacher's distribution");
        SplittableRandom random = new SplittableRandom(5);
        for (int trial = 0; trial < 200; trial++) {
            INDArray other = atTeacher.dup();
            for (int idx = 0; idx < N * K; idx++) {
                other.putScalar(idx, other.getDouble(idx) + 0.5 * random.nextGaussian());
            }
            assertTrue(loss.computeScore(b[0], other, new ActivationIdentity(), null, false) > best);
        }
    }

    @Test
    void serialisesWithTheLayerConfigurationAndRejectsBadSettings() {
        DistillationLoss loss = new DistillationLoss(4, 0.7, true);
        var conf = new NeuralNetConfiguration.Builder().list()
                .layer(new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder(loss).nIn(3).nOut(2)
                        .activation(new ActivationIdentity()).build()).build();
        var back = org.deeplearning4j.nn.conf.MultiLayerConfiguration.fromJson(conf.toJson());
        assertEquals(loss, ((org.deeplearning4j.nn.conf.layers.OutputLayer) back.getConf(0).getLayer()).getLossFn());
        assertThrows(IllegalArgumentException.class, () -> new DistillationLoss(0, 0.5, true));
        assertThrows(IllegalArgumentException.class, () -> new DistillationLoss(2, 1.5, true));
        assertThrows(IllegalArgumentException.class, () -> new DistillationLoss(2, -0.1, true));
        assertThrows(IllegalArgumentException.class, () -> loss.computeScore(Nd4j.zeros(DataType.DOUBLE, N, K),
                Nd4j.zeros(DataType.DOUBLE, N, K), new ActivationIdentity(), null, true));
    }
}
