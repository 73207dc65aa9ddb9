package io.candor.quant;

import io.candor.quant.intmodel.ActivationQuant;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.io.Serializable;

/**
 * The calibrated uint8 quantization of one activation tensor, and whether it is applied yet: the state
 * {@link FakeQuantActivation} and {@link FakeQuantInput} share. Until {@link #quantizeWith} it passes values through
 * ("observing"), which is how calibration sees the unclipped range. JSON- and Java-serialisable with the layer
 * configuration.
 */
public final class ActivationFakeQuantizer implements Serializable {
    private static final long serialVersionUID = 1L;

    @JsonProperty
    private float scale = 1f;
    @JsonProperty
    private int zeroPoint;
    @JsonProperty
    private boolean enabled;

    public ActivationQuant quant() {
        return new ActivationQuant(scale, zeroPoint);
    }

    public boolean enabled() {
        return enabled;
    }

    /** Sets the calibrated quantization and switches fake quantization on. */
    public void quantizeWith(ActivationQuant quant) {
        scale = quant.scale();
        zeroPoint = quant.zeroPoint();
        enabled = true;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    /** {@code x} fake-quantized (a new array), or {@code x} itself while observing. */
    public INDArray apply(INDArray x) {
        return enabled ? FakeQuantArrays.activations(x, quant()) : x;
    }

    ActivationFakeQuantizer copy() {
        ActivationFakeQuantizer copy = new ActivationFakeQuantizer();
        copy.scale = scale;
        copy.zeroPoint = zeroPoint;
        copy.enabled = enabled;
        return copy;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ActivationFakeQuantizer q && q.scale == scale && q.zeroPoint == zeroPoint
                && q.enabled == enabled;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(scale, zeroPoint, enabled);
    }

    @Override
    public String toString() {
        return enabled ? "scale=" + scale + ", zp=" + zeroPoint : "observing";
    }
}
