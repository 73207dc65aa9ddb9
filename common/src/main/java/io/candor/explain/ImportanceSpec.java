package io.candor.explain;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The {@code importance} section of the conf. */
public record ImportanceSpec(Split split, int nRepeats, Mode mode, int blocks, List<String> metrics, int sampleRows,
                             long batchValues, List<String> variants, Map<String, List<String>> groups) {
    public ImportanceSpec {
        metrics = List.copyOf(metrics);
        variants = List.copyOf(variants);
        groups = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(groups));
    }

    public enum Split { TEST, TRAIN, ALL }

    public enum Mode { EXACT, BLOCK }
}
