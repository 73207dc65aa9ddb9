package io.candor.distill;

import io.candor.config.CandorConf;
import io.candor.model.ModelArtifact;
import io.candor.store.Table;
import io.candor.store.TableWriter;
import io.candor.testing.TestSpark;
import io.candor.train.TrainWorkflow;
import io.candor.train.TrainWorkflowTestSupport;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code candor distill} end to end: student quality against the teacher and against label-only training. */
class DistillWorkflowTest {
    @TempDir
    static Path out;

    private static final Set<String> TRAINED = new HashSet<>();

    /** Student confs: digits a small conv net, adult one narrow dense layer. */
    static final String[] DIGITS = {"distill.student.architecture=conv", "distill.student.conv.filters=[4, 8]",
            "distill.student.hidden=[32]"};
    static final String[] ADULT = {"distill.student.hidden=[16]"};

    static synchronized CandorConf conf(String dataset, String... overrides) {
        if (TRAINED.add(dataset)) {
            TrainWorkflow.run(TestSpark.session(), TrainWorkflowTestSupport.conf(dataset, out));
        }
        List<String> all = new ArrayList<>(List.of(dataset.equals("digits") ? DIGITS : ADULT));
        all.addAll(List.of(overrides));
        return TrainWorkflowTestSupport.conf(dataset, out, all.toArray(new String[0]));
    }

    private static double testAccuracy(DistillWorkflow.Outcome o) {
        return o.studentMetrics().get("test").get("accuracy");
    }

    /** Mean test accuracy over run seeds 1, 2, 3 (student initialisation and minibatch order). */
    private static double meanOverSeeds(String dataset, double alpha) {
        double sum = 0;
        for (int seed = 1; seed <= 3; seed++) {
            sum += testAccuracy(DistillWorkflow.run(TestSpark.session(), conf(dataset, "run.seed=" + seed,
                    "distill.alpha=" + alpha)));
        }
        return sum / 3;
    }

    private static void distilledStudentIsSmallCloseToTheTeacherAndBeatsLabelsAlone(String dataset) {
        DistillWorkflow.Outcome distilled = DistillWorkflow.run(TestSpark.session(), conf(dataset));
        double teacher = distilled.teacherMetrics().get("test").get("accuracy");
        assertTrue(distilled.studentParameters() <= 0.25 * distilled.teacherParameters(), dataset + ": student "
                + distilled.studentParameters() + " vs teacher " + distilled.teacherParameters() + " parameters");
        assertTrue(testAccuracy(distilled) >= teacher - 0.01, dataset + ": distilled " + testAccuracy(distilled)
                + " vs teacher " + teacher);
        double soft = meanOverSeeds(dataset, 0.7);
        double labelsOnly = meanOverSeeds(dataset, 0.0); // alpha = 0 is plain cross-entropy (DistillationLossTest)
        assertTrue(soft >= labelsOnly, dataset + ": distilled mean " + soft + " vs labels-only mean " + labelsOnly);
    }

    @Test
    void digitsStudentIsWithinOnePointOfTheTeacherAndBeatsLabelsAlone() {
        distilledStudentIsSmallCloseToTheTeacherAndBeatsLabelsAlone("digits");
    }

    @Test
    void adultStudentIsWithinOnePointOfTheTeacherAndBeatsLabelsAlone() {
        distilledStudentIsSmallCloseToTheTeacherAndBeatsLabelsAlone("adult");
    }

    @Test
    void theTeacherLogitsTableIsReusedAndGivesTheSameStudent() throws Exception {
        SparkSession spark = TestSpark.session();
        CandorConf conf = conf("digits", "model.name=digits_reuse", "distill.teacher="
                + ModelArtifact.directory(out.toAbsolutePath().toString(), "digits", "teacher-fp32"));
        DistillWorkflow.Outcome first = DistillWorkflow.run(spark, conf);
        assertTrue(first.teacherRan(), "the first run computes the table");
        long written = Files.getLastModifiedTime(Paths.get(first.logitsPath())).toMillis();
        DistillWorkflow.Outcome second = DistillWorkflow.run(spark, conf);
        assertFalse(second.teacherRan(), "the second run reads the table instead of running the teacher");
        assertEquals(written, Files.getLastModifiedTime(Paths.get(second.logitsPath())).toMillis());
        assertEquals(first.studentSha256(), second.studentSha256(), "the same student, parameter for parameter");
        assertEquals(1, new TableWriter(spark, conf.outputRoot()).read(Table.MODEL_METRICS)
                .filter(col("model").equalTo("digits_reuse").and(col("variant").equalTo("student-fp32"))
                        .and(col("split").equalTo("test")).and(col("metric").equalTo("accuracy"))).count(),
                "the re-run replaced its partition");
    }

    @Test
    void anInt8StudentStaysWithinOnePointOfTheFp32StudentOnDigits() {
        DistillWorkflow.Outcome o = DistillWorkflow.run(TestSpark.session(), conf("digits", "model.name=digits_q",
                "distill.quantize=true", "distill.teacher=" + ModelArtifact.directory(
                        out.toAbsolutePath().toString(), "digits", "teacher-fp32")));
        assertEquals("student-int8", o.quantized().variant());
        double fp32 = testAccuracy(o);
        double int8 = o.quantized().metrics().get("test").get("accuracy");
        assertEquals(fp32, o.quantized().fp32Metrics().get("test").get("accuracy"), 1e-9, "baseline: student-fp32");
        assertTrue(Math.abs(int8 - fp32) <= 0.01, "student-int8 " + int8 + " vs student-fp32 " + fp32);
        assertTrue(o.quantized().agreement() >= 0.995, "integer vs fake-quant " + o.quantized().agreement());
    }
}
