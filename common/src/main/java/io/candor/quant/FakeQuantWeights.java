package io.candor.quant;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.weightnoise.IWeightNoise;
import org.deeplearning4j.nn.params.DefaultParamInitializer;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Weight fake quantization for a DL4J dense, output or convolution layer, attached through DL4J's weight-noise hook:
 * every forward pass (training and inference) sees the weights quantized symmetrically per output channel at
 * {@code bits}, and the bias rounded to the int32 grid {@code inputScale × weightScale_c} the integer model uses.
 * The gradient DL4J computes for the quantized weights is applied to the float weights unchanged: the
 * straight-through estimator, exact here because per-channel max-abs scales never clip a weight. Serialised with the
 * layer configuration (JSON and Java), so it travels to dl4j-spark workers.
 */
public final class FakeQuantWeights implements IWeightNoise {
    private static final long serialVersionUID = 1L;

    @JsonProperty
    private int bits;
    @JsonProperty
    private ChannelAxis axis;
    /** Scale of this layer's quantized input; 0 until calibration sets it (the bias then stays float). */
    @JsonProperty
    private float inputScale;

    public FakeQuantWeights() {
    }

    public FakeQuantWeights(int bits, ChannelAxis axis) {
        QuantParams.symmetricQmax(bits); // validates the range
        this.bits = bits;
        this.axis = axis;
    }

    public int bits() {
        return bits;
    }

    public ChannelAxis axis() {
        return axis;
    }

    public float inputScale() {
        return inputScale;
    }

    public void setInputScale(float inputScale) {
        this.inputScale = inputScale;
    }

    @Override
    public INDArray getParameter(Layer layer, String paramKey, int iteration, int epoch, boolean train,
                                 LayerWorkspaceMgr workspaceMgr) {
        INDArray weights = layer.getParam(DefaultParamInitializer.WEIGHT_KEY);
        if (DefaultParamInitializer.WEIGHT_KEY.equals(paramKey)) {
            return FakeQuantArrays.weights(weights, axis, bits);
        }
        INDArray param = layer.getParam(paramKey);
        if (DefaultParamInitializer.BIAS_KEY.equals(paramKey) && inputScale > 0) {
            return FakeQuantArrays.bias(param, inputScale, FakeQuantArrays.weightScales(weights, axis, bits));
        }
        return param;
    }

    @Override
    public FakeQuantWeights clone() {
        FakeQuantWeights copy = new FakeQuantWeights(bits, axis);
        copy.inputScale = inputScale;
        return copy;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FakeQuantWeights w && w.bits == bits && w.axis == axis && w.inputScale == inputScale;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(bits, axis, inputScale);
    }
}
