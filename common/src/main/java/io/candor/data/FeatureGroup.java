package io.candor.data;

import java.util.List;

/**
 * Features that explainers treat as one player: a numeric column alone, or all one-hot columns of one categorical
 * source column, named after that column.
 *
 * @param indices positions in the model's input vector
 */
public record FeatureGroup(String name, List<Integer> indices) {
    public FeatureGroup {
        indices = List.copyOf(indices);
    }
}
