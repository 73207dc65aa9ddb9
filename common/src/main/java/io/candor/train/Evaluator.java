package io.candor.train;

import io.candor.data.Featurizer;
import io.candor.data.Normalizer;
import io.candor.data.TabularReader;
import io.candor.model.BatchedInference;
import io.candor.model.ExecutorNetworks;
import io.candor.model.Network;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;
import scala.Tuple3;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * Distributed inference and metrics. {@link #predict} gives a lazy RDD of scored rows, {@code (row id, label,
 * outputs)} with regression outputs on the label's scale; the network is broadcast once and rebuilt once per executor
 * thread ({@link ExecutorNetworks}). {@link #metrics} merges per-partition {@link MetricStats} (and, for AUC, counts
 * per distinct score), so the driver holds O(classes²) numbers plus one per partition, never rows, and the metrics
 * equal {@link Metrics} over the same rows bit for bit, whatever the partitioning.
 */
public final class Evaluator {
    private Evaluator() {
    }

    /**
     * The scored rows of {@code rows} (with {@code row_id}, {@code features} and {@code label}); runs no job. The
     * broadcast network lives as long as the RDD: Spark's cleaner removes it once the RDD is unreachable.
     */
    public static JavaRDD<Tuple3<Long, Double, double[]>> predict(SparkSession spark, byte[] networkZip,
                                                                 Dataset<Row> rows, int width, boolean classification,
                                                                 Normalizer normalizer) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        String key = io.candor.util.Hashing.sha256(networkZip);
        Broadcast<byte[]> zip = jsc.broadcast(networkZip);
        return onLabelScale(rows.select(TabularReader.ROW_ID, Featurizer.FEATURES, TabularReader.LABEL)
                .javaRDD()
                .mapPartitions(it -> {
                    Network network = ExecutorNetworks.get(key, zip::value);
                    return BatchedInference.map(it, 1, width, network, BatchedInference.DEFAULT_BATCH,
                            (row, output) -> new Tuple3<>(row.getLong(0), row.getDouble(2), output));
                }), classification, normalizer);
    }

    /**
     * Scored rows (row id, label, model output) as doubles, whatever model produced them; regression outputs are
     * mapped back to the label's scale. Lazy.
     */
    public static JavaRDD<Tuple3<Long, Double, double[]>> onLabelScale(JavaRDD<Tuple3<Long, Double, float[]>> scored,
                                                                       boolean classification, Normalizer normalizer) {
        return scored.map(t -> {
            float[] o = t._3();
            double[] out = new double[o.length];
            for (int j = 0; j < o.length; j++) {
                out[j] = classification ? o[j] : normalizer.denormalizeLabel(o[j]);
            }
            return new Tuple3<>(t._1(), t._2(), out);
        });
    }

    /**
     * accuracy, log_loss, macro_f1 (and auc for two classes), or rmse, mae, r2 for regression, of non-empty scored
     * rows. Caches {@code scored} while it makes its passes (AUC needs a second) unless the caller persisted it.
     */
    public static LinkedHashMap<String, Double> metrics(JavaRDD<Tuple3<Long, Double, double[]>> scored,
                                                        int numClasses, boolean classification) {
        boolean auc = classification && numClasses == 2;
        boolean cache = auc && scored.getStorageLevel().equals(StorageLevel.NONE());
        if (cache) {
            scored.persist(StorageLevel.MEMORY_AND_DISK());
        }
        try {
            MetricStats zero = classification ? MetricStats.classification(numClasses) : MetricStats.regression();
            MetricStats stats = scored.treeAggregate(zero, (s, t) -> classification
                    ? s.add(t._3(), (int) (double) t._2()) : s.add(t._3()[0], t._2()), MetricStats::merge);
            LinkedHashMap<String, Double> out = stats.metrics();
            if (auc) {
                out.put("auc", auc(scored, stats.labelled(1), stats.labelled(0)));
            }
            return out;
        } finally {
            if (cache) {
                scored.unpersist(false);
            }
        }
    }

    /**
     * Exact AUC of two-class scored rows (score: the class-1 probability): positives and negatives are counted per
     * distinct score and range-sorted by score; one count of negatives per partition comes to the driver, and each
     * partition then sums its share of twice U given the negatives of the partitions before it.
     */
    private static double auc(JavaRDD<Tuple3<Long, Double, double[]>> scored, long positives, long negatives) {
        JavaPairRDD<Double, long[]> sorted = scored
                .mapToPair(t -> new Tuple2<>(AucCounts.key(t._3()[1]),
                        (int) (double) t._2() == 1 ? new long[] {1, 0} : new long[] {0, 1}))
                .reduceByKey((x, y) -> new long[] {x[0] + y[0], x[1] + y[1]})
                .sortByKey(true);
        List<Long> perPartition = sorted.mapPartitions(it -> {
            long n = 0;
            while (it.hasNext()) {
                n += it.next()._2()[1];
            }
            return List.of(n).iterator();
        }).collect();
        long[] below = new long[perPartition.size()];
        for (int i = 1; i < below.length; i++) {
            below[i] = below[i - 1] + perPartition.get(i - 1);
        }
        long twiceU = sorted.mapPartitionsWithIndex((i, it) -> {
            Iterator<long[]> counts = new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return it.hasNext();
                }

                @Override
                public long[] next() {
                    return it.next()._2();
                }
            };
            return List.of(AucCounts.twiceU(counts, below[i])).iterator();
        }, true).reduce(Long::sum);
        return AucCounts.auc(twiceU, positives, negatives);
    }

    /** The outputs of two scored RDDs on the rows both hold, matched by row id. */
    public static JavaRDD<Tuple2<double[], double[]>> joinByRowId(JavaRDD<Tuple3<Long, Double, double[]>> a,
                                                                  JavaRDD<Tuple3<Long, Double, double[]>> b) {
        return a.mapToPair(t -> new Tuple2<>(t._1(), t._3()))
                .join(b.mapToPair(t -> new Tuple2<>(t._1(), t._3())))
                .values();
    }
}
