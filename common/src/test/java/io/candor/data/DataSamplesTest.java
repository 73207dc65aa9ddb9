package io.candor.data;

import io.candor.testing.TestSpark;
import io.candor.util.Hashing;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bundled datasets are exactly the ones data-samples/README.md documents, checksums and row counts included. */
class DataSamplesTest {
    @Test
    void everySampleMatchesItsDocumentedChecksum() throws IOException {
        Path dir = TestSpark.projectRoot().resolve("data-samples");
        String readme = Files.readString(dir.resolve("README.md"));
        Matcher m = Pattern.compile("(?m)^([0-9a-f]{64})\\s+(\\S+\\.csv)$").matcher(readme);
        Map<String, String> documented = new LinkedHashMap<>();
        while (m.find()) {
            documented.put(m.group(2), m.group(1));
        }
        assertEquals(5, documented.size(), "checksums listed in data-samples/README.md");
        for (Map.Entry<String, String> e : documented.entrySet()) {
            Path file = dir.resolve(e.getKey());
            assertTrue(Files.isRegularFile(file), "missing sample " + file);
            assertEquals(e.getValue(), Hashing.sha256(Files.readAllBytes(file)), "sha256 of " + e.getKey());
        }
    }

    @Test
    void rowCountsMatchTheReadme() throws IOException {
        Map<String, Integer> rows = Map.of("adult.csv", 32561, "breast_cancer.csv", 569, "diabetes.csv", 442,
                "digits.csv", 1797, "wine.csv", 178);
        for (Map.Entry<String, Integer> e : rows.entrySet()) {
            try (var lines = Files.lines(TestSpark.sample(e.getKey()))) {
                assertEquals(e.getValue() + 1, lines.count(), e.getKey() + " lines including the header");
            }
        }
    }
}
