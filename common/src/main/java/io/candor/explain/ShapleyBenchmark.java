package io.candor.explain;

import io.candor.config.CandorConf;
import io.candor.data.PreparedData;
import io.candor.explain.shapley.BackgroundSummary;
import io.candor.explain.shapley.KernelShapEstimator;
import io.candor.explain.shapley.ShapleyParts;
import io.candor.model.SingleThreadedBlas;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.util.List;

/**
 * {@code candor bench shapley}: KernelSHAP throughput on one thread (what each Spark task does), in rows explained
 * per second and model rows (coalition × background evaluations) per second, against plain batched inference over
 * a pre-built matrix of the same rows and model, and the naive explainer that calls the network once per coalition
 * and background row. Explainer efficiency = explainer model rows per second ÷ plain rows per second.
 */
public final class ShapleyBenchmark {
    private ShapleyBenchmark() {
    }

    public record Result(String model, int rows, int players, int coalitions, int backgroundRows,
                         double rowsExplainedPerSecond, double modelRowsPerSecond, double plainPerSecond,
                         double naivePerSecond) {
        public double efficiency() {
            return modelRowsPerSecond / plainPerSecond;
        }

        public double speedupOverNaive() {
            return modelRowsPerSecond / naivePerSecond;
        }
    }

    /** Measured with BLAS on one thread throughout, as in a Spark task (see {@link SingleThreadedBlas}). */
    public static Result run(SparkSession spark, CandorConf conf, String variantName, int rowCount) {
        return SingleThreadedBlas.call(() -> measure(spark, conf, variantName, rowCount));
    }

    private static Result measure(SparkSession spark, CandorConf conf, String variantName, int rowCount) {
        ExplainInputs.Variant variant = ExplainInputs.variants(spark, conf, List.of(variantName)).get(0);
        PreparedData data = variant.data();
        ShapleySpec spec = conf.shapley();
        List<Row> rows = ExplainInputs.rows(data, ImportanceSpec.Split.TEST, rowCount, conf.seed(), 0xBE4CL)
                .select("row_id", "features").collectAsList();
        int d = variant.inputs();
        double[][] x = rows.stream().map(r -> ((Vector) r.get(1)).toArray()).toArray(double[][]::new);
        long[] ids = rows.stream().mapToLong(r -> r.getLong(0)).toArray();
        List<int[]> groups = FeatureGroups.resolve(data.featurizer().layout(), conf.importance().groups(), variantName)
                .stream().map(g -> g.indices().stream().mapToInt(Integer::intValue).toArray()).toList();
        BackgroundSummary.Summary background = BackgroundSummary.of(data.split(PreparedData.TRAIN),
                spec.backgroundMethod(), spec.backgroundSize(), conf.seed(), variant.label(conf));
        ShapleyParts parts = ShapleyParts.of(groups, d, background.rows(), background.weights());
        NetworkBatchModel model = new NetworkBatchModel(variant.artifact().network(), d, data.outputs(),
                data.isClassification() ? null : data.featurizer().normalizer());
        KernelShapEstimator estimator = parts.kernel(model, new KernelShapEstimator.Settings(spec.maxCoalitions(),
                spec.batchValues(), conf.seed(), spec.convergenceThreshold()));
        int last = data.outputs() - 1;

        long before = model.rowsEvaluated();
        estimator.explain(x, ids, last);
        long modelRows = model.rowsEvaluated() - before;
        int batchRows = (int) Math.max(1, spec.batchValues() / (d + data.outputs()));
        double[] matrix = new double[batchRows * d];
        for (int i = 0; i < batchRows; i++) {
            System.arraycopy(x[i % x.length], 0, matrix, i * d, d);
        }
        Throughput.Pair measured = Throughput.alternating(() -> model.predict(matrix, batchRows), batchRows,
                () -> estimator.explain(x, ids, last), modelRows);

        // Naive: one call per (coalition, background row), over a slice of the first row's work.
        double[] row = x[0];
        double[][] bg = background.rows();
        int naiveCalls = 400;
        Runnable naive = () -> {
            for (int i = 0; i < naiveCalls; i++) {
                double[] input = bg[i % bg.length].clone();
                for (int j = 0; j < d; j += 2) {
                    input[j] = row[j]; // a coalition: every other input taken from the row
                }
                model.predict(input, 1);
            }
        };
        naive.run();
        double naivePerSecond = Throughput.perSecond(naive, naiveCalls);
        double rowsPerSecond = measured.explainer() / modelRows * x.length;
        return new Result(variant.label(conf), x.length, groups.size(), estimator.coalitionsPerRow(), bg.length,
                rowsPerSecond, measured.explainer(), measured.plain(), naivePerSecond);
    }
}
