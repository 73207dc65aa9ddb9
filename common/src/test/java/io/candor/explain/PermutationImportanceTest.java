package io.candor.explain;

import io.candor.config.CandorConf;
import io.candor.model.ModelArtifact;
import io.candor.testing.TestSpark;
import io.candor.train.TrainWorkflow;
import io.candor.util.InputException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;

import static io.candor.train.TrainWorkflowTestSupport.conf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Spark ML face gives the CLI's numbers on the same rows and seed. */
class PermutationImportanceTest {
    @TempDir
    Path out;

    @Test
    void transformerOnRawRowsEqualsTheWorkflow() throws Exception {
        SparkSession spark = TestSpark.session();
        CandorConf conf = conf("wine", out, "train.epochs=5", "importance.split=all", "importance.n-repeats=3");
        TrainWorkflow.Outcome trained = TrainWorkflow.run(spark, conf);
        List<ImportanceResult> workflow = ImportanceWorkflow.run(spark, conf).variants().get(0).results();

        ModelArtifact artifact = ModelArtifact.load(spark, new org.apache.hadoop.fs.Path(trained.artifactPath()));
        Dataset<Row> raw = spark.read().option("header", "true").option("inferSchema", "true")
                .csv(TestSpark.sample("wine.csv").toString()).coalesce(1);
        PermutationImportance transformer = new PermutationImportance(artifact).setLabelCol("target")
                .setNRepeats(3).setSeed(conf.seed());
        assertEquals(PermutationImportance.OUTPUT, transformer.transformSchema(raw.schema()));
        List<Row> rows = transformer.transform(raw).collectAsList();
        assertEquals(workflow.size(), rows.size());
        List<ImportanceResult> sorted = workflow.stream()
                .sorted(Comparator.comparing(ImportanceResult::metric).thenComparing(ImportanceResult::feature)).toList();
        List<Row> sortedRows = rows.stream().sorted(Comparator.comparing((Row r) -> r.getString(1))
                .thenComparing(r -> r.getString(0))).toList();
        for (int i = 0; i < sorted.size(); i++) {
            ImportanceResult e = sorted.get(i);
            Row r = sortedRows.get(i);
            assertEquals(e.feature(), r.getString(0));
            assertEquals(e.mean(), r.getDouble(3), 1e-9, e.feature() + " " + e.metric());
            assertEquals(e.ciHigh(), r.getDouble(6), 1e-9, e.feature() + " " + e.metric());
        }
        assertThrows(InputException.class, () -> transformer.transformSchema(raw.drop("alcohol").schema()));

        String saved = out.resolve("importance-stage").toString();
        transformer.write().overwrite().save(saved);
        assertEquals(transformer.analyze(raw), PermutationImportance.load(saved).analyze(raw),
                "the artifact saves with the stage and gives the same results");
        assertTrue(transformer.params().length >= 7, "typed Params are discoverable");
    }
}
