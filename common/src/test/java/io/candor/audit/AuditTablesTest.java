package io.candor.audit;

import io.candor.store.Table;
import io.candor.store.TableWriter;
import io.candor.testing.TestSpark;
import io.candor.util.Seeds;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What the audit brings to the driver from shap_values: a bounded, seeded sample, staged partitions first. */
class AuditTablesTest {
    private static final String DATE = "2026-11-23";

    @TempDir
    Path out;

    @Test
    void shapSampleHoldsTheSameSmallestHashRowsOfEveryVariantStagedBeforeCommitted() {
        var spark = TestSpark.session();
        String root = out.resolve("root").toString();
        String staging = out.resolve("staging").toString();
        int explained = 50;
        // Staged tonight: a and b. Committed tonight: a (replaced by the staged a) and c.
        new TableWriter(spark, staging).write(Table.SHAP_VALUES, rows(explained, List.of("a", "b"), 1.0));
        new TableWriter(spark, root).write(Table.SHAP_VALUES, rows(explained, List.of("a", "c"), 2.0));

        int sample = 10;
        List<Row> rows = new AuditTables(spark, root, staging, DATE, "m").shapSample(sample, 42, 7);

        Set<Long> expected = LongStream.range(0, explained).boxed()
                .sorted(Comparator.comparingDouble((Long id) -> Seeds.uniform(42, 7, id)).thenComparing(id -> id))
                .limit(sample).collect(Collectors.toCollection(TreeSet::new));
        for (String variant : List.of("a", "b", "c")) {
            List<Row> of = rows.stream().filter(r -> r.<String>getAs("variant").equals(variant)).toList();
            assertEquals(sample * 2, of.size(), variant + ": every output of each sampled row");
            assertEquals(expected, of.stream().map(r -> r.<Long>getAs("row_id"))
                    .collect(Collectors.toCollection(TreeSet::new)), variant + ": the smallest seeded hashes");
            double base = variant.equals("c") ? 2.0 : 1.0;
            of.forEach(r -> assertEquals(base, r.<Double>getAs("base_value"), variant + ": staged wins"));
        }
        assertEquals(3 * sample * 2, rows.size(), "nothing else reaches the driver");
    }

    private static List<Row> rows(int n, List<String> variants, double base) {
        List<Row> rows = new ArrayList<>();
        for (String v : variants) {
            for (long id = 0; id < n; id++) {
                for (int output = 0; output < 2; output++) {
                    rows.add(RowFactory.create("run", id, output, base, base + id, List.of(0.5, -0.5),
                            List.of(0.0, 0.0), "kernel_shap", 10L, true, DATE, "m", v));
                }
            }
        }
        return rows;
    }
}
