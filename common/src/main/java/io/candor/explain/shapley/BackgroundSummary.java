package io.candor.explain.shapley;

import io.candor.data.Featurizer;
import io.candor.data.TabularReader;
import io.candor.explain.ShapleySpec;
import io.candor.util.InputException;
import io.candor.util.Seeds;
import org.apache.spark.ml.clustering.KMeans;
import org.apache.spark.ml.clustering.KMeansModel;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;

import java.util.ArrayList;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

/**
 * The reference distribution of Shapley values, summarised with Spark: MLlib {@link KMeans} on the model inputs of
 * the training split, each centre weighted by its cluster's share of rows (as shap's {@code kmeans} background), or a
 * seeded sample of rows with equal weights.
 */
public final class BackgroundSummary {
    private static final long SAMPLE_STREAM = 0xBAC6L;

    private BackgroundSummary() {
    }

    /** Rows and weights of the background; {@code rows} has {@code features}. */
    public record Summary(double[][] rows, double[] weights) {
    }

    public static Summary of(Dataset<Row> rows, ShapleySpec.BackgroundMethod method, int size, long seed,
                             String source) {
        long available = rows.count();
        if (size > available) {
            throw new InputException("conf key shapley.background.size: " + size + " is larger than the " + available
                    + " rows of " + source + " (expected at most the number of rows)");
        }
        if (method == ShapleySpec.BackgroundMethod.SAMPLE) {
            var order = udf((UDF1<Long, Double>) id -> Seeds.uniform(seed, SAMPLE_STREAM, id), DataTypes.DoubleType);
            List<Row> sample = rows.orderBy(order.apply(col(TabularReader.ROW_ID))).limit(size)
                    .select(Featurizer.FEATURES).collectAsList();
            double[][] values = new double[sample.size()][];
            double[] weights = new double[sample.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = ((Vector) sample.get(i).get(0)).toArray();
                weights[i] = 1.0;
            }
            return new Summary(values, weights);
        }
        KMeansModel model = new KMeans().setK(size).setSeed(seed).setFeaturesCol(Featurizer.FEATURES)
                .setPredictionCol("cluster").setMaxIter(50)
                // One partition in row-id order: MLlib merges per-partition sums in the order tasks finish, which
                // would make the centres, and every Shapley value, differ in the last bits between runs and clusters.
                .fit(rows.orderBy(TabularReader.ROW_ID).coalesce(1));
        Vector[] centres = model.clusterCenters();
        long[] sizes = model.summary().clusterSizes();
        List<double[]> kept = new ArrayList<>();
        List<Double> weights = new ArrayList<>();
        for (int c = 0; c < centres.length; c++) {
            if (sizes[c] > 0) { // an empty cluster carries no probability mass
                kept.add(centres[c].toArray());
                weights.add((double) sizes[c]);
            }
        }
        return new Summary(kept.toArray(new double[0][]), weights.stream().mapToDouble(Double::doubleValue).toArray());
    }
}
