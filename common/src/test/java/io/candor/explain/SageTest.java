package io.candor.explain;

import io.candor.testing.TestSpark;
import io.candor.util.InputException;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Sage} on an application's own DataFrame and network ({@link ApplicationData}): the values do not depend on
 * partitioning or on a save and load, rank the driving feature above the noise one, and bad input fails naming it.
 */
class SageTest {
    private static SparkSession spark;
    private static ApplicationData app;

    @BeforeAll
    static void applicationData() {
        spark = TestSpark.session();
        app = ApplicationData.create(spark);
    }

    private static Sage sage() {
        return new Sage().setNetwork(app.network()).setBackgroundSize(8).setSampleRows(ApplicationData.ROWS)
                .setMaxPermutationPairs(512).setConvergenceFraction(0).setSeed(5);
    }

    @Test
    void valuesDoNotDependOnPartitioningOrASaveAndLoad(@TempDir Path dir) throws Exception {
        Sage.Summary one = sage().analyze(app.frame().coalesce(1));
        Sage.Summary five = sage().analyze(app.frame().repartition(5, col("label")));
        assertArrayEquals(one.result().values(), five.result().values(), "values, 1 vs 5 partitions");
        assertArrayEquals(one.result().stdError(), five.result().stdError(), "standard errors, 1 vs 5 partitions");

        String path = dir.resolve("sage").toString();
        sage().write().overwrite().save(path);
        Sage loaded = Sage.load(path);
        assertEquals(5L, loaded.getSeed(), "Params saved");
        assertEquals(512, loaded.getMaxPermutationPairs(), "Params saved");
        assertEquals(one.result(), loaded.analyze(app.frame()).result(), "after save and load");
        assertEquals(one.total(), loaded.evaluate(app.frame()), 0.0, "evaluate is the total of analyze");
    }

    @Test
    void theDrivingFeatureOutranksTheNoiseFeature() {
        Sage.Summary s = sage().analyze(app.frame());
        assertEquals(List.of("features[0]", "features[1]", "features[2]", "features[3]", "features[4]"), s.players());
        assertEquals(ApplicationData.ROWS, s.rows(), "every row sampled");
        assertEquals(512, s.result().permutationPairs(), "convergence fraction 0 draws every pair");
        double[] v = s.result().values();
        double[] se = s.result().stdError();
        for (int j = 1; j < v.length; j++) {
            assertTrue(v[0] > v[j] + 2 * (se[0] + se[j]), "x0 drives the label: " + v[0] + " vs x" + j + " " + v[j]);
        }
        // x4 is not in the label; what the network makes of it is small against x0's share.
        assertTrue(Math.abs(v[4]) < 0.15 * v[0], "noise feature x4 " + v[4] + " vs x0 " + v[0]);
        assertTrue(s.total() > 0, "the features explain some of the loss: " + s.total());

        Dataset<Row> table = s.toDF(spark);
        assertEquals(5, table.count());
        assertEquals(v[0], table.where(col("player").equalTo("features[0]")).first().getDouble(1), 0.0);
    }

    @Test
    void aGroupIsOnePlayerAndTheOtherIndicesStayPlayersOfTheirOwn() {
        Sage.Summary s = sage().setGroups("interaction=1,2").setMaxPermutationPairs(128).analyze(app.frame());
        assertEquals(List.of("interaction", "features[0]", "features[3]", "features[4]"), s.players());
        assertEquals(4, s.result().values().length);
    }

    @Test
    void badInputFailsNamingWhatIsWrong() {
        InputException noLabel = assertThrows(InputException.class,
                () -> sage().setLabelCol("target").analyze(app.frame()));
        assertTrue(noLabel.getMessage().contains("labelCol \"target\" is not a column"), noLabel.getMessage());

        InputException text = assertThrows(InputException.class,
                () -> sage().analyze(app.frame().withColumn("label", lit("yes"))));
        assertTrue(text.getMessage().contains("expected a numeric type"), text.getMessage());

        InputException range = assertThrows(InputException.class,
                () -> sage().analyze(app.frame().withColumn("label", col("label").plus(1))));
        assertTrue(range.getMessage().contains("expected a class index 0..1"), range.getMessage());

        Dataset<Row> narrow = spark.createDataFrame(List.of(RowFactory.create(0L, Vectors.dense(1, 2, 3), 0.0),
                RowFactory.create(1L, Vectors.dense(3, 2, 1), 1.0)), new StructType()
                .add("row_id", DataTypes.LongType).add("features", SQLDataTypes.VectorType())
                .add("label", DataTypes.DoubleType));
        InputException width = assertThrows(InputException.class,
                () -> sage().setBackgroundSize(1).analyze(narrow));
        assertTrue(width.getMessage().contains("expected the network's 5 inputs"), width.getMessage());

        InputException overlap = assertThrows(InputException.class,
                () -> sage().setGroups("a=0,1", "b=1").analyze(app.frame()));
        assertTrue(overlap.getMessage().contains("already in another group"), overlap.getMessage());

        InputException noNetwork = assertThrows(InputException.class, () -> new Sage().analyze(app.frame()));
        assertTrue(noNetwork.getMessage().contains("expected setNetwork"), noNetwork.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Sage().setGroups("no equals sign"),
                "a malformed group is refused when set");
    }
}
