package io.candor.model;

import java.util.List;

/** The {@code model} section of the conf: which network, built how, or loaded from where. */
public record ModelSpec(
        String name,
        Source source,
        String path,
        Architecture architecture,
        List<Integer> hidden,
        String activation,
        double dropout,
        List<Integer> convFilters,
        int convKernel) {

    public ModelSpec {
        hidden = List.copyOf(hidden);
        convFilters = List.copyOf(convFilters);
    }

    public enum Source { TRAIN, LOAD }

    public enum Architecture { DENSE, CONV }
}
