package io.candor.config;

import io.candor.testing.TestSpark;
import io.candor.util.Seeds;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Mutated job confs either load or fail with Candor's own {@link ConfigException}: never another exception type, a
 * hang or an error from the HOCON library leaking through.
 */
class ConfFuzzTest {
    private static final int MUTANTS = 400;
    private static final String[] FRAGMENTS = {"{", "}", "[", "]", "=", ":", "\"", ",", "\n", "$", "${", "#",
            "1e400", "-1", "NaN", "true", "null", "..", "\\u0000", "include \"x\"", "a.b.c", "999999999999999999999",
            "[[[[", "}}}}", "\"\"\"", "+=", "?", " "};

    @TempDir
    Path dir;

    @Test
    void everyMutatedConfLoadsOrFailsWithAConfigException() throws IOException {
        String original = Files.readString(TestSpark.sampleConf("digits")) + "\nqat { bits = 4 }\n"
                + "distill { alpha = 0.5, student.hidden = [8] }\nimportance.groups.g = [a, b]\n";
        SplittableRandom random = Seeds.stream(7L, 0xF022L);
        long start = System.nanoTime();
        int loaded = 0;
        List<String> failures = new ArrayList<>();
        for (int m = 0; m < MUTANTS; m++) {
            String mutant = mutate(original, random);
            Path file = dir.resolve("mutant-" + m + ".conf");
            Files.writeString(file, mutant);
            try {
                new ConfLoader().load(file, List.of("dataset.path=" + TestSpark.sample("digits.csv")));
                loaded++;
            } catch (ConfigException expected) {
                assertTrue(!expected.getMessage().isBlank() && !expected.getMessage().contains("\n\tat "),
                        "one line: " + expected.getMessage());
            } catch (RuntimeException | Error e) {
                failures.add("mutant " + m + ": " + e + "\n" + mutant);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (!failures.isEmpty()) {
            fail(failures.size() + " mutants failed with a foreign error; first: " + failures.get(0));
        }
        assertTrue(loaded > 0, "some mutants are still valid confs");
        assertTrue(seconds < 120, MUTANTS + " mutants took " + seconds + " s");
    }

    private static String mutate(String text, SplittableRandom random) {
        StringBuilder s = new StringBuilder(text);
        int edits = 1 + random.nextInt(3);
        for (int e = 0; e < edits; e++) {
            int at = random.nextInt(s.length());
            switch (random.nextInt(4)) {
                case 0 -> s.deleteCharAt(at);
                case 1 -> s.insert(at, FRAGMENTS[random.nextInt(FRAGMENTS.length)]);
                case 2 -> s.setCharAt(at, (char) (32 + random.nextInt(95)));
                default -> {
                    int end = Math.min(s.length(), at + random.nextInt(40));
                    s.insert(random.nextInt(s.length()), s.substring(at, end));
                }
            }
        }
        return s.toString();
    }
}
