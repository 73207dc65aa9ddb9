package io.candor.quant.intmodel;

import java.util.List;

/**
 * A quantized network for integer-only inference: float features are quantized once with {@code input}, every layer
 * computes in int8 × uint8 → int32 and requantizes to uint8, the last layer's int32 accumulators are dequantized to
 * float logits and {@code outputActivation} gives the outputs.
 *
 * @param inputs feature values per row
 * @param outputs values per row of the result (classes, or 1 for regression)
 */
public record IntegerModel(int inputs, ActivationQuant input, List<IntLayer> layers, OutputActivation outputActivation,
                           int outputs) {
    public IntegerModel {
        layers = List.copyOf(layers);
    }
}
