package io.candor.explain;

import io.candor.config.CandorConf;
import io.candor.config.ConfigException;
import io.candor.model.ArtifactMetadata;
import io.candor.model.ModelArtifact;
import io.candor.model.Network;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import io.candor.testing.ExplainFixtures;
import io.candor.testing.TestSpark;
import io.candor.train.TrainWorkflow;
import io.candor.util.InputException;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import static io.candor.train.TrainWorkflowTestSupport.conf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** candor importance end to end: trained models, real data, the table, and what the results must show. */
class ImportanceWorkflowTest {
    @TempDir
    static Path out;

    @BeforeAll
    static void trainModels() {
        TrainWorkflow.run(TestSpark.session(), conf("breast_cancer", out.resolve("bc")));
        TrainWorkflow.run(TestSpark.session(), conf("adult", out.resolve("adult")));
    }

    static List<ImportanceResult> importance(CandorConf conf) {
        ImportanceWorkflow.Outcome outcome = ImportanceWorkflow.run(TestSpark.session(), conf);
        assertEquals(1, outcome.variants().size());
        return outcome.variants().get(0).results();
    }

    static List<ImportanceResult> byMetric(List<ImportanceResult> results, String metric) {
        return results.stream().filter(r -> r.metric().equals(metric))
                .sorted(Comparator.comparingInt(ImportanceResult::rank)).toList();
    }

    /** Spearman correlation of the mean importances of seed A's top 10 features under seeds A and B. */
    static double topTenSpearman(List<ImportanceResult> a, List<ImportanceResult> b, String metric) {
        List<ImportanceResult> topA = byMetric(a, metric).subList(0, 10);
        Map<String, Double> meanB = byMetric(b, metric).stream()
                .collect(Collectors.toMap(ImportanceResult::feature, ImportanceResult::mean));
        double[] x = topA.stream().mapToDouble(ImportanceResult::mean).toArray();
        double[] y = topA.stream().mapToDouble(r -> meanB.get(r.feature())).toArray();
        double[] rx = ranks(x);
        double[] ry = ranks(y);
        double mx = 0;
        double my = 0;
        for (int i = 0; i < rx.length; i++) {
            mx += rx[i] / rx.length;
            my += ry[i] / ry.length;
        }
        double sxy = 0;
        double sxx = 0;
        double syy = 0;
        for (int i = 0; i < rx.length; i++) {
            sxy += (rx[i] - mx) * (ry[i] - my);
            sxx += (rx[i] - mx) * (rx[i] - mx);
            syy += (ry[i] - my) * (ry[i] - my);
        }
        return sxy / Math.sqrt(sxx * syy);
    }

    static double[] ranks(double[] v) {
        Integer[] order = new Integer[v.length];
        for (int i = 0; i < v.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, Comparator.comparingDouble(i -> v[i]));
        double[] r = new double[v.length];
        for (int i = 0; i < v.length;) {
            int j = i;
            while (j + 1 < v.length && v[order[j + 1]] == v[order[i]]) {
                j++;
            }
            for (int k = i; k <= j; k++) {
                r[order[k]] = (i + j) / 2.0 + 1;
            }
            i = j + 1;
        }
        return r;
    }

