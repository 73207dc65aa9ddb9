package io.candor.train;

import io.candor.data.Featurizer;
import io.candor.data.Normalizer;
import io.candor.data.TabularReader;
import io.candor.model.BatchedInference;
import io.candor.model.ExecutorNetworks;
import io.candor.model.Network;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import scala.Tuple3;

import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * Distributed inference and metrics: the network is broadcast once, rebuilt once per executor thread
 * ({@link ExecutorNetworks}), run over each partition in batches, and the metrics are computed exactly over all rows.
 */
public final class Evaluator {
    private Evaluator() {
    }

    /** Network outputs for rows ordered by row id; regression outputs are mapped back to the label's scale. */
    public record Predictions(long[] rowIds, double[] labels, double[][] outputs) {
        public int size() {
            return rowIds.length;
        }
    }

    /**
     * @param rows rows with {@code row_id}, {@code features} and {@code label}
     */
    public static Predictions predict(SparkSession spark, byte[] networkZip, Dataset<Row> rows, int width,
                                      boolean classification, Normalizer normalizer) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        String key = io.candor.util.Hashing.sha256(networkZip);
        Broadcast<byte[]> zip = jsc.broadcast(networkZip);
        try {
            return collect(rows.select(TabularReader.ROW_ID, Featurizer.FEATURES, TabularReader.LABEL)
                    .javaRDD()
                    .mapPartitions(it -> {
                        Network network = ExecutorNetworks.get(key, zip::value);
                        return BatchedInference.map(it, 1, width, network, BatchedInference.DEFAULT_BATCH,
                                (row, output) -> new Tuple3<>(row.getLong(0), row.getDouble(2), output));
                    }), classification, normalizer);
        } finally {
            zip.destroy();
        }
    }

    /**
     * Collects scored rows (row id, label, model output) into {@link Predictions} ordered by row id, whatever model
     * produced them; regression outputs are mapped back to the label's scale.
     */
    public static Predictions collect(JavaRDD<Tuple3<Long, Double, float[]>> scored, boolean classification,
                                      Normalizer normalizer) {
        List<Tuple3<Long, Double, float[]>> sorted = scored.collect().stream()
                .sorted(Comparator.comparingLong(Tuple3::_1)).toList();
        int n = sorted.size();
        long[] ids = new long[n];
        double[] labels = new double[n];
        double[][] outputs = new double[n][];
        for (int i = 0; i < n; i++) {
            Tuple3<Long, Double, float[]> t = sorted.get(i);
            ids[i] = t._1();
            labels[i] = t._2();
            float[] o = t._3();
            outputs[i] = new double[o.length];
            for (int j = 0; j < o.length; j++) {
                outputs[i][j] = classification ? o[j] : normalizer.denormalizeLabel(o[j]);
            }
        }
        return new Predictions(ids, labels, outputs);
    }

    /** accuracy, log_loss, macro_f1 (and auc for two classes), or rmse, mae, r2 for regression. */
    public static LinkedHashMap<String, Double> metrics(Predictions p, int numClasses, boolean classification) {
        if (classification) {
            int[] labels = new int[p.size()];
            for (int i = 0; i < labels.length; i++) {
                labels[i] = (int) p.labels()[i];
            }
            return Metrics.classification(p.outputs(), labels, numClasses);
        }
        double[] predicted = new double[p.size()];
        for (int i = 0; i < predicted.length; i++) {
            predicted[i] = p.outputs()[i][0];
        }
        return Metrics.regression(predicted, p.labels());
    }
}
