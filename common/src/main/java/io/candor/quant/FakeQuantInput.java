package io.candor.quant;

import io.candor.quant.intmodel.ActivationQuant;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Fake quantization of the network input (uint8, per tensor) as the first layer's input preprocessor, followed by the
 * preprocessor that layer already had (e.g. the reshape of flat image rows). The input needs no gradient, so backprop
 * only delegates. While {@code enabled} is false the input passes unchanged (calibration).
 */
public final class FakeQuantInput implements InputPreProcessor {
    private static final long serialVersionUID = 1L;

    @JsonProperty
    private InputPreProcessor inner;
    @JsonProperty
    private ActivationFakeQuantizer quantizer = new ActivationFakeQuantizer();

    public FakeQuantInput() {
    }

    public FakeQuantInput(InputPreProcessor inner) {
        this.inner = inner;
    }

    public InputPreProcessor inner() {
        return inner;
    }

    public ActivationQuant quant() {
        return quantizer.quant();
    }

    public boolean enabled() {
        return quantizer.enabled();
    }

    public void quantizeWith(ActivationQuant quant) {
        quantizer.quantizeWith(quant);
    }

    public void setEnabled(boolean enabled) {
        quantizer.setEnabled(enabled);
    }

    @Override
    public INDArray preProcess(INDArray input, int miniBatchSize, LayerWorkspaceMgr workspaceMgr) {
        INDArray x = enabled() ? workspaceMgr.leverageTo(ArrayType.ACTIVATIONS, quantizer.apply(input)) : input;
        return inner == null ? x : inner.preProcess(x, miniBatchSize, workspaceMgr);
    }

    @Override
    public INDArray backprop(INDArray output, int miniBatchSize, LayerWorkspaceMgr workspaceMgr) {
        return inner == null ? output : inner.backprop(output, miniBatchSize, workspaceMgr);
    }

    @Override
    public FakeQuantInput clone() {
        FakeQuantInput copy = new FakeQuantInput(inner == null ? null : inner.clone());
        copy.quantizer = quantizer.copy();
        return copy;
    }

    @Override
    public InputType getOutputType(InputType inputType) {
        return inner == null ? inputType : inner.getOutputType(inputType);
    }

    @Override
    public Pair<INDArray, MaskState> feedForwardMaskArray(INDArray maskArray, MaskState currentMaskState,
                                                          int minibatchSize) {
        return inner == null ? new Pair<>(maskArray, currentMaskState)
                : inner.feedForwardMaskArray(maskArray, currentMaskState, minibatchSize);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FakeQuantInput f && java.util.Objects.equals(f.inner, inner)
                && f.quantizer.equals(quantizer);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(inner, quantizer);
    }
}