    @Test
    void onlyTheTwoTrueFeaturesOfASyntheticLabelMatter() throws IOException {
        Path csv = ExplainFixtures.syntheticCsv(out.resolve("synthetic.csv"), 4000, 2026);
        Path root = out.resolve("synthetic");
        List<String> sets = List.of("dataset.path=" + csv, "dataset.name=synthetic", "output.root=" + root,
                "train.epochs=10", "train.l2=0.01", "model.hidden=[16]", "importance.n-repeats=10",
                "importance.split=all");
        CandorConf conf = conf("breast_cancer", root, sets.toArray(new String[0]));
        TrainWorkflow.Outcome trained = TrainWorkflow.run(TestSpark.session(), conf);
        List<ImportanceResult> results = importance(conf);
        for (String metric : List.of("log_loss", "accuracy", "auc")) {
            List<String> top = byMetric(results, metric).stream().map(ImportanceResult::feature).toList();
            assertEquals(List.of("f0", "f1"), top.subList(0, 2).stream().sorted().toList(), metric + " ranking " + top);
        }
        // A trained network leans a little on noise features, and the estimator rightly reports it; it stays small.
        for (ImportanceResult r : byMetric(results, "accuracy").subList(2, 6)) {
            assertTrue(Math.abs(r.mean()) < 0.01, r.feature() + " accuracy importance " + r.mean());
        }

        // The same network made to ignore f2..f5 (their input weights zeroed): every noise interval contains 0,
        // which fails if permuting one column leaks into another.
        ModelArtifact artifact = ModelArtifact.load(TestSpark.session(),
                new org.apache.hadoop.fs.Path(trained.artifactPath()));
        MultiLayerNetwork network = artifact.network().multiLayer();
        INDArray weights = network.getLayer(0).getParam("W");
        for (int input = 2; input < 6; input++) {
            weights.getRow(input).assign(0);
        }
        ArtifactMetadata m = artifact.metadata();
        ArtifactMetadata ignoring = new ArtifactMetadata(m.formatVersion(), m.model(), "ignores-noise", m.task(),
                m.networkKind(), m.featureNames(), m.groups(), m.numericColumns(), m.categoricalColumns(), m.classes(),
                m.normMean(), m.normStd(), m.labelMean(), m.labelStd(), m.imageShape(), m.parameterCount(),
                m.sizeBytes(), m.bits(), m.provenance());
        new ModelArtifact(ignoring, new Network(network).toBytes(), artifact.pipeline()).save(TestSpark.session(),
                new org.apache.hadoop.fs.Path(root + "/models/synthetic/ignores-noise"), "test");
        List<String> ignoringSets = new ArrayList<>(sets);
        ignoringSets.add("importance.variants=[ignores-noise]");
        List<ImportanceResult> ignored = importance(conf("breast_cancer", root, ignoringSets.toArray(new String[0])));
        for (String metric : List.of("log_loss", "accuracy", "auc")) {
            List<ImportanceResult> ranked = byMetric(ignored, metric);
            assertEquals(List.of("f0", "f1"), ranked.subList(0, 2).stream().map(ImportanceResult::feature).sorted()
                    .toList(), metric);
            for (ImportanceResult r : ranked.subList(2, 6)) {
                assertTrue(r.ciLow() <= 0 && r.ciHigh() >= 0, r.feature() + " interval excludes 0: " + r);
            }
        }
    }

    @Test
    void importancesAreStableAcrossPermutationSeedsOnBreastCancerAndAdult() {
        for (String dataset : List.of("breast_cancer", "adult")) {
            Path root = out.resolve(dataset.equals("adult") ? "adult" : "bc");
            // Over every row: the estimator's own noise, not a small split's, is what is measured. breast_cancer's
            // 30 correlated features have close importances: with 10 repeats, 3 of the 10 pairs of seeds among
            // {1, 2, 3, 7, 42} fell below 0.8 (0.59 to 0.92); with 30, every pair reached it (0.81 to 0.98).
            String repeats = "importance.n-repeats=" + (dataset.equals("adult") ? 10 : 30);
            List<ImportanceResult> a = importance(conf(dataset, root, "run.seed=42", repeats, "importance.split=all"));
            List<ImportanceResult> b = importance(conf(dataset, root, "run.seed=7", repeats, "importance.split=all"));
            double rho = topTenSpearman(a, b, "log_loss");
            assertTrue(rho >= 0.8, dataset + ": Spearman between seeds " + rho);
        }
    }

