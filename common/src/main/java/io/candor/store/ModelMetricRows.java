package io.candor.store;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Rows of {@link Table#MODEL_METRICS} for one variant: one per (split, metric), each with the variant's size. */
public final class ModelMetricRows {
    private ModelMetricRows() {
    }

    /**
     * @param metrics per split, metric name to value
     * @param splitRows rows evaluated per split
     */
    public static List<Row> of(String runId, Map<String, ? extends Map<String, Double>> metrics,
                               Map<String, Long> splitRows, long sizeBytes, long parameterCount, int bits,
                               String date, String model, String variant) {
        List<Row> rows = new ArrayList<>();
        metrics.forEach((split, values) -> values.forEach((metric, value) -> rows.add(RowFactory.create(runId, split,
                metric, value, splitRows.get(split), sizeBytes, parameterCount, bits, date, model, variant))));
        return rows;
    }
}
