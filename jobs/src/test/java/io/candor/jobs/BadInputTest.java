package io.candor.jobs;

import io.candor.testing.TestSpark;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each bad input gives one line on stderr that names the input, what is wrong and what was expected; a non-zero exit
 * code (2 config, 3 data); and no output at all.
 */
class BadInputTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void sharedSession() {
        TestSpark.session(); // the command reuses it instead of starting (and stopping) its own
    }

    private Path out() {
        return dir.resolve("out");
    }

    private Path data(String name, String content) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, content);
        return file;
    }

    private CliRun train(Path conf, String... sets) {
        List<String> args = new ArrayList<>(List.of("train", "--conf", conf.toString(),
                "--set", "output.root=" + out(), "--set", "train.epochs=1"));
        for (String s : sets) {
            args.add("--set");
            args.add(s);
        }
        return CliRun.of(args.toArray(new String[0]));
    }

    private CliRun trainBreastCancer(String... sets) {
        List<String> all = new ArrayList<>(List.of("dataset.path=" + TestSpark.sample("breast_cancer.csv")));
        all.addAll(List.of(sets));
        return train(TestSpark.sampleConf("breast_cancer"), all.toArray(new String[0]));
    }

    private void assertFails(CliRun run, int code, String... fragments) {
        assertEquals(code, run.exitCode(), run.err());
        String[] lines = run.err().strip().split("\n");
        assertEquals(1, lines.length, "one line on stderr, got:\n" + run.err());
        for (String f : fragments) {
            assertTrue(lines[0].contains(f), "'" + f + "' missing from: " + lines[0]);
        }
        assertFalse(Files.exists(out()), "a failed run wrote output under " + out());
    }

    @Test
    void missingDataFile() {
        assertFails(trainBreastCancer("dataset.path=" + dir.resolve("nope.csv")), 3,
                "nope.csv", "does not exist");
    }

    @Test
    void emptyDataFile() throws IOException {
        Path empty = data("empty.csv", "");
        assertFails(trainBreastCancer("dataset.path=" + empty), 3, "empty.csv", "is empty");
    }

    @Test
    void confNamesAColumnTheDataLacks() {
        assertFails(trainBreastCancer("dataset.label=diagnosis"), 3,
                "dataset.label", "'diagnosis'", "breast_cancer.csv", "mean_radius");
    }

    @Test
    void nonNumericValueInANumericColumn() throws IOException {
        Path csv = data("bad.csv", "a,b,target\n1,2,0\n3,x7,1\n5,6,0\n7,8,1\n");
        assertFails(trainBreastCancer("dataset.path=" + csv), 3, "bad.csv", "column 'b'", "row 1", "'x7'",
                "not a number");
    }

    @Test
    void nanOrInfinityWhenThePolicyIsFail() throws IOException {
        Path nan = data("nan.csv", "a,b,target\n1,2,0\n3,NaN,1\n5,6,0\n7,8,1\n");
        assertFails(trainBreastCancer("dataset.path=" + nan, "dataset.missing.tokens=[]"), 3, "nan.csv",
                "column 'b'", "row 1", "policy = fail");
        Path inf = data("inf.csv", "a,b,target\n1,2,0\n3,4,1\nInfinity,6,0\n7,8,1\n");
        assertFails(trainBreastCancer("dataset.path=" + inf), 3, "inf.csv", "column 'a'", "row 2", "policy = fail");
    }

    @Test
    void labelWithOneClassOnly() throws IOException {
        Path csv = data("oneclass.csv", "a,b,target\n1,2,1\n3,4,1\n5,6,1\n7,8,1\n");
        assertFails(trainBreastCancer("dataset.path=" + csv), 3, "oneclass.csv", "one class only",
                "at least 2 classes");
    }

    @Test
    void unknownConfKey() throws IOException {
        Path conf = data("job.conf", "dataset { name = x, path = x.csv, label = y }\ntrain { epohcs = 3 }\n");
        assertFails(train(conf), 2, "train.epohcs", "unknown key", "job.conf", "line 2", "train.epochs");
    }

    @Test
    void negativeEpochCount() throws IOException {
        Path conf = data("job.conf", "dataset { name = x, path = x.csv, label = y }\ntrain { epochs = -3 }\n");
        CliRun run = CliRun.of("train", "--conf", conf.toString(), "--set", "output.root=" + out());
        assertFails(run, 2, "train.epochs", "-3 is below 1", "job.conf", "line 2");
    }

    @Test
    void raggedCsvLine() throws IOException {
        Path csv = data("ragged.csv", "a,b,target\n1,2,0\n3,4,1,9\n5,6,0\n");
        assertFails(trainBreastCancer("dataset.path=" + csv), 3, "ragged.csv", "'3,4,1,9'", "3 fields");
    }

    @Test
    void usageErrorsExitTwo() {
        CliRun run = CliRun.of("train");
        assertEquals(2, run.exitCode());
        assertTrue(run.err().contains("--conf"), run.err());
        assertEquals(2, CliRun.of("frobnicate").exitCode());
    }

    private CliRun qat(String... sets) {
        List<String> args = new ArrayList<>(List.of("qat", "--conf", TestSpark.sampleConf("breast_cancer").toString(),
                "--set", "output.root=" + out(), "--set", "dataset.path=" + TestSpark.sample("breast_cancer.csv"),
                "--set", "qat.epochs=1"));
        for (String s : sets) {
            args.add("--set");
            args.add(s);
        }
        return CliRun.of(args.toArray(new String[0]));
    }

    @Test
    void qatWithoutATrainedModel() {
        assertFails(qat(), 3, "teacher-fp32", "is missing", "candor train");
    }

    @Test
    void qatSourceThatIsNotADl4jNetwork() throws IOException {
        Path fake = data("notanet.zip", "a,b\n1,2\n");
        assertFails(qat("qat.source=" + fake), 3, "notanet.zip");
    }

    @Test
    void qatLayerCandorCannotQuantize() throws IOException {
        org.deeplearning4j.nn.multilayer.MultiLayerNetwork tanh = new org.deeplearning4j.nn.multilayer.MultiLayerNetwork(
                new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder().list()
                        .layer(new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder().nIn(30).nOut(8)
                                .activation(org.nd4j.linalg.activations.Activation.TANH).build())
                        .layer(new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder().nIn(8).nOut(2)
                                .activation(org.nd4j.linalg.activations.Activation.SOFTMAX).build())
                        .build());
        tanh.init();
        Path zip = dir.resolve("tanh.zip");
        org.deeplearning4j.util.ModelSerializer.writeModel(tanh, zip.toFile(), false);
        assertFails(qat("qat.source=" + zip), 3, "tanh.zip layer 0 (DenseLayer)", "RELU or IDENTITY");
    }

    @Test
    void qatBitsOutsideTwoToEight() {
        assertFails(qat("qat.bits=9"), 2, "qat.bits", "9 is above 8");
        assertFails(qat("qat.bits=1"), 2, "qat.bits", "1 is below 2");
        assertFails(CliRun.of("qat", "--conf", TestSpark.sampleConf("breast_cancer").toString(), "--bits", "12",
                "--set", "output.root=" + out()), 2, "qat.bits", "12 is above 8");
    }

    @Test
    void anAuditWhoseTeacherCannotBeQuantizedFailsBeforeTraining() {
        assertFails(CliRun.of("audit", "--conf", TestSpark.sampleConf("breast_cancer").toString(), "--date", "2026-11-23",
                "--set", "output.root=" + out(), "--set", "dataset.path=" + TestSpark.sample("breast_cancer.csv"),
                "--set", "model.activation=tanh"), 2, "model.activation", "tanh", "expected relu or identity");
    }

    @Test
    void anAuditWhoseExplainersCannotWorkOnTheDataFailsBeforeTraining() {
        assertFails(CliRun.of("audit", "--conf", TestSpark.sampleConf("breast_cancer").toString(), "--date", "2026-11-23",
                "--set", "output.root=" + out(), "--set", "dataset.path=" + TestSpark.sample("breast_cancer.csv"),
                "--set", "shapley.max-coalitions=40"), 2, "shapley.max-coalitions", "40 is below 2M + 2 = 62",
                "30 feature groups of breast_cancer");
        assertFails(CliRun.of("audit", "--conf", TestSpark.sampleConf("breast_cancer").toString(), "--date", "2026-11-23",
                "--set", "output.root=" + out(), "--set", "dataset.path=" + TestSpark.sample("breast_cancer.csv"),
                "--set", "importance.groups.size=[mean_radius, no_such_column]"), 2, "importance.groups.size",
                "no_such_column", "is not an input of model breast_cancer");
    }

    private CliRun distill(Path dataFile, Path root, String... sets) {
        List<String> args = new ArrayList<>(List.of("distill", "--conf",
                TestSpark.sampleConf("breast_cancer").toString(), "--set", "output.root=" + root,
                "--set", "dataset.path=" + dataFile, "--set", "train.epochs=1", "--set", "train.workers=2"));
        for (String s : sets) {
            args.add("--set");
            args.add(s);
        }
        return CliRun.of(args.toArray(new String[0]));
    }

    @Test
    void distillTemperatureAndAlphaOutOfRange() {
        Path csv = TestSpark.sample("breast_cancer.csv");
        assertFails(distill(csv, out(), "distill.temperature=0"), 2, "distill.temperature", "0.0 is outside (0.0");
        assertFails(distill(csv, out(), "distill.temperature=-2"), 2, "distill.temperature");
        assertFails(distill(csv, out(), "distill.alpha=1.5"), 2, "distill.alpha", "1.5 is outside [0.0, 1.0]");
        assertFails(distill(csv, out(), "distill.alpha=-0.1"), 2, "distill.alpha");
    }

    @Test
    void distillFromATeacherWhoseOutputSizeDiffersFromTheStudents() throws IOException {
        Path root = dir.resolve("trained");
        Path csv = TestSpark.sample("breast_cancer.csv");
        assertEquals(0, CliRun.of("train", "--conf", TestSpark.sampleConf("breast_cancer").toString(), "--set",
                "output.root=" + root, "--set", "train.epochs=1", "--set", "dataset.path=" + csv).exitCode());
        Path teacher = root.resolve("models/breast_cancer/teacher-fp32");
        org.deeplearning4j.nn.multilayer.MultiLayerNetwork three = new org.deeplearning4j.nn.multilayer.MultiLayerNetwork(
                new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder().list()
                        .layer(new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder().nIn(30).nOut(8).build())
                        .layer(new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder().nIn(8).nOut(3)
                                .activation(org.nd4j.linalg.activations.Activation.SOFTMAX).build())
                        .build());
        three.init();
        Files.delete(teacher.resolve("network.zip"));
        Files.deleteIfExists(teacher.resolve(".network.zip.crc"));
        org.deeplearning4j.util.ModelSerializer.writeModel(three, teacher.resolve("network.zip").toFile(), false);
        CliRun run = distill(csv, root);
        assertEquals(3, run.exitCode(), run.err());
        assertTrue(run.err().contains("has 3 outputs but the student has 2"), run.err());
        assertFalse(Files.exists(root.resolve("models/breast_cancer/student-fp32")), "no student written");
        assertFalse(Files.exists(root.resolve("teacher_logits")), "no logits written");
    }

    @Test
    void distillWithALogitsTableFromOtherData() throws IOException {
        Path root = dir.resolve("trained");
        Path csv = TestSpark.sample("breast_cancer.csv");
        assertEquals(0, CliRun.of("train", "--conf", TestSpark.sampleConf("breast_cancer").toString(), "--set",
                "output.root=" + root, "--set", "train.epochs=1", "--set", "dataset.path=" + csv).exitCode());
        Path logits = dir.resolve("logits");
        assertEquals(0, distill(csv, root, "distill.logits-path=" + logits).exitCode());
        // The same columns, one row fewer: another dataset as far as its fingerprint goes.
        List<String> lines = Files.readAllLines(csv);
        Path other = data("fewer.csv", String.join("\n", lines.subList(0, lines.size() - 1)) + "\n");
        Path otherRoot = dir.resolve("other");
        CliRun run = distill(other, otherRoot, "distill.logits-path=" + logits, "distill.teacher="
                + root.resolve("models/breast_cancer/teacher-fp32"));
        assertEquals(3, run.exitCode(), run.err());
        assertEquals(1, run.err().strip().split("\n").length, run.err());
        assertTrue(run.err().contains("teacher logits " + logits) && run.err().contains("fingerprint"), run.err());
        assertFalse(Files.exists(otherRoot), "a failed run wrote output under " + otherRoot);
    }

    @Test
    void corruptParquetFile() throws IOException {
        Path parquet = dir.resolve("corrupt.parquet");
        byte[] junk = new byte[4096];
        new java.util.SplittableRandom(3).nextBytes(junk);
        Files.write(parquet, junk);
        assertFails(trainBreastCancer("dataset.path=" + parquet), 3, "corrupt.parquet");
        // Parquet magic at both ends, garbage between: past the first check, still one clear line.
        System.arraycopy("PAR1".getBytes(), 0, junk, 0, 4);
        System.arraycopy("PAR1".getBytes(), 0, junk, junk.length - 4, 4);
        Files.write(parquet, junk);
        assertFails(trainBreastCancer("dataset.path=" + parquet), 3, "corrupt.parquet");
    }

    @Test
    void csvWithATenMegabyteLine() throws IOException {
        StringBuilder csv = new StringBuilder("a,b,target\n1,2,0\n");
        csv.append("9".repeat(10 * 1024 * 1024)).append(",1,1\n3,4,1\n");
        Path file = data("huge-line.csv", csv.toString());
        CliRun run = trainBreastCancer("dataset.path=" + file);
        assertFails(run, 3, "huge-line.csv");
        assertTrue(run.err().length() < 2000, "the message stays short: " + run.err().length() + " chars");
    }
}
