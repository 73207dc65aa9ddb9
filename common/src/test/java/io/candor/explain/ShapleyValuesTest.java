package io.candor.explain;

import io.candor.model.CandorModel;
import io.candor.model.ModelArtifact;
import io.candor.testing.TestSpark;
import io.candor.train.TrainWorkflow;
import io.candor.util.InputException;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static io.candor.train.TrainWorkflowTestSupport.conf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The Spark ML face of per-row Shapley values: columns added to the user's rows, locally accurate. */
class ShapleyValuesTest {
    @TempDir
    Path out;

    @Test
    void addsLocallyAccurateShapleyValuesToEachRow() {
        SparkSession spark = TestSpark.session();
        TrainWorkflow.Outcome trained = TrainWorkflow.run(spark, conf("wine", out, "train.epochs=5"));
        ModelArtifact artifact = ModelArtifact.load(spark, new org.apache.hadoop.fs.Path(trained.artifactPath()));
        Dataset<Row> raw = spark.read().option("header", "true").option("inferSchema", "true")
                .csv(TestSpark.sample("wine.csv").toString());
        Dataset<Row> some = raw.limit(12).coalesce(2);
        ShapleyValues shap = new ShapleyValues(artifact, raw).setOutput(2).setBackgroundSize(8).setMaxCoalitions(512);
        List<Row> explained = shap.transform(some).collectAsList();
        List<Row> predicted = new CandorModel(artifact).transform(some).select("probability").collectAsList();
        assertEquals(12, explained.size());
        assertEquals(13, shap.groupNames().size());
        for (int i = 0; i < explained.size(); i++) {
            Row r = explained.get(i);
            List<Double> phi = r.getList(r.fieldIndex("shap_phi"));
            double sum = r.getDouble(r.fieldIndex("shap_base"));
            for (double p : phi) {
                sum += p;
            }
            double probability = ((Vector) predicted.get(i).get(0)).apply(2);
            assertEquals(probability, sum, 1e-5, "row " + i + ": base + sum of phi = f(x)");
        }
        assertThrows(InputException.class, () -> shap.transformSchema(raw.drop("hue").schema()));
        assertThrows(InputException.class, () -> shap.setOutput(3).transformSchema(raw.schema()));
    }
}
