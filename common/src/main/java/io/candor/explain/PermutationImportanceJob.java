package io.candor.explain;

import io.candor.data.Featurizer;
import io.candor.data.FeatureGroup;
import io.candor.data.TabularReader;
import io.candor.model.SingleThreadedBlas;
import io.candor.util.ProgressReporter;
import io.candor.util.Seeds;
import org.apache.commons.math3.distribution.TDistribution;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

/**
 * Dataset-wide permutation importance (Breiman 2001; Fisher, Rudin, Dominici 2019) as one Spark job: each task scores
 * all (group, repeat) permutations of its rows in one scan with {@link PermutationScorer}; the driver merges the
 * tasks' {@link ScoreAccumulator}s in partition order, so metrics such as AUC are exact over all rows and a retried
 * task changes nothing.
 * <ul>
 *   <li>{@code EXACT}: one global permutation of all rows (in row-id order) per (group, repeat); the rows are
 *   broadcast as donors, and the result equals a single-machine run with the same seed for any partitioning.</li>
 *   <li>{@code BLOCK}: rows are assigned to blocks by a hash of (seed, row id) and permuted within their block, so
 *   no task needs other tasks' rows; for data too large to broadcast.</li>
 * </ul>
 */
public final class PermutationImportanceJob {
    private static final long BLOCK_STREAM = 0xB10CL;

    /**
     * @param blocks number of blocks in BLOCK mode (0: Spark's default parallelism)
     * @param batchValues doubles per network call
     */
    public record Options(int repeats, ImportanceSpec.Mode mode, int blocks, long seed, long batchValues, List<String> metrics,
                          String label) {
    }

    private PermutationImportanceJob() {
    }

    /**
     * @param rows {@code row_id}, {@code features} (model input) and {@code label} (class index or value)
     */
    public static List<ImportanceResult> run(SparkSession spark, Dataset<Row> rows, ModelSource source,
                                             List<FeatureGroup> groups, int inputs, boolean classification,
                                             int classes, Options options) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<int[]> groupIndices = groups.stream().map(g -> g.indices().stream().mapToInt(Integer::intValue).toArray())
                .toList();
        int pairs = groups.size() * options.repeats();
        LongAccumulator done = spark.sparkContext().longAccumulator("candor.importance.pairs");
        Dataset<Row> input = rows.select(TabularReader.ROW_ID, Featurizer.FEATURES, TabularReader.LABEL);
        long seed = options.seed();
        int repeats = options.repeats();
        long batchValues = options.batchValues();

        List<Tuple2<Integer, PermutationScorer.BlockScores>> partials;
        long rowCount;
        int tasks;
        if (options.mode() == ImportanceSpec.Mode.EXACT) {
            // Donors: every row's input, in row-id order, broadcast once.
            List<Row> all = input.select(TabularReader.ROW_ID, Featurizer.FEATURES).orderBy(TabularReader.ROW_ID)
                    .collectAsList();
            rowCount = all.size();
            long[] ids = new long[all.size()];
            double[] donors = new double[all.size() * inputs];
            for (int i = 0; i < all.size(); i++) {
                ids[i] = all.get(i).getLong(0);
                double[] v = ((Vector) all.get(i).get(1)).toArray();
                System.arraycopy(v, 0, donors, i * inputs, inputs);
            }
            Broadcast<long[]> idsB = jsc.broadcast(ids);
            Broadcast<double[]> donorsB = jsc.broadcast(donors);
            int n = ids.length;
            tasks = input.javaRDD().getNumPartitions();
            try (ProgressReporter progress = new ProgressReporter(options.label(), "(feature, repeat) pairs",
                    (long) pairs * tasks, done)) {
                partials = input.javaRDD().mapPartitionsWithIndex((index, it) -> {
                    Block block = Block.of(it, inputs);
                    long[] allIds = idsB.value();
                    int[] positions = new int[block.ids.length];
                    for (int i = 0; i < positions.length; i++) {
                        positions[i] = Arrays.binarySearch(allIds, block.ids[i]);
                    }
                    double[] donorRows = donorsB.value();
                    PermutationScorer scorer = new PermutationScorer(source.open(), groupIndices, repeats,
                            classification, classes, batchValues);
                    PermutationScorer.BlockScores scores = SingleThreadedBlas.call(() -> scorer.score(block.x,
                            block.labels, positions, (g, r) -> Permutations.of(seed, n, g, r, 0),
                            (p, c) -> donorRows[p * inputs + c], pair -> {
                                if (pair >= 0) {
                                    done.add(1);
                                }
                            }));
                    return List.of(new Tuple2<>(index, scores)).iterator();
                }, true).collect();
                progress.finish();
            } finally {
                idsB.destroy();
                donorsB.destroy();
            }
        } else {
            int blocks = options.blocks() > 0 ? options.blocks() : Math.max(1, jsc.defaultParallelism());
            var blockOf = udf((UDF1<Long, Integer>) id -> (int) Math.floor(Seeds.uniform(seed, BLOCK_STREAM, id) * blocks),
                    DataTypes.IntegerType);
            Dataset<Row> assigned = input.withColumn("block", blockOf.apply(col(TabularReader.ROW_ID)))
                    .repartition(blocks, col("block"));
            rowCount = input.count();
            tasks = blocks;
            try (ProgressReporter progress = new ProgressReporter(options.label(), "(feature, repeat) pairs",
                    (long) pairs * blocks, done)) {
                partials = assigned.javaRDD().mapPartitionsWithIndex((index, it) -> {
                    Map<Integer, List<Row>> byBlock = new TreeMap<>();
                    it.forEachRemaining(r -> byBlock.computeIfAbsent(r.getInt(3), k -> new ArrayList<>()).add(r));
                    PermutationScorer scorer = new PermutationScorer(source.open(), groupIndices, repeats,
                            classification, classes, batchValues);
                    PermutationScorer.BlockScores scores = SingleThreadedBlas.call(() -> {
                        PermutationScorer.BlockScores merged = scorer.emptyScores();
                        for (Map.Entry<Integer, List<Row>> e : byBlock.entrySet()) {
                            List<Row> blockRows = new ArrayList<>(e.getValue());
                            blockRows.sort(Comparator.comparingLong(r -> r.getLong(0)));
                            Block block = Block.of(blockRows.iterator(), inputs);
                            int m = block.ids.length;
                            int[] positions = new int[m];
                            for (int i = 0; i < m; i++) {
                                positions[i] = i;
                            }
                            int blockId = e.getKey();
                            double[] x = block.x;
                            merged.merge(scorer.score(x, block.labels, positions,
                                    (g, r) -> Permutations.of(seed, m, g, r, blockId + 1L),
                                    (p, c) -> x[p * inputs + c], pair -> { }));
                        }
                        return merged;
                    });
                    done.add(pairs);
                    return List.of(new Tuple2<>(index, scores)).iterator();
                }, true).collect();
                progress.finish();
            }
        }