    @Test
    void adultCategoricalColumnsAreOneGroupEachInTheTable() {
        CandorConf conf = conf("adult", out.resolve("adult"), "importance.n-repeats=2", "importance.metrics=[accuracy]");
        ImportanceWorkflow.run(TestSpark.session(), conf);
        List<Row> rows = TestSpark.session().read().parquet(out.resolve("adult").resolve("permutation_importance").toString())
                .filter("metric = 'accuracy'").select("feature").collectAsList();
        Map<String, Long> counts = rows.stream().map(r -> r.getString(0))
                .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
        assertEquals(14, counts.size(), counts.toString());
        for (String column : List.of("workclass", "education", "marital_status", "occupation", "relationship", "race",
                "sex", "native_country")) {
            assertEquals(1L, counts.get(column), column);
        }
        assertFalse(counts.keySet().stream().anyMatch(f -> f.contains("=")), "no one-hot slot appears alone");
    }

    @Test
    void reRunningADateReplacesItsRows() {
        CandorConf conf = conf("breast_cancer", out.resolve("bc"), "importance.n-repeats=2", "run.date=2026-01-01");
        ImportanceWorkflow.run(TestSpark.session(), conf);
        List<Row> first = TestSpark.session().read().parquet(out.resolve("bc").resolve("permutation_importance").toString())
                .filter("audit_date = '2026-01-01'").drop("run_id").orderBy("feature", "metric").collectAsList();
        ImportanceWorkflow.run(TestSpark.session(), conf);
        List<Row> second = TestSpark.session().read().parquet(out.resolve("bc").resolve("permutation_importance").toString())
                .filter("audit_date = '2026-01-01'").drop("run_id").orderBy("feature", "metric").collectAsList();
        assertEquals(30 * 4, first.size());
        assertEquals(first, second, "same rows and values, no duplicates");
    }

    @Test
    void customGroupsArePermutedTogether() {
        CandorConf conf = conf("breast_cancer", out.resolve("bc"), "importance.n-repeats=2",
                "importance.groups.size=[mean_radius, mean_perimeter, mean_area]");
        List<ImportanceResult> results = importance(conf);
        List<String> features = byMetric(results, "accuracy").stream().map(ImportanceResult::feature).toList();
        assertEquals(28, features.size());
        assertTrue(features.contains("size") && !features.contains("mean_area"), features.toString());
    }

    @Test
    void badInputFailsBeforeAnyOutput() {
        Path root = out.resolve("bc");
        Path table = root.resolve("permutation_importance");
        List<Path> before = listing(root);
        ConfigException missingColumn = assertThrows(ConfigException.class, () -> ImportanceWorkflow.run(
                TestSpark.session(), conf("breast_cancer", root, "importance.groups.g=[mean_radius, tumour_size]",
                        "run.date=2030-01-01")));
        assertTrue(missingColumn.getMessage().contains("'tumour_size' is not an input of model breast_cancer"),
                missingColumn.getMessage());
        ConfigException repeats = assertThrows(ConfigException.class,
                () -> conf("breast_cancer", root, "importance.n-repeats=0"));
        assertTrue(repeats.getMessage().startsWith("conf key importance.n-repeats: 0 is below 1"), repeats.getMessage());
        ConfigException auc = assertThrows(ConfigException.class,
                () -> conf("diabetes", root, "importance.metrics=[auc]"));
        assertTrue(auc.getMessage().contains("'auc' does not fit a regression task"), auc.getMessage());
        InputException inputs = assertThrows(InputException.class, () -> ImportanceWorkflow.run(TestSpark.session(),
                conf("breast_cancer", root, "dataset.features=[mean_radius, mean_texture]", "run.date=2030-01-01")));
        assertTrue(inputs.getMessage().contains("expects numeric columns"), inputs.getMessage());
        InputException noModel = assertThrows(InputException.class, () -> ImportanceWorkflow.run(TestSpark.session(),
                conf("wine", out.resolve("nothing-trained"), "run.date=2030-01-01")));
        assertTrue(noModel.getMessage().contains("no artifacts"), noModel.getMessage());
        assertEquals(before, listing(root), "nothing written by failed runs");
        assertTrue(!Files.exists(table.resolve("audit_date=2030-01-01")));
    }

    private static List<Path> listing(Path root) {
        try (var files = Files.walk(root)) {
            return files.sorted().collect(Collectors.toCollection(ArrayList::new));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
