package io.candor.explain;

import io.candor.config.ConfigException;
import io.candor.data.FeatureGroup;
import io.candor.data.FeatureLayout;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The players of an explanation: the model's default groups (a numeric column alone, a categorical column's one-hot
 * slots together), with user-defined groups of source columns taking the place of the columns they name.
 */
public final class FeatureGroups {
    private FeatureGroups() {
    }

    /** Each group's positions in the input vector, as the estimators take them. */
    public static List<int[]> indices(List<FeatureGroup> groups) {
        return groups.stream().map(g -> g.indices().stream().mapToInt(Integer::intValue).toArray()).toList();
    }

    /**
     * @param custom group name to source columns ({@code importance.groups} of the conf)
     * @param model the model's name, for messages
     */
    public static List<FeatureGroup> resolve(FeatureLayout layout, Map<String, List<String>> custom, String model) {
        Map<String, FeatureGroup> byColumn = new LinkedHashMap<>();
        for (FeatureGroup g : layout.groups()) {
            byColumn.put(g.name(), g);
        }
        Map<String, String> claimedBy = new HashMap<>();
        for (Map.Entry<String, List<String>> e : custom.entrySet()) {
            if (e.getValue().isEmpty()) {
                throw new ConfigException("conf key importance.groups." + e.getKey() + ": is empty (expected source columns)");
            }
            for (String column : e.getValue()) {
                if (!byColumn.containsKey(column)) {
                    throw new ConfigException("conf key importance.groups." + e.getKey() + ": column '" + column
                            + "' is not an input of model " + model + " (its inputs: " + String.join(", ", byColumn.keySet()) + ")");
                }
                String other = claimedBy.put(column, e.getKey());
                if (other != null) {
                    throw new ConfigException("conf key importance.groups." + e.getKey() + ": column '" + column
                            + "' is also in group '" + other + "' (expected each column in at most one group)");
                }
            }
        }
        List<FeatureGroup> groups = new ArrayList<>();
        for (FeatureGroup g : layout.groups()) {
            String customName = claimedBy.get(g.name());
            if (customName == null) {
                groups.add(g);
            } else if (firstClaimed(layout, custom.get(customName)).equals(g.name())) {
                List<Integer> indices = new ArrayList<>();
                for (String column : custom.get(customName)) {
                    indices.addAll(byColumn.get(column).indices());
                }
                indices.sort(Integer::compare);
                groups.add(new FeatureGroup(customName, indices));
            }
        }
        return groups;
    }

    /** The group's column that comes first in the model input: where the group stands in the list. */
    private static String firstClaimed(FeatureLayout layout, List<String> columns) {
        for (FeatureGroup g : layout.groups()) {
            if (columns.contains(g.name())) {
                return g.name();
            }
        }
        throw new IllegalStateException("no column of " + columns + " in the layout");
    }
}