        // Merge in partition order: the same numbers whatever order tasks (or their retries) finished in.
        List<Tuple2<Integer, PermutationScorer.BlockScores>> ordered = new ArrayList<>(partials);
        ordered.sort(Comparator.comparingInt(Tuple2::_1));
        PermutationScorer.BlockScores total = null;
        for (Tuple2<Integer, PermutationScorer.BlockScores> t : ordered) {
            total = total == null ? t._2() : total.merge(t._2());
        }
        if (total == null || total.baseline().count() == 0) {
            throw new io.candor.util.InputException("permutation importance: no rows to evaluate (expected a non-empty split)");
        }
        return summarise(total, groups, options, rowCount);
    }

    /** Importance statistics per (group, metric): mean, sample std, 95 % t-interval, rank within the metric. */
    static List<ImportanceResult> summarise(PermutationScorer.BlockScores scores, List<FeatureGroup> groups,
                                            Options options, long rows) {
        LinkedHashMap<String, Double> baseline = scores.baseline().metrics();
        int repeats = options.repeats();
        double t = repeats > 1 ? new TDistribution(repeats - 1).inverseCumulativeProbability(0.975) : Double.NaN;
        List<ImportanceResult> results = new ArrayList<>();
        for (String metric : options.metrics()) {
            double base = baseline.get(metric);
            double sign = ScoreAccumulator.isLoss(metric) ? -1.0 : 1.0;
            List<double[]> stats = new ArrayList<>();
            for (int g = 0; g < groups.size(); g++) {
                double[] values = new double[repeats];
                for (int r = 0; r < repeats; r++) {
                    values[r] = sign * (base - scores.permuted()[g * repeats + r].metrics().get(metric));
                }
                double mean = Arrays.stream(values).sum() / repeats;
                double std = repeats > 1 ? Math.sqrt(Arrays.stream(values).map(v -> (v - mean) * (v - mean)).sum()
                        / (repeats - 1)) : Double.NaN;
                double half = t * std / Math.sqrt(repeats);
                stats.add(new double[] {mean, std, mean - half, mean + half});
            }
            Integer[] order = new Integer[groups.size()];
            for (int g = 0; g < order.length; g++) {
                order[g] = g;
            }
            Arrays.sort(order, (a, b) -> Double.compare(stats.get(b)[0], stats.get(a)[0]));
            int[] rank = new int[groups.size()];
            for (int i = 0; i < order.length; i++) {
                rank[order[i]] = i + 1;
            }
            for (int g = 0; g < groups.size(); g++) {
                double[] s = stats.get(g);
                results.add(new ImportanceResult(groups.get(g).name(), metric, base, s[0], s[1], s[2], s[3], repeats,
                        rank[g], options.mode().name().toLowerCase(java.util.Locale.ROOT), rows));
            }
        }
        return results;
    }

    /** A partition's rows as arrays. */
    private record Block(long[] ids, double[] x, double[] labels) {
        static Block of(Iterator<Row> it, int inputs) {
            List<Row> rows = new ArrayList<>();
            it.forEachRemaining(rows::add);
            long[] ids = new long[rows.size()];
            double[] x = new double[rows.size() * inputs];
            double[] labels = new double[rows.size()];
            for (int i = 0; i < rows.size(); i++) {
                Row r = rows.get(i);
                ids[i] = r.getLong(0);
                Vector v = (Vector) r.get(1);
                for (int j = 0; j < inputs; j++) {
                    x[i * inputs + j] = v.apply(j);
                }
                labels[i] = r.getDouble(2);
            }
            return new Block(ids, x, labels);
        }
    }
}
