package io.candor.explain;

import io.candor.data.PreparedData;
import io.candor.data.FeatureGroup;
import io.candor.model.ModelArtifact;
import io.candor.testing.ExplainFixtures;
import io.candor.testing.TestSpark;
import io.candor.train.Metrics;
import io.candor.train.TrainWorkflow;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

import static io.candor.train.TrainWorkflowTestSupport.conf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PermutationImportanceJobTest {
    @TempDir
    static Path out;
    static Fixture binary;
    static Fixture regression;

    /** A trained model, its prepared data, and a ModelSource over it. */
    record Fixture(PreparedData data, ModelArtifact artifact, ModelSource source) {
        int inputs() {
            return data.featurizer().layout().size();
        }

        List<FeatureGroup> groups() {
            return data.featurizer().layout().groups();
        }

        BatchModel localModel() {
            return new NetworkBatchModel(artifact.network(), inputs(), data.outputs(),
                    data.isClassification() ? null : data.featurizer().normalizer());
        }
    }

    static Fixture fixture(String dataset) {
        SparkSession spark = TestSpark.session();
        var conf = conf(dataset, out.resolve(dataset), "train.epochs=3");
        TrainWorkflow.Outcome outcome = TrainWorkflow.run(spark, conf);
        ModelArtifact artifact = ModelArtifact.load(spark, new org.apache.hadoop.fs.Path(outcome.artifactPath()));
        PreparedData data = PreparedData.prepare(spark, conf.dataset(), conf.seed());
        var zip = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(artifact.networkZip());
        ModelSource source = new ArtifactModelSource(zip, io.candor.util.Hashing.sha256(artifact.networkZip()),
                data.featurizer().layout().size(), data.outputs(),
                data.isClassification() ? null : data.featurizer().normalizer());
        return new Fixture(data, artifact, source);
    }

    @BeforeAll
    static void train() {
        binary = fixture("breast_cancer");
        regression = fixture("diabetes");
    }

    static PermutationImportanceJob.Options options(ImportanceSpec.Mode mode, List<String> metrics) {
        return new PermutationImportanceJob.Options(4, mode, 3, 11L, 50_000, metrics, "test");
    }

    /** The straightforward single-machine reference: permute a column group of the full matrix, score, repeat. */
    static List<ImportanceResult> reference(Fixture f, Dataset<Row> rows, PermutationImportanceJob.Options o) {
        List<Row> sorted = rows.select("row_id", "features", "label").orderBy("row_id").collectAsList();
        int n = sorted.size();
        int d = f.inputs();
        double[][] x = new double[n][];
        double[] y = new double[n];
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = sorted.get(i).getLong(0);
            x[i] = ((Vector) sorted.get(i).get(1)).toArray();
            y[i] = sorted.get(i).getDouble(2);
        }
        BatchModel model = f.localModel();
        LinkedHashMap<String, Double> base = score(model, x, y, f);
        List<ImportanceResult> results = new ArrayList<>();
        for (String metric : o.metrics()) {
            for (int g = 0; g < f.groups().size(); g++) {
                double[] values = new double[o.repeats()];
                for (int r = 0; r < o.repeats(); r++) {
                    int[] perm = exactPermutation(o.seed(), ids, g, r);
                    double[][] permuted = new double[n][];
                    for (int k = 0; k < n; k++) {
                        permuted[k] = x[k].clone();
                        for (int j : f.groups().get(g).indices()) {
                            permuted[k][j] = x[perm[k]][j];
                        }
                    }
                    double s = score(model, permuted, y, f).get(metric);
                    values[r] = ScoreAccumulator.isLoss(metric) ? s - base.get(metric) : base.get(metric) - s;
                }
                double mean = 0;
                for (double v : values) {
                    mean += v / values.length;
                }
                double ss = 0;
                for (double v : values) {
                    ss += (v - mean) * (v - mean);
                }
                double std = Math.sqrt(ss / (values.length - 1));
                double half = new org.apache.commons.math3.distribution.TDistribution(values.length - 1)
                        .inverseCumulativeProbability(0.975) * std / Math.sqrt(values.length);
                results.add(new ImportanceResult(f.groups().get(g).name(), metric, base.get(metric), mean, std,
                        mean - half, mean + half, o.repeats(), 0, "exact", n));
            }
        }
        return results;
    }

    /** Exact mode's permutation by its definition: the k-th row by id takes the k-th row by donor key. */
    static int[] exactPermutation(long seed, long[] ids, int group, int repeat) {
        Integer[] order = new Integer[ids.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, java.util.Comparator.<Integer>comparingLong(
                i -> PermutationImportanceJob.donorKey(seed, group, repeat, ids[i])).thenComparingLong(i -> ids[i]));
        return java.util.Arrays.stream(order).mapToInt(Integer::intValue).toArray();
    }

    static LinkedHashMap<String, Double> score(BatchModel model, double[][] x, double[] y, Fixture f) {
        int d = f.inputs();
        double[] flat = new double[x.length * d];
        for (int i = 0; i < x.length; i++) {
            System.arraycopy(x[i], 0, flat, i * d, d);
        }
        double[] out = model.predict(flat, x.length);
        int k = model.outputs();
        if (f.data().isClassification()) {
            double[][] probs = new double[x.length][k];
            int[] labels = new int[x.length];
            for (int i = 0; i < x.length; i++) {
                System.arraycopy(out, i * k, probs[i], 0, k);
                labels[i] = (int) y[i];
            }
            LinkedHashMap<String, Double> m = Metrics.classification(probs, labels, k);
            if (k == 2) {
                // Importance reports the AUC of binned scores (AucHistogram, tested against the exact AUC there).
                io.candor.train.AucHistogram auc = new io.candor.train.AucHistogram();
                for (int i = 0; i < x.length; i++) {
                    auc.add(probs[i][1], labels[i] == 1);
                }
                m.put("auc", auc.auc());
            }
            return m;
        }
        return Metrics.regression(out, y);
    }

    static void assertMatches(List<ImportanceResult> expected, List<ImportanceResult> actual, double tolerance) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            ImportanceResult e = expected.get(i);
            ImportanceResult a = actual.get(i);
            String what = a.feature() + "/" + a.metric();
            assertEquals(e.feature(), a.feature());
            assertEquals(e.metric(), a.metric());
            assertEquals(e.baseline(), a.baseline(), tolerance, what + " baseline");
            assertEquals(e.mean(), a.mean(), tolerance, what + " mean");
            assertEquals(e.std(), a.std(), tolerance, what + " std");
            assertEquals(e.ciLow(), a.ciLow(), tolerance, what + " ci low");
            assertEquals(e.ciHigh(), a.ciHigh(), tolerance, what + " ci high");
        }
    }

    @ParameterizedTest(name = "{0} partitions")
    @ValueSource(ints = {1, 2, 7})
    void exactModeEqualsTheSingleMachineReferenceForEveryMetric(int partitions) {
        for (Fixture f : List.of(binary, regression)) {
            Dataset<Row> rows = f.data().split(PreparedData.TEST).repartition(partitions);
            List<String> metrics = ScoreAccumulator.metricNames(f.data().isClassification(), f.data().outputs());
            var o = options(ImportanceSpec.Mode.EXACT, metrics);
            List<ImportanceResult> actual = PermutationImportanceJob.run(TestSpark.session(), rows, f.source(),
                    f.groups(), f.inputs(), f.data().isClassification(), f.data().outputs(), o);
            assertMatches(reference(f, rows, o), actual, 1e-9);
        }
    }

    @Test
    void exactModeIsBitIdenticalOnOneTwoAndFivePartitions() {
        Fixture f = binary;
        Dataset<Row> test = f.data().split(PreparedData.TEST);
        // Two repeats and batches of 16 rows: slices of 2 rows, so more slices than FAN_IN and a two-level merge.
        var o = new PermutationImportanceJob.Options(2, ImportanceSpec.Mode.EXACT, 0, 5L, 16L * f.inputs(),
                List.of("accuracy", "log_loss", "auc"), "test");
        long slices = (test.count() + PermutationImportanceJob.sliceRows(o.batchValues(), f.inputs(),
                f.groups().size() * 2) - 1) / PermutationImportanceJob.sliceRows(o.batchValues(), f.inputs(),
                f.groups().size() * 2);
        assertTrue(slices > PermutationImportanceJob.FAN_IN, slices + " slices");
        List<ImportanceResult> one = PermutationImportanceJob.run(TestSpark.session(), test.repartition(1), f.source(),
                f.groups(), f.inputs(), true, 2, o);
        for (int partitions : new int[] {2, 5}) {
            assertEquals(one, PermutationImportanceJob.run(TestSpark.session(), test.repartition(partitions),
                    f.source(), f.groups(), f.inputs(), true, 2, o), partitions + " partitions");
        }
        assertMatches(reference(f, test, o), one, 1e-9);
    }

    @Test
    void exactPermutationsArePermutationsAndDifferByGroupAndRepeat() {
        long[] ids = {3, 10, 11, 40, 41, 42, 99, 100};
        int[] a = exactPermutation(7, ids, 0, 0);
        assertEquals(java.util.stream.IntStream.range(0, ids.length).boxed().toList(),
                java.util.Arrays.stream(a).sorted().boxed().toList());
        assertTrue(!java.util.Arrays.equals(a, exactPermutation(7, ids, 1, 0))
                || !java.util.Arrays.equals(a, exactPermutation(7, ids, 0, 1)));
    }

    @Test
    void aRetriedTaskGivesIdenticalNumbers() {
        Fixture f = binary;
        Dataset<Row> rows = f.data().split(PreparedData.TEST).repartition(3);
        var o = options(ImportanceSpec.Mode.EXACT, List.of("accuracy", "auc", "log_loss"));
        List<ImportanceResult> undisturbed = PermutationImportanceJob.run(TestSpark.session(), rows, f.source(),
                f.groups(), f.inputs(), true, 2, o);
        int before = ExplainFixtures.INJECTED.get();
        ModelSource failsOnce = ExplainFixtures.failingFirstAttemptOfPartition1(f.source());
        List<ImportanceResult> retried = PermutationImportanceJob.run(TestSpark.session(), rows, failsOnce,
                f.groups(), f.inputs(), true, 2, o);
        assertEquals(before + 1, ExplainFixtures.INJECTED.get(), "the first attempt of partition 1 failed and was retried");
        assertEquals(undisturbed, retried, "bit-identical after a retry");
    }

    @Test
    void blockModeIsDeterministicWhateverThePartitioning() {
        Fixture f = binary;
        var o = options(ImportanceSpec.Mode.BLOCK, List.of("accuracy", "log_loss"));
        Dataset<Row> test = f.data().split(PreparedData.TEST);
        List<ImportanceResult> a = PermutationImportanceJob.run(TestSpark.session(), test.repartition(1), f.source(),
                f.groups(), f.inputs(), true, 2, o);
        List<ImportanceResult> b = PermutationImportanceJob.run(TestSpark.session(), test.repartition(5), f.source(),
                f.groups(), f.inputs(), true, 2, o);
        assertMatches(a, b, 1e-12);
        assertTrue(a.stream().allMatch(r -> r.mode().equals("block")));
        // Permuting within blocks still finds what matters: the top feature is clearly important.
        double top = a.stream().filter(r -> r.metric().equals("log_loss")).mapToDouble(ImportanceResult::mean).max()
                .orElseThrow();
        assertTrue(top > 0.01, "largest block-mode log-loss importance " + top);
    }

    @Test
    void eachTaskCallsTheNetworkOncePerBatchNotPerRow() {
        Fixture f = binary;
        List<Row> rows = f.data().split(PreparedData.TEST).select("row_id", "features", "label").collectAsList();
        int n = rows.size();
        double[] x = new double[n * f.inputs()];
        double[] y = new double[n];
        int[] positions = new int[n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(((Vector) rows.get(i).get(1)).toArray(), 0, x, i * f.inputs(), f.inputs());
            y[i] = rows.get(i).getDouble(2);
            positions[i] = i;
        }
        NetworkBatchModel model = (NetworkBatchModel) f.localModel();
        long batchValues = 200_000;
        int repeats = 3;
        PermutationScorer scorer = new PermutationScorer(model, groupsOf(f), repeats, true, 2, batchValues);
        scorer.score(x, y, positions, (g, r) -> Permutations.of(1, n, g, r, 0), (p, c) -> x[p * f.inputs() + c],
                pair -> { });
        long evaluations = (long) n * (f.groups().size() * repeats + 1);
        long capacity = batchValues / f.inputs();
        assertEquals(evaluations, model.rowsEvaluated());
        assertEquals((evaluations + capacity - 1) / capacity, model.calls(), "network calls");
        assertTrue(model.calls() < n, "fewer calls than rows: " + model.calls());
    }

    static List<int[]> groupsOf(Fixture f) {
        return f.groups().stream().map(g -> g.indices().stream().mapToInt(Integer::intValue).toArray()).toList();
    }
}
