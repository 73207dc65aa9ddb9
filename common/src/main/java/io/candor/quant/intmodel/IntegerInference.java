package io.candor.quant.intmodel;

/**
 * Integer-only inference of an {@link IntegerModel} over a batch (Jacob et al. 2018, "Quantization and Training of
 * Neural Networks for Efficient Integer-Arithmetic-Only Inference", §2).
 *
 * <ul>
 *   <li>Input: {@code q = model.input().quantize(x)}, the one float-to-integer boundary.</li>
 *   <li>Dense and conv: {@code acc_o = bias_o + Σ (q − z_in) · w} in int32; conv pads contribute
 *       {@code q − z_in = 0}, i.e. they pad with real 0.</li>
 *   <li>Hidden dense and conv: {@code q_out = clamp(M_o(acc_o) + z_out, lo, 255)} where {@code M_o} is the
 *       {@link FixedPointMultiplier} of {@code input.scale · weightScales[o] / output.scale} (one int64 rounding
 *       to nearest, ties toward +∞, as TensorFlow Lite's single-rounding mode) and {@code lo = z_out} for
 *       {@code RELU}, 0 for {@code IDENTITY}.</li>
 *   <li>Max pool: the largest uint8 code in the window, padding ignored.</li>
 *   <li>Last layer: {@code logit_o = acc_o · input.scale · weightScales[o]} in double, then the model's
 *       {@link OutputActivation} (softmax computed stably).</li>
 * </ul>
 *
 * <p>The static methods prepare the model on every call; for repeated batches call {@link #prepare} once and use the
 * {@link PreparedIntegerModel}.
 */
public final class IntegerInference {
    private IntegerInference() {
    }

    /**
     * Validates the model and precomputes its multipliers.
     *
     * @throws IllegalArgumentException naming the layer and what was expected, if the model is inconsistent
     */
    public static PreparedIntegerModel prepare(IntegerModel model) {
        return PreparedIntegerModel.of(model);
    }

    /**
     * Per-row outputs after the model's output activation.
     *
     * @param features {@code rows × model.inputs()} values, row-major
     * @return {@code rows} arrays of {@code model.outputs()} values
     * @throws IllegalArgumentException if the model is inconsistent, the feature count does not match or a feature is
     *     NaN
     */
    public static double[][] outputs(IntegerModel model, float[] features, int rows) {
        return prepare(model).outputs(features, rows);
    }

    /** Per-row dequantized last-layer values, before the output activation; otherwise as {@link #outputs}. */
    public static double[][] logits(IntegerModel model, float[] features, int rows) {
        return prepare(model).logits(features, rows);
    }
}
