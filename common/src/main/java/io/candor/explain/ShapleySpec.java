package io.candor.explain;

import java.util.List;

/** The {@code shapley} section of the conf. */
public record ShapleySpec(ImportanceSpec.Split split, int sampleRows, Estimator estimator, List<Integer> outputs,
                          int maxCoalitions, int permutationPairs, double convergenceThreshold,
                          BackgroundMethod backgroundMethod, int backgroundSize, int sageRows,
                          int sageMaxPermutationPairs, double sageConvergenceFraction, long batchValues,
                          List<String> variants) {
    public ShapleySpec {
        outputs = List.copyOf(outputs);
        variants = List.copyOf(variants);
    }

    public enum Estimator { KERNEL, SAMPLING }

    public enum BackgroundMethod { KMEANS, SAMPLE }
}
