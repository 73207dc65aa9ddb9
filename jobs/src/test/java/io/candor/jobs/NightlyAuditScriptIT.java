package io.candor.jobs;

import io.candor.testing.TestSpark;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code submit-scripts/nightly-audit.sh} as cron runs it: through run-local.sh and the shaded jar (hence an
 * integration test, after {@code package}). Bad input exits 2 with one line on stderr, the full output in the
 * dated log.
 */
class NightlyAuditScriptIT {
    @TempDir
    Path dir;

    private record Result(int exitCode, String stdout, List<String> stderr) {
    }

    private Result run(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash",
                TestSpark.projectRoot().resolve("submit-scripts/nightly-audit.sh").toString()));
        command.addAll(List.of(args));
        Path out = dir.resolve("stdout");
        Path err = dir.resolve("stderr");
        Process p = new ProcessBuilder(command).directory(dir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(3, TimeUnit.MINUTES), "nightly-audit.sh did not finish");
        return new Result(p.exitValue(), Files.readString(out),
                Files.readString(err).lines().filter(l -> !l.isBlank()).toList());
    }

    @Test
    void aConfWithAnUnknownKeyExitsTwoWithOneLineAndTheDetailsInTheDatedLog() throws Exception {
        Path conf = dir.resolve("nightly.conf");
        Files.writeString(conf, "dataset { name = breast_cancer, label = target, path = \""
                + TestSpark.sample("breast_cancer.csv") + "\" }\ntrian.epochs = 3\n", StandardCharsets.UTF_8);
        Result r = run(conf.toString(), "--date", "2026-11-23", "--log-dir", dir.resolve("logs").toString());
        assertEquals(2, r.exitCode(), r.stderr().toString());
        assertEquals(1, r.stderr().size(), "one line: " + r.stderr());
        assertTrue(r.stderr().get(0).contains("trian.epochs") && r.stderr().get(0).contains("unknown key"),
                r.stderr().get(0));
        Path log = dir.resolve("logs/audit-nightly-2026-11-23.log");
        assertTrue(Files.readString(log).contains("candor audit: error: conf key trian.epochs"), "the log has it");
    }

    @Test
    void aMissingConfOrABadDateExitsTwoWithOneLine() throws Exception {
        Result missing = run(dir.resolve("absent.conf").toString());
        assertEquals(2, missing.exitCode());
        assertEquals(1, missing.stderr().size(), missing.stderr().toString());
        assertTrue(missing.stderr().get(0).contains("absent.conf: does not exist"), missing.stderr().get(0));

        Path conf = Files.writeString(dir.resolve("x.conf"), "dataset.name = x\n");
        Result badDate = run(conf.toString(), "--date", "23/11/2026");
        assertEquals(2, badDate.exitCode());
        assertEquals(List.of("nightly-audit: --date 23/11/2026: is not a date (expected YYYY-MM-DD)"), badDate.stderr());
    }

    @Test
    void helpShowsTheCronLine() throws Exception {
        Result help = run("--help");
        assertEquals(0, help.exitCode());
        assertTrue(help.stdout().contains("30 2 * * *"), help.stdout());
    }
}
