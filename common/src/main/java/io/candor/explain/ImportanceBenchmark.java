package io.candor.explain;

import io.candor.config.CandorConf;
import io.candor.data.PreparedData;
import io.candor.model.ModelArtifact;
import io.candor.model.SingleThreadedBlas;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.util.List;

/**
 * {@code candor bench importance}: throughput of the permutation-importance scorer, measured in one run on one
 * thread (what each Spark task does), against two baselines on the same model and rows: plain batched inference
 * over a pre-built matrix (the ceiling), and the naive explainer that calls the network once per permuted row.
 * Explainer efficiency = explainer evaluations per second ÷ plain rows per second.
 */
public final class ImportanceBenchmark {
    /** Rows measured at most; a larger split measures the same per-row throughput. */
    static final int MAX_ROWS = 50_000;

    private ImportanceBenchmark() {
    }

    public record Result(String model, int rows, int inputs, int pairs, int batchRows, double explainerPerSecond,
                         double plainPerSecond, double naivePerSecond, long explainerCalls) {
        public double efficiency() {
            return explainerPerSecond / plainPerSecond;
        }

        public double speedupOverNaive() {
            return explainerPerSecond / naivePerSecond;
        }
    }

    /** Measured with BLAS on one thread throughout, as in a Spark task (see {@link SingleThreadedBlas}). */
    public static Result run(SparkSession spark, CandorConf conf, String variant) {
        return SingleThreadedBlas.call(() -> measure(spark, conf, variant));
    }

    private static Result measure(SparkSession spark, CandorConf conf, String variant) {
        ModelArtifact artifact = ModelArtifact.load(spark, ModelArtifact.directory(conf, variant));
        PreparedData data = PreparedData.prepareFor(spark, conf.dataset(), ExplainInputs.splitSeed(artifact, conf),
                artifact.featurizer(),
                artifact.metadata().classes(), conf.modelName() + "/" + variant);
        // One thread's throughput needs a matrix, not the whole split: the first MAX_ROWS test rows by row id.
        List<Row> rows = data.split(PreparedData.TEST).select("row_id", "features", "label").orderBy("row_id")
                .limit(MAX_ROWS).collectAsList();
        int n = rows.size();
        int d = data.featurizer().layout().size();
        double[] x = new double[n * d];
        double[] labels = new double[n];
        int[] positions = new int[n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(((Vector) rows.get(i).get(1)).toArray(), 0, x, i * d, d);
            labels[i] = rows.get(i).getDouble(2);
            positions[i] = i;
        }
        NetworkBatchModel model = new NetworkBatchModel(artifact.network(), d, data.outputs(),
                data.isClassification() ? null : data.featurizer().normalizer());
        List<int[]> groups = FeatureGroups.indices(
                FeatureGroups.resolve(data.featurizer().layout(), conf.importance().groups(), variant));
        int repeats = conf.importance().nRepeats();
        long batchValues = conf.importance().batchValues();
        int batchRows = (int) Math.max(1, batchValues / d);
        PermutationScorer scorer = new PermutationScorer(model, groups, repeats, data.isClassification(),
                data.outputs(), batchValues);

        // Plain: the same batch size, a pre-built matrix of the same rows tiled to it.
        double[] matrix = new double[batchRows * d];
        for (int i = 0; i < batchRows; i++) {
            System.arraycopy(x, (i % n) * d, matrix, i * d, d);
        }
        Runnable plainWork = () -> model.predict(matrix, batchRows);
        long evaluations = (long) n * (groups.size() * repeats + 1);
        Runnable explainerWork = () -> scorer.score(x, labels, positions,
                (g, r) -> Permutations.of(conf.seed(), n, g, r, 0), (p, c) -> x[p * d + c], pair -> { });
        long callsBefore = model.calls();
        explainerWork.run();
        long explainerCalls = model.calls() - callsBefore;
        Throughput.Pair measured = Throughput.alternating(plainWork, batchRows, explainerWork, evaluations);
        double plain = measured.plain();
        double explainer = measured.explainer();

        // Naive: one network call per permuted row, over a slice of the work.
        int naiveRows = Math.min(n, 200);
        int[] permutation = Permutations.of(conf.seed(), n, 0, 0, 0);
        int[] firstGroup = groups.get(0);
        Runnable naiveWork = () -> {
            for (int i = 0; i < naiveRows; i++) {
                double[] row = java.util.Arrays.copyOfRange(x, i * d, (i + 1) * d);
                for (int c : firstGroup) {
                    row[c] = x[permutation[i] * d + c];
                }
                model.predict(row, 1);
            }
        };
        naiveWork.run();
        double naive = Throughput.perSecond(naiveWork, naiveRows);
        return new Result(conf.modelName() + "/" + variant, n, d, groups.size() * repeats, batchRows, explainer, plain,
                naive, explainerCalls);
    }
}
