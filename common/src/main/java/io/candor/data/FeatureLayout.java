package io.candor.data;

import java.util.List;

/**
 * The model's input vector: one name per position, and the groups explainers permute or mask together.
 *
 * @param numericColumns source columns read as numbers, in input order of their positions
 * @param categoricalColumns source columns one-hot encoded
 */
public record FeatureLayout(List<String> names, List<FeatureGroup> groups, List<String> numericColumns,
                            List<String> categoricalColumns) {
    public FeatureLayout {
        names = List.copyOf(names);
        groups = List.copyOf(groups);
        numericColumns = List.copyOf(numericColumns);
        categoricalColumns = List.copyOf(categoricalColumns);
    }

    public int size() {
        return names.size();
    }
}
