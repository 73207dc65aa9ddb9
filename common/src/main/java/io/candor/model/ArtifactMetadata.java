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

    /** The source columns a DataFrame must have for this model: numeric, then categorical. */
    public List<String> inputColumns() {
        List<String> columns = new java.util.ArrayList<>(numericColumns);
        columns.addAll(categoricalColumns);
        return columns;
    }

    /** Checks {@code schema} has the model's input columns and the {@code extra} ones, before any work. */
    public void requireColumns(org.apache.spark.sql.types.StructType schema, List<String> extra) {
        List<String> present = java.util.Arrays.asList(schema.fieldNames());
        List<String> required = inputColumns();
        required.addAll(extra);
        for (String c : required) {
            if (!present.contains(c)) {
                throw new io.candor.util.InputException("input DataFrame: column '" + c + "' is missing (expected the "
                        + "inputs of model " + model + "/" + variant + (extra.isEmpty() ? "" : " and " + extra) + ")");
            }
        }
    }

    public boolean isClassification() {
        return "classification".equals(task);
    }
}
