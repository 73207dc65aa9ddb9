package io.candor.explain;

import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * What a Spark application brings to the library stages: its own DataFrame ({@code row_id}, a {@code features}
 * vector of 5 Gaussian inputs, a binary {@code label} = [x0 + 0.5 x1 x2 − 0.3 x3 &gt; 0], so x4 is noise) and its own
 * DL4J network trained on it in plain Java.
 */
record ApplicationData(Dataset<Row> frame, MultiLayerNetwork network) {
    static final int ROWS = 200;
    static final int FEATURES = 5;
    static final int CLASSES = 2;

    static ApplicationData create(SparkSession spark) {
        SplittableRandom random = new SplittableRandom(3);
        List<Row> rows = new ArrayList<>();
        double[][] x = new double[ROWS][FEATURES];
        double[][] y = new double[ROWS][CLASSES];
        for (int i = 0; i < ROWS; i++) {
            for (int j = 0; j < FEATURES; j++) {
                x[i][j] = random.nextGaussian();
            }
            int label = x[i][0] + 0.5 * x[i][1] * x[i][2] - 0.3 * x[i][3] > 0 ? 1 : 0;
            y[i][label] = 1;
            rows.add(RowFactory.create((long) i, Vectors.dense(x[i]), (double) label));
        }
        StructType schema = new StructType().add("row_id", DataTypes.LongType, false)
                .add("features", SQLDataTypes.VectorType(), false).add("label", DataTypes.DoubleType, false);
        return new ApplicationData(spark.createDataFrame(rows, schema), trainedNetwork(x, y));
    }

    private static MultiLayerNetwork trainedNetwork(double[][] x, double[][] y) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.FLOAT)
                .updater(new Adam(0.01)).list()
                .layer(new DenseLayer.Builder().nIn(FEATURES).nOut(8).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(8).nOut(CLASSES)
                        .activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        DataSet train = new DataSet(Nd4j.create(x).castTo(DataType.FLOAT), Nd4j.create(y).castTo(DataType.FLOAT));
        for (int epoch = 0; epoch < 20; epoch++) {
            net.fit(train);
        }
        return net;
    }
}
