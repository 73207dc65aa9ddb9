package io.candor.explain;

import io.candor.config.CandorConf;
import io.candor.data.PreparedData;
import io.candor.model.ModelArtifact;
import io.candor.quant.QatWorkflow;
import io.candor.testing.TestSpark;
import io.candor.train.TrainWorkflow;
import io.candor.train.TrainWorkflowTestSupport;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class ExplainInputsTest {
    @TempDir
    Path out;

    @Test
    void aTeacherAndTheTwinBuiltFromItShareOnePreparationOfTheData() {
        SparkSession spark = TestSpark.session();
        CandorConf conf = TrainWorkflowTestSupport.conf("breast_cancer", out, "train.epochs=2", "qat.mode=ptq");
        TrainWorkflow.run(spark, conf);
        String twin = QatWorkflow.run(spark, conf).variant();

        List<ExplainInputs.Variant> variants = ExplainInputs.variants(spark, conf, List.of("teacher-fp32", twin));
        try {
            assertEquals(List.of("teacher-fp32", twin), variants.stream().map(ExplainInputs.Variant::name).toList());
            PreparedData teacher = variants.get(0).data();
            assertSame(teacher, variants.get(1).data(), "one read, featurization and cache for both variants");
            ModelArtifact twinArtifact = variants.get(1).artifact();
            PreparedData alone = PreparedData.prepareFor(spark, conf.dataset(),
                    ExplainInputs.splitSeed(twinArtifact, conf), twinArtifact.featurizer(),
                    twinArtifact.metadata().classes(), twin);
            assertEquals(alone.testRows(), teacher.testRows(), "the twin's own preparation has the same test split");
            assertEquals(alone.split(PreparedData.TEST).collectAsList(), teacher.split(PreparedData.TEST)
                    .collectAsList(), "and the same featurized rows");
            alone.release();
        } finally {
            variants.forEach(v -> v.data().release());
        }
    }
}
