package io.candor.explain;

import io.candor.data.Featurizer;
import io.candor.data.FeatureGroup;
import io.candor.data.TabularReader;
import io.candor.model.SingleThreadedBlas;
import io.candor.util.ProgressReporter;
import io.candor.util.Seeds;
import org.apache.commons.math3.distribution.TDistribution;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
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
 * all (group, repeat) permutations of its rows in one scan with {@link PermutationScorer}; the tasks'
 * {@link ScoreAccumulator}s are merged in task order in a fixed tree ({@link #mergeInOrder}), so metrics such as AUC
 * are exact over all rows and a retried task changes nothing. No mode brings rows to the driver.
 * <ul>
 *   <li>{@code EXACT}: one global permutation of all rows per (group, repeat), defined by sorting row ids by a seeded
 *   hash ({@link #donorKey}); one sort and one shuffle bring each row its donors for every pair, and the result is
 *   bit-identical for any partitioning and equals a single-machine run with the same permutations.</li>
 *   <li>{@code BLOCK}: rows are assigned to blocks by a hash of (seed, row id) and permuted within their block, so
 *   no task needs other tasks' rows; for data too large to broadcast.</li>
 * </ul>
 */
public final class PermutationImportanceJob {
    private static final long BLOCK_STREAM = 0xB10CL;
    private static final long EXACT_STREAM = 0xE8AC7L;
    /** Network batches per exact-mode slice (one task). */
    static final int SLICE_BATCHES = 4;
    /** Summaries merged per step of {@link #mergeInOrder}. */
    static final int FAN_IN = 32;

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
        List<int[]> groupIndices = FeatureGroups.indices(groups);
        int pairs = groups.size() * options.repeats();
        LongAccumulator done = spark.sparkContext().longAccumulator("candor.importance.pairs");
        Dataset<Row> input = rows.select(TabularReader.ROW_ID, Featurizer.FEATURES, TabularReader.LABEL);
        long seed = options.seed();
        int repeats = options.repeats();
        long batchValues = options.batchValues();
        long rowCount = input.count();
        if (rowCount == 0) {
            throw new io.candor.util.InputException("permutation importance: no rows to evaluate (expected a non-empty split)");
        }
        JavaPairRDD<Integer, PermutationScorer.BlockScores> partials;
        int tasks;
        if (options.mode() == ImportanceSpec.Mode.EXACT) {
            long sliceRows = sliceRows(batchValues, inputs, pairs);
            tasks = (int) ((rowCount + sliceRows - 1) / sliceRows);
            partials = exact(input, source, groupIndices, inputs, classification, classes, options, rowCount, sliceRows,
                    tasks, done);
        } else {
            int blocks = options.blocks() > 0 ? options.blocks() : Math.max(1, jsc.defaultParallelism());
            var blockOf = udf((UDF1<Long, Integer>) id -> (int) Math.floor(Seeds.uniform(seed, BLOCK_STREAM, id) * blocks),
                    DataTypes.IntegerType);
            Dataset<Row> assigned = input.withColumn("block", blockOf.apply(col(TabularReader.ROW_ID)))
                    .repartition(blocks, col("block"));
            tasks = blocks;
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
                        int blockId = e.getKey();
                        double[] x = block.x;
                        merged.merge(scorer.score(x, block.labels, identity(m),
                                (g, r) -> Permutations.of(seed, m, g, r, blockId + 1L),
                                (p, c) -> x[p * inputs + c], pair -> { }));
                    }
                    return merged;
                });
                done.add(pairs);
                return List.of(new Tuple2<>(index, scores)).iterator();
            }, true).mapToPair(t -> t);
        }
        PermutationScorer.BlockScores total;
        try (ProgressReporter progress = new ProgressReporter(options.label(), "(feature, repeat) pairs",
                (long) pairs * tasks, done)) {
            total = mergeInOrder(partials, tasks);
            progress.finish();
        }
        return summarise(total, groups, options, rowCount);
    }

    /**
     * Exact mode without a driver-side copy of the rows. One sort of (pair, donor key, row id) brings, for every
     * (group, repeat) pair, the donor of id-rank k to global position (pair + 1) × n + k, and the rows themselves (pair
     * −1, keyed by id) to position k; a shuffle by k then gives each slice of {@code sliceRows} id-ranks its rows with
     * all their donors, and each slice is one task. The slices depend only on the data and the options, so each
     * network batch, and so every bit of the result, is the same for any partitioning of the input.
     */
    private static JavaPairRDD<Integer, PermutationScorer.BlockScores> exact(
            Dataset<Row> input, ModelSource source, List<int[]> groupIndices, int inputs, boolean classification,
            int classes, Options options, long n, long sliceRows, int slices, LongAccumulator done) {
        long seed = options.seed();
        int repeats = options.repeats();
        long batchValues = options.batchValues();
        int pairs = groupIndices.size() * repeats;
        JavaPairRDD<SortKey, double[]> records = input.javaRDD().flatMapToPair(row -> {
            long id = row.getLong(0);
            double[] x = ((Vector) row.get(1)).toArray();
            List<Tuple2<SortKey, double[]>> out = new ArrayList<>(pairs + 1);
            double[] own = Arrays.copyOf(x, inputs + 1);
            own[inputs] = row.getDouble(2);
            out.add(new Tuple2<>(new SortKey(-1, id, id), own));
            for (int p = 0; p < pairs; p++) {
                int[] columns = groupIndices.get(p / repeats);
                double[] values = new double[columns.length];
                for (int i = 0; i < columns.length; i++) {
                    values[i] = x[columns[i]];
                }
                out.add(new Tuple2<>(new SortKey(p, donorKey(seed, p / repeats, p % repeats, id), id), values));
            }
            return out.iterator();
        });
        // zipWithIndex after a total-order sort numbers the records the same way for any partitioning.
        JavaPairRDD<Long, Tuple2<Integer, double[]>> byRank = records.sortByKey().zipWithIndex().mapToPair(t -> {
            SortKey key = t._1()._1();
            return new Tuple2<>(t._2() - (key.pair() + 1L) * n, new Tuple2<>(key.pair(), t._1()._2()));
        });
        int[][] slot = new int[groupIndices.size()][inputs];
        for (int g = 0; g < groupIndices.size(); g++) {
            for (int i = 0; i < groupIndices.get(g).length; i++) {
                slot[g][groupIndices.get(g)[i]] = i;
            }
        }
        return byRank.partitionBy(new SlicePartitioner(slices, sliceRows)).mapPartitionsWithIndex((slice, it) -> {
            long first = slice * sliceRows;
            int m = (int) Math.min(sliceRows, n - first);
            double[] x = new double[m * inputs];
            double[] labels = new double[m];
            double[][] donors = new double[pairs][];
            for (int p = 0; p < pairs; p++) {
                donors[p] = new double[m * groupIndices.get(p / repeats).length];
            }
            it.forEachRemaining(t -> {
                int k = (int) (t._1() - first);
                int p = t._2()._1();
                double[] values = t._2()._2();
                if (p < 0) {
                    System.arraycopy(values, 0, x, k * inputs, inputs);
                    labels[k] = values[inputs];
                } else {
                    System.arraycopy(values, 0, donors[p], k * values.length, values.length);
                }
            });
            PermutationScorer scorer = new PermutationScorer(source.open(), groupIndices, repeats, classification,
                    classes, batchValues);
            // Donor position q = pair × m + k: one index names both the pair's donor table and the row.
            PermutationScorer.BlockScores scores = SingleThreadedBlas.call(() -> scorer.score(x, labels, identity(m),
                    (g, r) -> {
                        int[] permutation = identity(m);
                        for (int k = 0; k < m; k++) {
                            permutation[k] += (g * repeats + r) * m;
                        }
                        return permutation;
                    },
                    (q, c) -> {
                        int p = q / m;
                        int g = p / repeats;
                        return donors[p][(q % m) * groupIndices.get(g).length + slot[g][c]];
                    }, pair -> {
                        if (pair >= 0) {
                            done.add(1);
                        }
                    }));
            return List.of(new Tuple2<>(slice, scores)).iterator();
        }, true).mapToPair(t -> t);
    }

    /**
     * Exact mode's permutation of (group, repeat): the row of id-rank k takes the group's values from the row whose
     * key has rank k (ties, which need equal 64-bit hashes, broken by row id), a uniformly random permutation that a
     * sort computes anywhere.
     */
    static long donorKey(long seed, int group, int repeat, long rowId) {
        return Seeds.derive(seed, EXACT_STREAM, group, repeat, rowId);
    }

    /** Rows per exact-mode slice: {@link #SLICE_BATCHES} full network batches of all pairs, within int indices. */
    static long sliceRows(long batchValues, int inputs, int pairs) {
        long batchRows = Math.max(1, batchValues / inputs);
        return Math.max(1, Math.min(SLICE_BATCHES * batchRows / (pairs + 1), Integer.MAX_VALUE / (pairs + 1L)));
    }

    /**
     * The indexed summaries merged in index order, in a tree of fixed fan-in run on the executors down to one, which
     * is all the driver receives: its heap then holds one summary (groups x repeats histograms), whatever the tasks.
     */
    static PermutationScorer.BlockScores mergeInOrder(JavaPairRDD<Integer, PermutationScorer.BlockScores> parts,
                                                      int count) {
        while (count > 1) {
            count = (count + FAN_IN - 1) / FAN_IN;
            parts = parts.mapToPair(t -> new Tuple2<>(t._1() / FAN_IN, t)).groupByKey(count)
                    .mapToPair(g -> {
                        List<Tuple2<Integer, PermutationScorer.BlockScores>> members = new ArrayList<>();
                        g._2().forEach(members::add);
                        return new Tuple2<>(g._1(), mergeAll(members));
                    });
        }
        return mergeAll(new ArrayList<>(parts.collect()));
    }

    private static PermutationScorer.BlockScores mergeAll(List<Tuple2<Integer, PermutationScorer.BlockScores>> parts) {
        parts.sort(Comparator.comparingInt(Tuple2::_1));
        PermutationScorer.BlockScores total = parts.get(0)._2();
        for (int i = 1; i < parts.size(); i++) {
            total = total.merge(parts.get(i)._2());
        }
        return total;
    }

    private static int[] identity(int m) {
        int[] p = new int[m];
        for (int i = 0; i < m; i++) {
            p[i] = i;
        }
        return p;
    }

    /** Sort key of exact mode's one sort: pair −1 holds the rows keyed by id, pair p the donors keyed by hash. */
    record SortKey(int pair, long key, long id) implements Comparable<SortKey>, java.io.Serializable {
        @Override
        public int compareTo(SortKey o) {
            int c = Integer.compare(pair, o.pair);
            if (c == 0) {
                c = Long.compare(key, o.key);
            }
            return c != 0 ? c : Long.compare(id, o.id);
        }
    }

    /** Id-rank k to slice k / sliceRows: contiguous, data-defined slices. */
    private static final class SlicePartitioner extends org.apache.spark.Partitioner {
        private final int slices;
        private final long sliceRows;

        SlicePartitioner(int slices, long sliceRows) {
            this.slices = slices;
            this.sliceRows = sliceRows;
        }

        @Override
        public int numPartitions() {
            return slices;
        }

        @Override
        public int getPartition(Object key) {
            return (int) ((Long) key / sliceRows);
        }
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
