package io.candor.explain.shapley;

import io.candor.data.Featurizer;
import io.candor.data.TabularReader;
import io.candor.explain.BatchModel;
import io.candor.explain.ModelSource;
import io.candor.explain.ShapleySpec;
import io.candor.model.SingleThreadedBlas;
import io.candor.util.ProgressReporter;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The Shapley estimators as Spark jobs. Per-row values: rows stay in their partitions, players and background travel
 * in the closure, each task explains its rows in large batches, and the values stay on the executors (a lazy
 * Dataset the caller writes); every row's draws come from (seed, row id), so
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
     * The per-row columns of {@code shap_values}, the order {@link #explainRows} produces them in; the caller adds
     * run, estimator and partition columns.
     */
    public static final StructType ROW_SCHEMA = new StructType(java.util.stream.Stream.of("row_id", "output",
            "base_value", "prediction", "phi", "std_error", "n_evaluations", "converged")
            .map(io.candor.store.Table.SHAP_VALUES.schema()::apply)
            .toArray(org.apache.spark.sql.types.StructField[]::new));

    /**
     * Per-row values, not yet computed: {@code rows} is lazy, and each action on it explains every row again on the
     * executors, so write it once. Tasks add their rows to {@code done} as they finish (for {@link #progress}).
     *
     * @param rows one row per (row, output), in {@link #ROW_SCHEMA}, rows of a task in input order
     * @param total rows to explain
     */
    public record Explanation(Dataset<Row> rows, long total, LongAccumulator done) {
        /** A progress log of this explanation's tasks; close it once the action on {@link #rows} has finished. */
        public ProgressReporter progress(String label) {
            return new ProgressReporter(label, "rows explained", total, done);
        }
    }

    /**
     * @param rows {@code row_id} and {@code features}
     * @return the explanation of every row and output, computed when its rows are written
     */
    public static Explanation explainRows(SparkSession spark, Dataset<Row> rows, ModelSource source,
                                          ShapleyParts parts, int[] outputs, RowSettings settings) {
        LongAccumulator done = spark.sparkContext().longAccumulator("candor.shapley.rows");
        Dataset<Row> input = rows.select(TabularReader.ROW_ID, Featurizer.FEATURES);
        long total = input.count();
        JavaRDD<Row> explained = input.javaRDD().mapPartitions(it -> {
            List<Row> partition = new ArrayList<>();
            it.forEachRemaining(partition::add);
            if (partition.isEmpty()) {
                return new ArrayList<Row>().iterator();
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
            return result.stream().map(DistributedShapley::toRow).iterator();
        });
        return new Explanation(spark.createDataFrame(explained, ROW_SCHEMA), total, done);
    }

    /** A row of {@link #ROW_SCHEMA} (arrays as {@code double[]}, which Spark's row encoder takes as they are). */
    public static Row toRow(ShapleyRow r) {
        return RowFactory.create(r.rowId(), r.output(), r.baseValue(), r.prediction(), r.phi(), r.stdError(),
                r.evaluations(), r.converged());
    }

    /** The {@link ShapleyRow} of a row with (at least) the columns of {@link #ROW_SCHEMA}. */
    public static ShapleyRow fromRow(Row r) {
        return new ShapleyRow(r.getAs("row_id"), r.<Integer>getAs("output"), r.<Double>getAs("base_value"),
                r.<Double>getAs("prediction"), unboxed(r.getList(r.fieldIndex("phi"))),
                unboxed(r.getList(r.fieldIndex("std_error"))), r.<Long>getAs("n_evaluations"),
                r.<Boolean>getAs("converged"));
    }

    private static double[] unboxed(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /**
     * SAGE over {@code data} (a bounded sample, {@code shapley.sage.rows}, broadcast), each round's pairs split into
     * {@code slices} tasks.
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
