package io.candor.jobs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real Spark standalone cluster on 127.0.0.1: one Master and {@code workers} Worker JVMs started from the
 * Maven-resolved Spark jars ({@code jobs/target/spark-classpath.txt}), the way {@code submit-scripts/standalone-cluster.sh}
 * starts one by hand; and Candor jobs submitted to it by {@code org.apache.spark.deploy.SparkSubmit} in a JVM of their
 * own (client mode: that JVM is the driver). {@link #close} kills every process it started, executors included.
 *
 * <p>Where things come from (Maven passes them as system properties, see jobs/pom.xml): {@code candor.spark.classpath}
 * (the classpath file), {@code candor.shaded.jar}, {@code candor.jvm.opens} (the Java 17 options), and
 * {@code candor.project.root}.
 */
final class StandaloneCluster implements AutoCloseable {
    /**
     * JIT flag of the test's short-lived driver and executor JVMs: the C1 compiler only. Each submission is a cold
     * start of three JVMs on two cores, where C2's compilations are mostly overhead (measured on a cold local
     * {@code shapley}: 65 s of CPU down to 35 s, wall 37 s down to 31 s). Java's floating point is the same on every
     * tier, so the tables must still equal the test JVM's, and the topology test checks that they do.
     */
    private static final String QUICK_START = "-XX:TieredStopAtLevel=1";

    private static final Duration REGISTRATION_TIMEOUT = Duration.ofSeconds(90);
    private static final Pattern ALIVE_WORKERS = Pattern.compile("\"aliveworkers\"\\s*:\\s*(\\d+)");
    /** Master and Worker heaps: they only schedule, the executors get their own memory. */
    private static final String DAEMON_HEAP = "-Xmx384m";

    private final Path dir;
    private final int port;
    private final int uiPort;
    private final List<Process> daemons = new ArrayList<>();
    private final List<Process> submissions = new ArrayList<>();
    private final Thread killOnExit = new Thread(this::destroyAll, "standalone-cluster-teardown");

    private StandaloneCluster(Path dir) throws IOException {
        this.dir = dir;
        this.port = freePort();
        this.uiPort = freePort();
    }

    /**
     * Starts the Master and the Workers ({@code cores} cores and {@code memory}, e.g. "2g", each) and returns once
     * every Worker has registered. Logs go to {@code dir/logs}, executor output to {@code dir/work}.
     */
    static StandaloneCluster start(Path dir, int workers, int cores, String memory) throws IOException,
            InterruptedException {
        StandaloneCluster cluster = new StandaloneCluster(dir);
        // A JVM that dies before close() (a failed or interrupted build) must not leave daemons behind.
        Runtime.getRuntime().addShutdownHook(cluster.killOnExit);
        try {
            cluster.launch(workers, cores, memory);
            return cluster;
        } catch (IOException | InterruptedException | RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    private void launch(int workers, int cores, String memory) throws IOException, InterruptedException {
        Files.createDirectories(dir.resolve("logs"));
        Files.createDirectories(dir.resolve("work"));
        Path sparkHome = sparkHome();
        daemons.add(java(List.of("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                "--port", Integer.toString(port), "--webui-port", Integer.toString(uiPort)), sparkHome, "master.log"));
        for (int i = 1; i <= workers; i++) {
            daemons.add(java(List.of("org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                    "--cores", Integer.toString(cores), "--memory", memory, "--webui-port", "0",
                    "--work-dir", dir.resolve("work").toString(), masterUrl()), sparkHome, "worker-" + i + ".log"));
        }
        awaitWorkers(workers);
    }

    /**
     * Spark's Worker builds each executor's classpath from {@code $SPARK_HOME/jars}; without a Spark installation,
     * one made of symbolic links to the Maven-resolved jars does (as standalone-cluster.sh makes).
     */
    private Path sparkHome() throws IOException {
        Path jars = dir.resolve("spark-home").resolve("jars");
        Files.createDirectories(jars);
        for (String jar : sparkClasspath().split(":")) {
            Path source = Path.of(jar);
            Path link = jars.resolve(source.getFileName());
            if (Files.isRegularFile(source) && !Files.exists(link, LinkOption.NOFOLLOW_LINKS)) {
                Files.createSymbolicLink(link, source);
            }
        }
        return jars.getParent();
    }

    private Process java(List<String> mainAndArgs, Path sparkHome, String log) throws IOException {
        List<String> command = new ArrayList<>(List.of(javaBinary(), DAEMON_HEAP));
        command.addAll(opens());
        command.addAll(List.of("-cp", sparkClasspath()));
        command.addAll(mainAndArgs);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("logs").resolve(log).toFile());
        builder.environment().put("SPARK_HOME", sparkHome.toString());
        builder.environment().put("SPARK_SCALA_VERSION", "2.12");
        builder.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        return builder.start();
    }

    private void awaitWorkers(int workers) throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + uiPort + "/json/"))
                .timeout(Duration.ofSeconds(5)).build();
        long deadline = System.nanoTime() + REGISTRATION_TIMEOUT.toNanos();
        int alive = 0;
        while (System.nanoTime() < deadline) {
            for (Process p : daemons) {
                if (!p.isAlive()) {
                    throw new IllegalStateException("a cluster daemon exited with code " + p.exitValue()
                            + " before the cluster was up; see " + dir.resolve("logs"));
                }
            }
            try {
                Matcher m = ALIVE_WORKERS.matcher(http.send(request, HttpResponse.BodyHandlers.ofString()).body());
                alive = m.find() ? Integer.parseInt(m.group(1)) : 0;
                if (alive >= workers) {
                    return;
                }
            } catch (IOException notYetListening) {
                // the Master's UI is not up yet: poll again
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException(alive + " of " + workers + " workers registered within "
                + REGISTRATION_TIMEOUT.toSeconds() + " s; see " + dir.resolve("logs"));
    }

    String masterUrl() {
        return "spark://127.0.0.1:" + port;
    }

    Path logs() {
        return dir.resolve("logs");
    }

    /**
     * Submits {@code candor <args>} to this cluster with spark-submit semantics; the driver's output goes to
     * {@code log}. {@code sparkConf} adds spark-submit {@code --conf key=value} settings.
     */
    Submission submit(Path log, List<String> sparkConf, List<String> args) throws IOException {
        List<String> command = new ArrayList<>(List.of(javaBinary(), "-Xmx1g", QUICK_START));
        command.addAll(opens());
        Path root = projectRoot();
        // The project's logging, plus the scheduler's INFO lines (stages submitted, tasks started, lost and retried).
        command.add("-Dlog4j2.configurationFile=" + root.resolve("conf/log4j2.properties") + ","
                + resource("log4j2-scheduler.properties"));
        command.addAll(List.of("-cp", sparkClasspath(), "org.apache.spark.deploy.SparkSubmit",
                "--master", masterUrl(), "--class", Candor.class.getName(),
                "--conf", "spark.driver.host=127.0.0.1",
                "--conf", "spark.executor.extraJavaOptions=" + QUICK_START + " " + String.join(" ", opens()),
                "--conf", "spark.ui.enabled=false"));
        for (String kv : sparkConf) {
            command.addAll(List.of("--conf", kv));
        }
        command.add(System.getProperty("candor.shaded.jar", root.resolve("jobs/target/candor-jobs-0.1.0-SNAPSHOT.jar")
                .toString()));
        command.addAll(args);
        Files.createDirectories(log.getParent());
        ProcessBuilder builder = new ProcessBuilder(command).directory(root.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        Process process = builder.start();
        synchronized (submissions) {
            submissions.add(process);
        }
        return new Submission(process, log);
    }

    /** The executor JVMs the Workers of this cluster have running now (not those of any other cluster). */
    List<ProcessHandle> executors() {
        return daemons.stream().flatMap(Process::descendants)
                .filter(p -> p.info().commandLine().orElse("").contains("CoarseGrainedExecutorBackend")).toList();
    }

    /** The executor JVM with Spark executor id {@code id}, if it is running. */
    Optional<ProcessHandle> executor(String id) {
        return executors().stream().filter(p -> argumentAfter(p, "--executor-id").equals(id)).findFirst();
    }

    private static String argumentAfter(ProcessHandle p, String flag) {
        List<String> args = Arrays.asList(p.info().arguments().orElse(new String[0]));
        int i = args.indexOf(flag);
        return i >= 0 && i + 1 < args.size() ? args.get(i + 1) : "";
    }

    @Override
    public void close() {
        destroyAll();
        try {
            Runtime.getRuntime().removeShutdownHook(killOnExit);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or has run: nothing left to remove
        }
    }

    /** Kills drivers first, then each daemon with its descendants (the executors), and waits for them. */
    private void destroyAll() {
        List<Process> all = new ArrayList<>();
        synchronized (submissions) {
            all.addAll(submissions);
        }
        all.addAll(daemons);
        List<ProcessHandle> handles = new ArrayList<>();
        for (Process p : all) {
            p.descendants().forEach(handles::add);
            handles.add(p.toHandle());
        }
        handles.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle h : handles) {
            try {
                h.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception notGoneInTime) {
                // best effort: a process that outlives SIGKILL for 10 s is the kernel's business
            }
        }
    }

    /** A running submission: its driver process and log. */
    record Submission(Process process, Path log) {
        /** Waits for the driver to exit and returns its exit code; kills it (and fails) after {@code timeout}. */
        int await(Duration timeout) throws InterruptedException {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                throw new AssertionError("spark-submit did not finish within " + timeout.toSeconds() + " s; see " + log);
            }
            return process.exitValue();
        }

        String output() {
            try {
                return Files.readString(log);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    static Path projectRoot() {
        return Path.of(System.getProperty("candor.project.root", "..")).toAbsolutePath().normalize();
    }

    private static String sparkClasspath() throws IOException {
        Path file = Path.of(System.getProperty("candor.spark.classpath",
                projectRoot().resolve("jobs/target/spark-classpath.txt").toString()));
        if (!Files.isRegularFile(file)) {
            throw new IllegalStateException(file + " is missing: run the package phase first (mvn -DskipTests package)");
        }
        return Files.readString(file).strip();
    }

    private static List<String> opens() {
        String opens = System.getProperty("candor.jvm.opens", "");
        if (opens.isBlank()) {
            throw new IllegalStateException("system property candor.jvm.opens is not set (Maven sets it from pom.xml)");
        }
        return List.of(opens.strip().split("\\s+"));
    }

    private static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static String resource(String name) {
        URL url = StandaloneCluster.class.getResource("/" + name);
        if (url == null) {
            throw new IllegalStateException("test resource " + name + " is missing");
        }
        try {
            return Path.of(url.toURI()).toString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException("test resource " + name + " is not a file: " + url, e);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
