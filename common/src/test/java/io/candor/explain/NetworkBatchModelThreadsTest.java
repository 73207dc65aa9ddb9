package io.candor.explain;

import io.candor.model.Network;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.blas.Blas;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The explainers' model gives the same bits whatever BLAS thread count the JVM runs with, which is what makes
 * explanations identical on a local driver and on a cluster's executors; and it hands the count back afterwards.
 * The batch is large (60,000 rows) because multi-threaded GEMM only splits, and so only reorders sums, for large
 * matrices.
 */
class NetworkBatchModelThreadsTest {
    private static final int INPUTS = 30;
    private static final int ROWS = 60_000;
    private final Blas blas = Nd4j.factory().blas();
    private final int threadsAtStart = blas.getMaxThreads();

    @AfterEach
    void restoreThreads() {
        blas.setMaxThreads(threadsAtStart);
    }

    @Test
    void outputsAreBitIdenticalToSingleThreadedBlasAndTheThreadCountIsRestored() throws Exception {
        MultiLayerNetwork network = network();
        double[] x = inputs();
        blas.setMaxThreads(1);
        double[] reference = network.convertDataType(DataType.DOUBLE)
                .output(Nd4j.create(x, new long[] {ROWS, INPUTS}, 'c')).dup('c').data().asDouble();

        int many = Math.max(2, threadsAtStart);
        blas.setMaxThreads(many);
        NetworkBatchModel model = new NetworkBatchModel(new Network(network), INPUTS, 2, null);
        assertArrayEquals(reference, model.predict(x, ROWS), 0.0);
        assertEquals(many, blas.getMaxThreads(), "BLAS thread count after predict");

        // Two tasks of one executor JVM at once: both single-threaded, the count restored after the last.
        NetworkBatchModel other = new NetworkBatchModel(new Network(network), INPUTS, 2, null);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<double[]> a = pool.submit(() -> model.predict(x, ROWS));
            Future<double[]> b = pool.submit(() -> other.predict(x, ROWS));
            assertArrayEquals(reference, a.get(), 0.0);
            assertArrayEquals(reference, b.get(), 0.0);
        } finally {
            pool.shutdown();
        }
        assertEquals(many, blas.getMaxThreads(), "BLAS thread count after concurrent predicts");
    }

    private static MultiLayerNetwork network() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().nIn(INPUTS).nOut(64).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nIn(64).nOut(64).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(64).nOut(2)
                        .activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork network = new MultiLayerNetwork(conf);
        network.init();
        return network;
    }

    private static double[] inputs() {
        SplittableRandom random = new SplittableRandom(11);
        double[] x = new double[ROWS * INPUTS];
        for (int i = 0; i < x.length; i++) {
            x[i] = random.nextGaussian();
        }
        return x;
    }
}
