package io.candor.report;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Opens a local HTML file in headless Chromium and returns the DOM after its scripts ran, with every console message
 * the page produced. Chromium is found through {@code CANDOR_CHROMIUM}, else {@code chromium}, {@code chromium-browser}
 * or {@code google-chrome} on the PATH; without one the test fails (CI's {@code .ci/run} installs Debian's chromium).
 *
 * <p>With {@code --enable-logging=stderr} Chromium writes each console message to stderr as
 * {@code [pid:tid:date:INFO:CONSOLE:LINE] "TEXT", source: URL (LINE)} (older builds: {@code INFO:CONSOLE(LINE)}),
 * TEXT possibly spanning lines. The level is INFO whatever the page called ({@code log}, {@code warn}, {@code error}),
 * so callers cannot tell an error from a log line; uncaught exceptions start with "Uncaught". The report logs nothing
 * when it works, so its tests require no console messages at all.
 */
public final class HeadlessChromium {
    private static final List<String> CANDIDATES = List.of("chromium", "chromium-browser", "google-chrome");
    private static final long TIMEOUT_SECONDS = 90;
    private static final Pattern CONSOLE = Pattern.compile(
            "^\\[[^\\]]*:CONSOLE[:(](\\d+)\\)?\\] \"(.*?)\", source: (\\S*) \\((\\d+)\\)$",
            Pattern.MULTILINE | Pattern.DOTALL);

    public record ConsoleMessage(String text, String source, int line) {
        boolean uncaughtException() {
            return text.startsWith("Uncaught");
        }
    }

    public record Page(String dom, List<ConsoleMessage> console, String stderr) {}

    private HeadlessChromium() {}

    public static Page open(Path html) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory("candor-chromium-");
        try {
            List<String> command = List.of(executable(), "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--no-first-run", "--user-data-dir=" + profile, "--window-size=1280,1024",
                    "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
                    "--dump-dom", html.toAbsolutePath().toUri().toString());
            Path out = profile.resolve("dom.html");
            Path err = profile.resolve("stderr.txt");
            Process process = new ProcessBuilder(command)
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("Chromium did not finish within " + TIMEOUT_SECONDS + " s: " + command);
            }
            String stderr = Files.readString(err, StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                throw new IllegalStateException("Chromium exited with " + process.exitValue() + ": " + command
                        + "\n" + stderr);
            }
            return new Page(Files.readString(out, StandardCharsets.UTF_8), consoleMessages(stderr), stderr);
        } finally {
            deleteTree(profile);
        }
    }

    static List<ConsoleMessage> consoleMessages(String stderr) {
        List<ConsoleMessage> messages = new ArrayList<>();
        Matcher m = CONSOLE.matcher(stderr);
        while (m.find()) {
            messages.add(new ConsoleMessage(m.group(2), m.group(3), Integer.parseInt(m.group(4))));
        }
        return messages;
    }

    static String executable() {
        String configured = System.getenv("CANDOR_CHROMIUM");
        if (configured != null && !configured.isBlank()) {
            if (!Files.isExecutable(Path.of(configured))) {
                throw new IllegalStateException("CANDOR_CHROMIUM=" + configured + " is not an executable file");
            }
            return configured;
        }
        String path = System.getenv().getOrDefault("PATH", "");
        for (String name : CANDIDATES) {
            for (String dir : path.split(File.pathSeparator)) {
                if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
                    return Path.of(dir, name).toString();
                }
            }
        }
        throw new IllegalStateException("no headless browser found: set CANDOR_CHROMIUM or put one of " + CANDIDATES
                + " on the PATH (.ci/run installs Debian's chromium package)");
    }

    /** Best effort: a Chromium helper process may still be writing to its profile as the main process exits. */
    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException leftBehind) {
                    // A few KiB in the temp directory is better than a test failing on cleanup.
                }
            }
        } catch (IOException | java.io.UncheckedIOException leftBehind) {
            // As above: the tree changed while it was walked.
        }
    }
}
