package io.candor.data;

import io.candor.testing.TestSpark;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.apache.spark.sql.functions.avg;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.corr;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyntheticDataTest {
    private final SparkSession spark = TestSpark.session();

    @Test
    void rowsDependOnTheSeedAndIdNotOnThePartitioning() {
        List<Row> one = SyntheticData.generate(spark, 5_000, 6, 42, 1).orderBy("id").collectAsList();
        List<Row> seven = SyntheticData.generate(spark, 5_000, 6, 42, 7).orderBy("id").collectAsList();
        assertEquals(one, seven);
        List<Row> otherSeed = SyntheticData.generate(spark, 5_000, 6, 43, 1).orderBy("id").collectAsList();
        assertTrue(!one.equals(otherSeed), "another seed gives other rows");
    }

    @Test
    void featuresAreUniformAndTheLabelFollowsTheWeights() {
        Dataset<Row> d = SyntheticData.generate(spark, 40_000, 5, 7, 4);
        Row r = d.agg(min("f0"), max("f0"), avg("f0"), avg("label"), corr(col("f0"), col("label")),
                corr(col("f4"), col("label"))).first();
        assertTrue(r.getDouble(0) >= -1 && r.getDouble(1) < 1, "features lie in [-1, 1)");
        assertEquals(0.0, r.getDouble(2), 0.02, "mean of a uniform on [-1, 1)");
        assertEquals(0.5, r.getDouble(3), 0.05, "labels about balanced");
        // w0 = 1 and w4 = 1/5: the first feature tells more about the label than the last.
        assertTrue(r.getDouble(4) > 0.4 && r.getDouble(5) > 0.02 && r.getDouble(4) > 3 * r.getDouble(5),
                "label correlations f0 " + r.getDouble(4) + ", f4 " + r.getDouble(5));
    }
}
