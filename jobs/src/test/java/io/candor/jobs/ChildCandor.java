package io.candor.jobs;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The candor command line in a JVM of its own (a real second process), with this JVM's classpath and JDK options. */
final class ChildCandor {
    private ChildCandor() {
    }

    /** Starts {@code candor args...}, stdout and stderr into {@code log}, and returns the running process. */
    static Process start(Path log, String heap, List<String> args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + heap));
        ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-opens") || a.startsWith("-Djdk.reflect")).forEach(command::add);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Candor.class.getName()));
        command.addAll(args);
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }
}
