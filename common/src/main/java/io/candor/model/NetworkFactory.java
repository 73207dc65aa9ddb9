package io.candor.model;

import io.candor.train.TrainSpec;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.Locale;

/**
 * Builds the DL4J network a conf describes: dense layers for tabular data, or a small convolutional network over
 * flat image rows (channels × height × width), with a softmax (classification) or identity (regression) output.
 */
public final class NetworkFactory {
    private NetworkFactory() {
    }

    /** The shape of the network's input and output. */
    public record Shape(int inputs, int outputs, boolean classification, int[] imageShape) {
    }

    public static MultiLayerConfiguration configuration(ModelSpec model, TrainSpec train, Shape shape, long seed) {
        Activation activation = Activation.valueOf(model.activation().toUpperCase(Locale.ROOT));
        NeuralNetConfiguration.ListBuilder layers = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(DataType.FLOAT)
                .weightInit(activation == Activation.RELU || activation == Activation.LEAKYRELU
                        ? WeightInit.RELU : WeightInit.XAVIER)
                .updater(updater(train))
                .l2(train.l2())
                .list();

        if (model.architecture() == ModelSpec.Architecture.CONV) {
            int[] s = shape.imageShape();
            int height = s[1];
            int width = s[2];
            for (int filters : model.convFilters()) {
                layers.layer(new ConvolutionLayer.Builder(model.convKernel(), model.convKernel())
                        .nOut(filters).stride(1, 1).convolutionMode(ConvolutionMode.Same)
                        .activation(activation).build());
                if (height >= 4 && width >= 4) {
                    layers.layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX)
                            .kernelSize(2, 2).stride(2, 2).build());
                    height /= 2;
                    width /= 2;
                }
            }
        }
        for (int width : model.hidden()) {
            DenseLayer.Builder dense = new DenseLayer.Builder().nOut(width).activation(activation);
            if (model.dropout() > 0) {
                dense.dropOut(1.0 - model.dropout()); // DL4J takes the retain probability
            }
            layers.layer(dense.build());
        }
        layers.layer(shape.classification()
                ? new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).activation(Activation.SOFTMAX)
                        .nOut(shape.outputs()).build()
                : new OutputLayer.Builder(LossFunctions.LossFunction.MSE).activation(Activation.IDENTITY)
                        .nOut(shape.outputs()).build());

        if (model.architecture() == ModelSpec.Architecture.CONV) {
            int[] s = shape.imageShape();
            layers.setInputType(InputType.convolutionalFlat(s[1], s[2], s[0]));
        } else {
            layers.setInputType(InputType.feedForward(shape.inputs()));
        }
        return layers.build();
    }

    public static MultiLayerNetwork build(ModelSpec model, TrainSpec train, Shape shape, long seed) {
        MultiLayerNetwork network = new MultiLayerNetwork(configuration(model, train, shape, seed));
        network.init();
        return network;
    }

    private static IUpdater updater(TrainSpec train) {
        return switch (train.updater()) {
            case ADAM -> new Adam(train.learningRate());
            case SGD -> new Sgd(train.learningRate());
            case NESTEROVS -> new Nesterovs(train.learningRate(), 0.9);
        };
    }
}
