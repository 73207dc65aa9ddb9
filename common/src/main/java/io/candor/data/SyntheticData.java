package io.candor.data;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

import java.util.ArrayList;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.pmod;
import static org.apache.spark.sql.functions.when;
import static org.apache.spark.sql.functions.xxhash64;

/**
 * A seeded synthetic binary-classification table generated inside Spark, for benchmarks at sizes no sample file has:
 * columns {@code id}, {@code f0 .. f(d-1)} and {@code label}. Every value is a hash of (seed, id, column), so a row does
 * not depend on the partitioning or the machine, and the data never passes through the driver.
 *
 * <p>Features are uniform on [-1, 1); the label is 1 when {@code sum_j w_j f_j + 0.5 f0 f1 + noise > 0}, with weights
 * {@code w_j = 1 / (j + 1)} (so feature importance falls with the index, a ranking a benchmark can check) and uniform
 * noise on [-0.25, 0.25).
 */
public final class SyntheticData {
    public static final String ID = "id";
    public static final String LABEL = "label";
    private static final long UNIFORM_BITS = 1L << 24;

    private SyntheticData() {
    }

    public static String feature(int j) {
        return "f" + j;
    }

    /** The table, lazily: {@code rows} rows in {@code partitions} partitions. */
    public static Dataset<Row> generate(SparkSession spark, long rows, int features, long seed, int partitions) {
        if (rows < 1 || features < 2 || partitions < 1) {
            throw new IllegalArgumentException("SyntheticData needs rows >= 1, features >= 2 and partitions >= 1, got "
                    + rows + ", " + features + ", " + partitions);
        }
        List<Column> columns = new ArrayList<>();
        columns.add(col(ID));
        Column score = lit(0.0);
        for (int j = 0; j < features; j++) {
            Column f = uniform(seed, j).multiply(2).minus(1).as(feature(j));
            columns.add(f);
            score = score.plus(uniform(seed, j).multiply(2).minus(1).multiply(1.0 / (j + 1)));
        }
        Column interaction = uniform(seed, 0).multiply(2).minus(1).multiply(uniform(seed, 1).multiply(2).minus(1));
        Column noise = uniform(seed, features).minus(0.5).multiply(0.5);
        score = score.plus(interaction.multiply(0.5)).plus(noise);
        columns.add(when(score.gt(0), 1).otherwise(0).as(LABEL));
        return spark.range(0, rows, 1, partitions).select(columns.toArray(new Column[0]));
    }

    /** Writes the table as Parquet to {@code path}, replacing what is there. */
    public static void write(SparkSession spark, long rows, int features, long seed, int partitions, String path) {
        generate(spark, rows, features, seed, partitions).write().mode(SaveMode.Overwrite).parquet(path);
    }

    /** Uniform on [0, 1) with 24 bits, from a hash of (seed, id, column): exact in a double, the same everywhere. */
    private static Column uniform(long seed, int column) {
        return pmod(xxhash64(lit(seed), col(ID), lit(column)), lit(UNIFORM_BITS)).divide((double) UNIFORM_BITS);
    }
}
