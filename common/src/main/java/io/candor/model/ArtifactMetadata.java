package io.candor.model;

import io.candor.data.FeatureGroup;
import io.candor.data.FeatureLayout;
import io.candor.data.Normalizer;

import java.util.List;
import java.util.Map;

/**
 * {@code candor.json}: everything besides the weights that a model needs to be used and trusted: its inputs
 * (feature names, groups, source columns), outputs (classes), normaliser, size, and provenance (which run, conf and
 * data produced it). {@link #FORMAT_VERSION} changes whenever a field changes meaning.
 */
public record ArtifactMetadata(
        int formatVersion,
        String model,
        String variant,
        String task,
        String networkKind,
        List<String> featureNames,
        List<FeatureGroup> groups,
        List<String> numericColumns,
        List<String> categoricalColumns,
        List<String> classes,
        double[] normMean,
        double[] normStd,
        double labelMean,
        double labelStd,
        int[] imageShape,
        long parameterCount,
        long sizeBytes,
        int bits,
        Map<String, String> provenance) {

    public static final int FORMAT_VERSION = 1;

    public FeatureLayout layout() {
        return new FeatureLayout(featureNames, groups, numericColumns, categoricalColumns);
    }

    public Normalizer normalizer() {
        return new Normalizer(normMean, normStd, labelMean, labelStd);
    }

    public boolean isClassification() {
        return "classification".equals(task);
    }
}
