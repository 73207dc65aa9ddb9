package io.candor.data;

import java.util.List;

/**
 * What the data is and how to read it: the {@code dataset} section of the conf, validated.
 *
 * @param features numeric feature columns; empty means every column but the label, the id and the categorical ones
 * @param imageShape channels, height, width for convolutional models; all zero for tabular data
 */
public record DatasetSpec(
        String name,
        String path,
        Format format,
        String label,
        Task task,
        List<String> features,
        List<String> categorical,
        String idColumn,
        MissingPolicy missingPolicy,
        List<String> missingTokens,
        double testFraction,
        boolean normalize,
        int[] imageShape) {

    public DatasetSpec {
        features = List.copyOf(features);
        categorical = List.copyOf(categorical);
        missingTokens = List.copyOf(missingTokens);
        imageShape = imageShape.clone();
    }

    public enum Format { AUTO, CSV, PARQUET }

    public enum Task { CLASSIFICATION, REGRESSION }

    public enum MissingPolicy { FAIL, DROP, IMPUTE }

    public boolean isImage() {
        return imageShape[0] > 0;
    }

    /** The format to read: {@link #format()} unless AUTO, then by the path's extension (Parquet otherwise). */
    public Format resolvedFormat() {
        if (format != Format.AUTO) {
            return format;
        }
        String lower = path.toLowerCase(java.util.Locale.ROOT);
        return lower.endsWith(".csv") || lower.endsWith(".csv.gz") ? Format.CSV : Format.PARQUET;
    }
}
