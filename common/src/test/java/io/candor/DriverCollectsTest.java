package io.candor;

import io.candor.testing.TestSpark;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every place in the library that brings Spark data to the driver ({@code collect}, {@code collectAsList},
 * {@code toLocalIterator}) is listed here with why its size is bounded, or, for those still bounded only by rows, as
 * known debt. A new call site, or one removed without updating the list, fails the test, so the driver's footprint is
 * a reviewed decision and the row-sized list can only shrink.
 */
class DriverCollectsTest {
    private static final Pattern CALL = Pattern.compile("\\.(collect|collectAsList|toLocalIterator)\\s*\\(");

    private enum Size { BOUNDED, ROW_SIZED }

    private record Site(Size size, String why) {
    }

    /** Per source file (relative to the main tree), its call sites in order of appearance. */
    private static final Map<String, List<Site>> SITES = Map.ofEntries(
            Map.entry("io/candor/data/PreparedData.java", List.of(
                    new Site(Size.BOUNDED, "distinct labels, limit 10,001 (classes)"),
                    new Site(Size.BOUNDED, "distinct labels, limit 10,001 (classes)"))),
            Map.entry("io/candor/data/TabularReader.java", List.of(
                    new Site(Size.BOUNDED, "the first corrupt record, limit 1"),
                    new Site(Size.BOUNDED, "the fingerprint: one 32-byte digest per 64 MiB range of the data files"))),
            Map.entry("io/candor/distill/TeacherLogits.java", List.of(
                    new Site(Size.BOUNDED, "distinct (fingerprint, teacher) keys of a stored logits table"))),
            Map.entry("io/candor/explain/shapley/BackgroundSummary.java", List.of(
                    new Site(Size.BOUNDED, "the sampled background, limit shapley.background.size"),
                    new Site(Size.BOUNDED, "the k-means++ sample, limit 32 x shapley.background.size"))),
            Map.entry("io/candor/explain/KernelShapModel.java", List.of(
                    new Site(Size.BOUNDED, "the saved background, backgroundSize rows"))),
            Map.entry("io/candor/quant/CalibrationPass.java", List.of(
                    new Site(Size.BOUNDED, "one activation-range summary per partition (partitions x layers)"))),
            Map.entry("io/candor/explain/PermutationImportanceJob.java", List.of(
                    new Site(Size.BOUNDED, "one score summary, merged on the executors (groups x repeats histograms of at most ~11,000 bins)"))),
            Map.entry("io/candor/explain/shapley/DistributedShapley.java", List.of(
                    new Site(Size.BOUNDED, "SAGE samples per slice (permutation pairs x groups)"))),
            Map.entry("io/candor/explain/PermutationImportance.java", List.of(
                    new Site(Size.BOUNDED, "the first row that does not fit the network, limit 1"))),
            Map.entry("io/candor/explain/ExplainInputs.java", List.of(
                    new Site(Size.BOUNDED, "SAGE's rows, a seeded sample of at most shapley.sage.rows (Sage: sampleRows)"))),
            Map.entry("io/candor/explain/ShapleyWorkflow.java", List.of(
                    new Site(Size.BOUNDED, "one mean |phi| summary per (variant, output)"))),
            Map.entry("io/candor/train/Evaluator.java", List.of(
                    new Site(Size.BOUNDED, "AUC: one count of negatives per partition of the sorted scores"))),
            Map.entry("io/candor/audit/AuditTables.java", List.of(
                    new Site(Size.BOUNDED, "tonight's metrics, importance, global Shapley rows (variants x features)"),
                    new Site(Size.BOUNDED, "the sampled SHAP row ids, limit SHAP_POINTS_PER_VARIANT"),
                    new Site(Size.BOUNDED, "shap_values of the sampled ids (variants x sample x outputs)"),
                    new Site(Size.BOUNDED, "distinct staged variants of a table"),
                    new Site(Size.BOUNDED, "earlier dates' metrics and importance (dates x variants x features)"))),
            Map.entry("io/candor/audit/AuditWorkflow.java", List.of(
                    new Site(Size.BOUNDED, "features of the sampled SHAP rows (SHAP_POINTS_PER_VARIANT)"))),
            Map.entry("io/candor/explain/ImportanceBenchmark.java", List.of(
                    new Site(Size.BOUNDED, "the benchmark's matrix: at most MAX_ROWS test rows"))),
            Map.entry("io/candor/explain/ShapleyBenchmark.java", List.of(
                    new Site(Size.BOUNDED, "the benchmark's --rows sample of test rows"))));

    @Test
    void everyCollectToTheDriverIsListedWithWhyItIsBounded() throws IOException {
        Path main = TestSpark.projectRoot().resolve("common/src/main/java");
        Map<String, Integer> found = new TreeMap<>();
        try (Stream<Path> files = Files.walk(main)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                Matcher m = CALL.matcher(Files.readString(f));
                int n = 0;
                while (m.find()) {
                    n++;
                }
                if (n > 0) {
                    found.put(main.relativize(f).toString().replace('\\', '/'), n);
                }
            }
        }
        Map<String, Integer> listed = new TreeMap<>();
        SITES.forEach((file, sites) -> listed.put(file, sites.size()));
        assertEquals(listed, found, "call sites per file: list each new one with why it is bounded");
        long rowSized = SITES.values().stream().flatMap(List::stream).filter(s -> s.size() == Size.ROW_SIZED).count();
        System.out.println("driver collects: " + SITES.values().stream().mapToInt(List::size).sum() + " listed, "
                + rowSized + " still row-sized");
    }
}
