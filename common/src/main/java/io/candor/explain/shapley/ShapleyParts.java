package io.candor.explain.shapley;

import io.candor.explain.BatchModel;

import java.io.Serializable;
import java.util.List;

/**
 * The players and background of an explanation as plain arrays, small enough to ship to executors in a closure, where
 * they become {@link Players} and {@link Background} again.
 */
public record ShapleyParts(int[][] groups, int inputs, double[][] background, double[] weights) implements Serializable {

    public static ShapleyParts of(List<int[]> groups, int inputs, double[][] background, double[] weights) {
        return new ShapleyParts(groups.toArray(new int[0][]), inputs, background, weights);
    }

    public Players players() {
        return Players.of(List.of(groups), inputs);
    }

    public Background backgroundRows() {
        return Background.weighted(background, weights);
    }

    public KernelShapEstimator kernel(BatchModel model, KernelShapEstimator.Settings settings) {
        return new KernelShapEstimator(model, players(), backgroundRows(), settings);
    }

    public SamplingShapleyEstimator sampling(BatchModel model, SamplingShapleyEstimator.Settings settings) {
        return new SamplingShapleyEstimator(model, players(), backgroundRows(), settings);
    }

    public SageEstimator sage(BatchModel model, SageEstimator.Settings settings) {
        return new SageEstimator(model, players(), backgroundRows(), settings);
    }
}
