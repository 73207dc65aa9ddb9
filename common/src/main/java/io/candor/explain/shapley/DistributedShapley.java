package io.candor.explain.shapley;

import io.candor.data.Featurizer;
import io.candor.data.TabularReader;
import io.candor.explain.BatchModel;
import io.candor.explain.ModelSource;
import io.candor.explain.ShapleySpec;
import io.candor.model.SingleThreadedBlas;
import io.candor.util.ProgressReporter;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The Shapley estimators as Spark jobs. Per-row values: rows stay in their partitions, players and background travel
 * in the closure, and each task explains its rows in large batches; every row's draws come from (seed, row id), so
 * the values do not depend on partitioning or retries. SAGE: each round's permutation pairs are split across tasks
 * (pair t is seeded by (seed, t)), the driver adds the samples in pair order and checks convergence between rounds.
 */
public final class DistributedShapley {
    private DistributedShapley() {
    }

    /** How each row is estimated. */
    public record RowSettings(ShapleySpec.Estimator estimator, int maxCoalitions, int permutationPairs,
                              long batchValues, long seed, double convergenceThreshold) implements java.io.Serializable {
    }

    /**
     * @param rows {@code row_id} and {@code features}
     * @return one row per (row, output), ordered by row id then output
     */
    public static List<ShapleyRow> explainRows(SparkSession spark, Dataset<Row> rows, ModelSource source,
                                               ShapleyParts parts, int[] outputs, RowSettings settings, String label) {
        LongAccumulator done = spark.sparkContext().longAccumulator("candor.shapley.rows");
        Dataset<Row> input = rows.select(TabularReader.ROW_ID, Featurizer.FEATURES);
        long total = input.count();
        List<ShapleyRow> explained;
        try (ProgressReporter progress = new ProgressReporter(label, "rows explained", total, done)) {
            explained = input.javaRDD().mapPartitions(it -> {
                List<Row> partition = new ArrayList<>();
                it.forEachRemaining(partition::add);
                if (partition.isEmpty()) {
                    return new ArrayList<ShapleyRow>().iterator();
                }
                double[][] x = new double[partition.size()][];
                long[] ids = new long[partition.size()];
                for (int i = 0; i < x.length; i++) {
                    ids[i] = partition.get(i).getLong(0);
                    x[i] = ((Vector) partition.get(i).get(1)).toArray();
                }
                BatchModel model = source.open();
                List<ShapleyRow> result = SingleThreadedBlas.call(() -> settings.estimator()
                        == ShapleySpec.Estimator.KERNEL
                        ? parts.kernel(model, new KernelShapEstimator.Settings(settings.maxCoalitions(),
                                settings.batchValues(), settings.seed(), settings.convergenceThreshold()))
                                .explain(x, ids, outputs)
                        : parts.sampling(model, new SamplingShapleyEstimator.Settings(settings.permutationPairs(),
                                settings.batchValues(), settings.seed(), settings.convergenceThreshold()))
                                .explain(x, ids, outputs));
                done.add(x.length);
                return result.iterator();
            }).collect();
            progress.finish();
        }
        List<ShapleyRow> sorted = new ArrayList<>(explained);
        sorted.sort(Comparator.comparingLong(ShapleyRow::rowId).thenComparingInt(ShapleyRow::output));
        return sorted;
    }

    /**
     * SAGE over {@code data} (rows collected and broadcast), each round's pairs split into {@code slices} tasks.
     */
    public static SageResult sage(SparkSession spark, double[][] data, double[] labels, ModelSource source,
                                  ShapleyParts parts, SageEstimator.Settings settings, int slices, String label) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<double[][]> dataB = jsc.broadcast(data);
        Broadcast<double[]> labelsB = jsc.broadcast(labels);
        LongAccumulator done = spark.sparkContext().longAccumulator("candor.sage.pairs");
        try (ProgressReporter progress = new ProgressReporter(label, "SAGE permutation pairs (at most)",
                settings.maxPermutationPairs(), done)) {
            SageResult result = SageEstimator.run(settings, parts.groups().length, (first, end) -> {
                List<int[]> ranges = new ArrayList<>();
                int per = (end - first + slices - 1) / slices;
                for (int from = first; from < end; from += per) {
                    ranges.add(new int[] {from, Math.min(from + per, end)});
                }
                List<Tuple2<Integer, SageEstimator.PairSamples>> results = jsc.parallelize(ranges, ranges.size())
                        .map(range -> {
                            SageEstimator estimator = parts.sage(source.open(), settings);
                            SageEstimator.PairSamples s = SingleThreadedBlas.call(() -> estimator.pairSamples(
                                    dataB.value(), labelsB.value(), range[0], range[1]));
                            done.add(range[1] - range[0]);
                            return new Tuple2<>(range[0], s);
                        }).collect();
                // Concatenate in pair order: the same samples, in the same order, as one local round.
                List<Tuple2<Integer, SageEstimator.PairSamples>> ordered = new ArrayList<>(results);
                ordered.sort(Comparator.comparingInt(Tuple2::_1));
                List<double[]> samples = new ArrayList<>();
                long evaluations = 0;
                for (Tuple2<Integer, SageEstimator.PairSamples> t : ordered) {
                    samples.addAll(List.of(t._2().samples()));
                    evaluations += t._2().evaluations();
                }
                return new SageEstimator.PairSamples(samples.toArray(new double[0][]), evaluations);
            });
            progress.finish();
            return result;
        } finally {
            dataB.destroy();
            labelsB.destroy();
        }
    }
}
