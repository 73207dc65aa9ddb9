package io.candor.testing;

import org.apache.spark.sql.SparkSession;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * The one local SparkSession of a test JVM: {@code local[2,2]}, so that every distributed path really runs two tasks in
 * parallel and a task may fail once and be retried; and paths into the project (sample data, confs).
 */
public final class TestSpark {
    private static SparkSession session;

    private TestSpark() {
    }

    public static synchronized SparkSession session() {
        if (session == null) {
            session = SparkSession.builder()
                    .master("local[2,2]") // 2 threads; a task may fail once and be retried
                    .appName("candor-tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "4")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.sql.session.timeZone", "UTC")
                    .getOrCreate();
        }
        return session;
    }

    /** The repository root (Maven passes it; fall back to walking up from the working directory). */
    public static Path projectRoot() {
        String property = System.getProperty("candor.project.root");
        if (property != null && Files.isDirectory(Paths.get(property, "data-samples"))) {
            return Paths.get(property);
        }
        Path p = Paths.get("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("data-samples"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find the project root (no data-samples/ above the working directory)");
        }
        return p;
    }

    public static Path sample(String file) {
        return projectRoot().resolve("data-samples").resolve(file);
    }

    public static Path sampleConf(String dataset) {
        return projectRoot().resolve("conf").resolve("samples").resolve(dataset + ".conf");
    }
}
