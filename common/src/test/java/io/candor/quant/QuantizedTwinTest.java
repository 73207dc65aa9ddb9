package io.candor.quant;

import io.candor.model.Network;
import io.candor.quant.intmodel.ActivationQuant;
import io.candor.util.InputException;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuantizedTwinTest {
    static MultiLayerNetwork dense() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().nOut(16).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(6)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    static void calibrateByHand(MultiLayerNetwork twin) {
        QuantizedTwin.applyRanges(twin, new CalibrationPass.LayerRange(-1, "input", -3, 3, 1),
                List.of(new CalibrationPass.LayerRange(0, "DenseLayer", 0, 4, 1),
                        new CalibrationPass.LayerRange(1, "OutputLayer", 0, 1, 1)));
    }

    @Test
    void twinSurvivesTheDl4jZipRoundTripWithItsRanges() {
        MultiLayerNetwork twin = QuantizedTwin.of(dense(), 8, "test");
        calibrateByHand(twin);
        INDArray x = Nd4j.rand(DataType.FLOAT, 20, 6).subi(0.5).muli(6);
        MultiLayerNetwork loaded = Network.fromBytes(new Network(twin).toBytes(), "twin").multiLayer();
        assertTrue(QuantizedTwin.isTwin(loaded));
        assertEquals(8, QuantizedTwin.bits(loaded));
        assertEquals(QuantizedTwin.input(twin).quant(), QuantizedTwin.input(loaded).quant());
        assertArrayEquals(twin.output(x).data().asFloat(), loaded.output(x).data().asFloat(), 0f);
        assertEquals(twin.getLayerWiseConfigurations(),
                MultiLayerConfiguration.fromJson(twin.getLayerWiseConfigurations().toJson()), "JSON round trip");
    }

    @Test
    void hiddenOutputsLieOnTheUint8GridOfTheirRange() {
        MultiLayerNetwork twin = QuantizedTwin.of(dense(), 8, "test");
        calibrateByHand(twin);
        INDArray x = Nd4j.rand(DataType.FLOAT, 50, 6).subi(0.5).muli(6);
        INDArray hidden = twin.feedForward(x, false).get(1);
        ActivationQuant q = ((FakeQuantActivation) ((org.deeplearning4j.nn.conf.layers.BaseLayer) twin.getLayer(0)
                .conf().getLayer()).getActivationFn()).quant();
        for (float v : hidden.data().asFloat()) {
            double steps = v / q.scale() + q.zeroPoint();
            assertEquals(Math.rint(steps), steps, 1e-3, "value " + v + " is on the grid");
            assertTrue(v >= 0 && v <= q.dequantize(255) + 1e-6, "ReLU output clipped to [0, max]: " + v);
        }
        // The observing copy computes the unquantized activations, which calibration needs.
        INDArray observed = QuantizedTwin.observing(twin).feedForward(x, false).get(1);
        assertTrue(observed.sub(hidden).amaxNumber().doubleValue() > 0, "observing copy skips activation rounding");
        assertEquals(hidden, twin.feedForward(x, false).get(1), "and leaves the twin quantizing");
    }

    @Test
    void straightThroughGradientIsIdentityInsideAndZeroOutsideTheRange() {
        FakeQuantActivation fq = new FakeQuantActivation(new ActivationIdentity());
        fq.quantizeWith(new ActivationQuant(2f / 255, 128)); // about [-1.004, 0.996]
        INDArray in = Nd4j.createFromArray(new float[] {-2f, -0.5f, 0f, 0.5f, 0.99f, 1.5f}).reshape(1, 6);
        INDArray grad = fq.backprop(in.dup(), Nd4j.ones(DataType.FLOAT, 1, 6).muli(3)).getFirst();
        assertArrayEquals(new float[] {0f, 3f, 3f, 3f, 3f, 0f}, grad.toFloatVector(), 0f);
    }

    @Test
    void batchNormAndActivationLayerFoldIntoTheDenseLayer() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(5).dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().nOut(8).activation(Activation.IDENTITY).build())
                .layer(new BatchNormalization.Builder().build())
                .layer(new ActivationLayer.Builder().activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(2)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(4)).build();
        MultiLayerNetwork fp32 = new MultiLayerNetwork(conf);
        fp32.init();
        // Statistics far from identity, so an unfolded or wrongly folded network would be far off.
        fp32.getLayer(1).setParam("mean", Nd4j.linspace(-2, 2, 8, DataType.FLOAT).reshape(fp32.getLayer(1).getParam("mean").shape()));
        fp32.getLayer(1).setParam("var", Nd4j.linspace(0.5, 4, 8, DataType.FLOAT).reshape(fp32.getLayer(1).getParam("mean").shape()));
        fp32.getLayer(1).setParam("gamma", Nd4j.linspace(0.5, 2, 8, DataType.FLOAT).reshape(fp32.getLayer(1).getParam("mean").shape()));
        fp32.getLayer(1).setParam("beta", Nd4j.linspace(-1, 1, 8, DataType.FLOAT).reshape(fp32.getLayer(1).getParam("mean").shape()));
        MultiLayerNetwork twin = QuantizedTwin.observing(QuantizedTwin.of(fp32, 8, "bn"));
        assertEquals(2, twin.getnLayers(), "BN and the activation layer are folded away");
        INDArray x = Nd4j.rand(DataType.FLOAT, 64, 4).subi(0.5).muli(4);
        double gap = fp32.output(x).sub(twin.output(x)).amaxNumber().doubleValue();
        assertTrue(gap < 0.02, "only 8-bit weight rounding separates them: " + gap);
    }

    @Test
    void layersCandorCannotQuantizeAreNamed() {
        MultiLayerConfiguration lstm = new NeuralNetConfiguration.Builder().list()
                .layer(new LSTM.Builder().nIn(3).nOut(4).build())
                .layer(new RnnOutputLayer.Builder().nIn(4).nOut(2).activation(Activation.SOFTMAX).build()).build();
        MultiLayerNetwork rnn = new MultiLayerNetwork(lstm);
        rnn.init();
        InputException e = assertThrows(InputException.class, () -> QuantizedTwin.of(rnn, 8, "rnn.zip"));
        assertTrue(e.getMessage().contains("rnn.zip layer 0 (LSTM)"), e.getMessage());

        MultiLayerConfiguration tanh = new NeuralNetConfiguration.Builder().list()
                .layer(new DenseLayer.Builder().nIn(3).nOut(4).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder().nIn(4).nOut(2).activation(Activation.SOFTMAX).build()).build();
        MultiLayerNetwork t = new MultiLayerNetwork(tanh);
        t.init();
        e = assertThrows(InputException.class, () -> QuantizedTwin.of(t, 8, "tanh.zip"));
        assertTrue(e.getMessage().contains("layer 0 (DenseLayer)") && e.getMessage().contains("RELU or IDENTITY"),
                e.getMessage());

        MultiLayerConfiguration avg = new NeuralNetConfiguration.Builder().list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(2).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.AVG).kernelSize(2, 2).build())
                .layer(new OutputLayer.Builder().nOut(2).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutionalFlat(8, 8, 1)).build();
        MultiLayerNetwork a = new MultiLayerNetwork(avg);
        a.init();
        e = assertThrows(InputException.class, () -> QuantizedTwin.of(a, 8, "avg.zip"));
        assertTrue(e.getMessage().contains("layer 1 (SubsamplingLayer)") && e.getMessage().contains("MAX"),
                e.getMessage());

        e = assertThrows(InputException.class, () -> QuantizedTwin.of(dense(), 9, "x"));
        assertTrue(e.getMessage().contains("bits: 9"), e.getMessage());
        assertThrows(InputException.class, () -> QuantizedTwin.of(dense(), 1, "x"));
    }

    @Test
    void vectorisedTwinArithmeticEqualsTheScalarQuantParamsArithmetic() {
        INDArray dense = Nd4j.randn(DataType.FLOAT, 12, 5);
        INDArray conv = Nd4j.randn(DataType.FLOAT, 4, 3, 3, 3);
        for (int bits : new int[] {8, 4, 2}) {
            INDArray expectedDense = FakeQuant.weights(dense, ChannelAxis.DENSE, bits);
            INDArray expectedConv = FakeQuant.weights(conv, ChannelAxis.CONV2D, bits);
            assertArrayEquals(expectedDense.data().asFloat(),
                    FakeQuantArrays.weights(dense, ChannelAxis.DENSE, bits).data().asFloat(), 1e-6f, bits + " bits");
            assertArrayEquals(expectedConv.dup('c').data().asFloat(),
                    FakeQuantArrays.weights(conv, ChannelAxis.CONV2D, bits).dup('c').data().asFloat(), 1e-6f);
        }
        ActivationQuant q = new ActivationQuant(0.05f, 40);
        INDArray x = Nd4j.linspace(-3, 12, 301, DataType.FLOAT);
        float[] fq = FakeQuantArrays.activations(x, q).data().asFloat();
        float[] in = x.data().asFloat();
        for (int i = 0; i < in.length; i++) {
            assertEquals(q.dequantize(q.quantize(in[i])), fq[i], 1e-6, "x = " + in[i]);
        }
    }
}
