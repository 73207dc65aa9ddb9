package io.candor.quant;

import io.candor.quant.intmodel.ActivationQuant;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.BaseActivationFunction;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * A layer activation followed by per-tensor asymmetric uint8 fake quantization of its output. Backward, the
 * straight-through estimator: the upstream gradient passes where the activation's output lies inside the
 * representable range and is exactly 0 where it was clipped, then goes through the inner activation's own gradient.
 * While {@code enabled} is false the activation is the inner one alone, which is how calibration observes the
 * unclipped range. Serialised with the layer configuration so that dl4j-spark workers share the calibrated range.
 */
public final class FakeQuantActivation extends BaseActivationFunction {
    private static final long serialVersionUID = 1L;

    @JsonProperty
    private IActivation inner;
    @JsonProperty
    private ActivationFakeQuantizer quantizer = new ActivationFakeQuantizer();

    public FakeQuantActivation() {
    }

    public FakeQuantActivation(IActivation inner) {
        this.inner = inner;
    }

    public IActivation inner() {
        return inner;
    }

    public boolean enabled() {
        return quantizer.enabled();
    }

    public ActivationQuant quant() {
        return quantizer.quant();
    }

    /** Sets the calibrated quantization and switches fake quantization on. */
    public void quantizeWith(ActivationQuant quant) {
        quantizer.quantizeWith(quant);
    }

    public void setEnabled(boolean enabled) {
        quantizer.setEnabled(enabled);
    }

    @Override
    public INDArray getActivation(INDArray in, boolean training) {
        INDArray out = inner.getActivation(in, training);
        return enabled() ? out.assign(quantizer.apply(out)) : out; // DL4J activations work in place
    }

    @Override
    public Pair<INDArray, INDArray> backprop(INDArray in, INDArray epsilon) {
        if (!enabled()) {
            return inner.backprop(in, epsilon);
        }
        INDArray activated = inner.getActivation(in.dup(), true);
        INDArray passed = epsilon.mul(FakeQuantArrays.insideRange(activated, quant()));
        return inner.backprop(in, passed);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FakeQuantActivation a && a.inner.equals(inner) && a.quantizer.equals(quantizer);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(inner, quantizer);
    }

    @Override
    public String toString() {
        return "fakequant(" + inner + ", " + quantizer + ")";
    }
}
