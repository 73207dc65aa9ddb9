package io.candor.store;

import io.candor.util.InputException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Exclusive ownership of one key (e.g. an audit's model and date) under an output root, held by one run of one process.
 * Two processes never both hold a key, whatever file system the root is on that has an atomic create-if-absent (local
 * disks, HDFS).
 *
 * <p>A key is a directory {@code <root>/_leases/<key>/} of generation files {@code 1, 2, ...}; the highest one is the
 * current lease. A run acquires the key by creating the next generation exclusively, and only after the current one is
 * found free: released (deleted) or stale. Losing that race is a plain "already exists", never two winners, and nothing
 * is ever deleted by a process that does not hold the key, so there is no check-then-delete race.
 *
 * <p>Stale means the owner is gone: on the owner's own host, its process (pid and start time, so a reused pid does not
 * count) no longer runs; from another host, its heartbeat (the file's modification time, renewed every
 * {@link #HEARTBEAT}) is older than {@link #TTL}. A holder checks before it commits that no later generation exists
 * ({@link #checkHeld}): one paused past the TTL loses its lease rather than committing over its successor.
 */
public final class RunLease implements AutoCloseable {
    static final String LEASES = "_leases";
    /** A lease not renewed for this long, by an owner on another host, is stale. */
    static final Duration TTL = Duration.ofMinutes(10);
    static final Duration HEARTBEAT = Duration.ofSeconds(30);
    private static final Logger LOG = LoggerFactory.getLogger(RunLease.class);

    /** Who holds a lease: the run, and the process (host, pid, start time) that runs it. */
    public record Owner(String runId, String host, long pid, long processStart, Instant acquired) {
        static Owner current(String runId) {
            ProcessHandle self = ProcessHandle.current();
            long start = self.info().startInstant().map(Instant::toEpochMilli).orElse(0L);
            return new Owner(runId, hostName(), self.pid(), start, Instant.now());
        }

        byte[] toBytes() {
            String text = "run_id=" + runId + "\nhost=" + host + "\npid=" + pid + "\nprocess_start=" + processStart
                    + "\nacquired=" + acquired + "\n";
            return text.getBytes(StandardCharsets.UTF_8);
        }

        static Optional<Owner> parse(byte[] bytes) {
            Properties p = new Properties();
            try {
                p.load(new StringReader(new String(bytes, StandardCharsets.UTF_8)));
                return Optional.of(new Owner(p.getProperty("run_id"), p.getProperty("host"),
                        Long.parseLong(p.getProperty("pid")), Long.parseLong(p.getProperty("process_start")),
                        Instant.parse(p.getProperty("acquired"))));
            } catch (IOException | RuntimeException e) {
                return Optional.empty(); // being written, or not a lease: judged by its age alone
            }
        }

        /** Whether this owner's process is certainly gone, as far as this host can tell. */
        boolean processGone() {
            if (!host.equals(hostName())) {
                return false;
            }
            Optional<ProcessHandle> process = ProcessHandle.of(pid);
            if (process.isEmpty() || !process.get().isAlive()) {
                return true;
            }
            long start = process.get().info().startInstant().map(Instant::toEpochMilli).orElse(processStart);
            return start != processStart; // the pid was reused by another process
        }

        String describe() {
            return "run " + runId + ", pid " + pid + " on " + host + ", since " + acquired;
        }
    }

    private final FileSystem fs;
    private final Path file;
    private final String key;
    private final Owner owner;
    private final ScheduledExecutorService heartbeat;

    private RunLease(FileSystem fs, Path file, String key, Owner owner) {
        this.fs = fs;
        this.file = file;
        this.key = key;
        this.owner = owner;
        this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "candor-lease-" + key);
            t.setDaemon(true);
            return t;
        });
        long period = HEARTBEAT.toMillis();
        heartbeat.scheduleAtFixedRate(this::renewNow, period, period, TimeUnit.MILLISECONDS);
    }

    /**
     * Acquires {@code key} under {@code root} for {@code runId}, taking over a stale lease; throws an
     * {@link InputException} naming the holder when a live run holds it.
     */
    public static RunLease acquire(Configuration hadoop, String root, String key, String runId) {
        return tryAcquire(hadoop, root, key, runId).orElseThrow(() -> new InputException("output root " + root
                + ": " + key + " is in use by " + holder(hadoop, root, key).map(Owner::describe).orElse("another run")
                + " (lease " + keyDir(root, key) + "); expected no other live run of it: wait for that run to end"
                + " (a lease whose process is gone is taken over)"));
    }

    /** Acquires {@code key}, or returns empty when a live run holds it. */
    public static Optional<RunLease> tryAcquire(Configuration hadoop, String root, String key, String runId) {
        Path dir = keyDir(root, key);
        Owner owner = Owner.current(runId);
        try {
            FileSystem fs = dir.getFileSystem(hadoop);
            for (int attempt = 0; attempt < 8; attempt++) {
                Optional<FileStatus> current = current(fs, dir);
                if (current.isPresent() && !stale(fs, current.get())) {
                    return Optional.empty();
                }
                long next = current.map(s -> generation(s.getPath()) + 1).orElse(1L);
                Path file = new Path(dir, Long.toString(next));
                if (createExclusive(fs, file, owner.toBytes())) {
                    current.ifPresent(s -> LOG.warn("{}: took over the stale lease of {}", key,
                            read(fs, s.getPath()).map(Owner::describe).orElse("an unknown run")));
                    RunLease lease = new RunLease(fs, file, key, owner);
                    lease.deleteEarlierGenerations(next);
                    return Optional.of(lease);
                }
                // Another process created the same generation first: judge the new current lease again.
            }
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("acquiring the lease " + dir, e);
        }
    }

    /** The owner of {@code key}'s current lease, if a live run holds it. */
    public static Optional<Owner> holder(Configuration hadoop, String root, String key) {
        Path dir = keyDir(root, key);
        try {
            FileSystem fs = dir.getFileSystem(hadoop);
            Optional<FileStatus> current = current(fs, dir);
            if (current.isEmpty() || stale(fs, current.get())) {
                return Optional.empty();
            }
            return read(fs, current.get().getPath());
        } catch (IOException e) {
            throw new UncheckedIOException("reading the lease " + dir, e);
        }
    }

    /** Throws when a later generation exists: this run was judged gone and its key taken over. */
    public void checkHeld() {
        try {
            Optional<FileStatus> current = current(fs, file.getParent());
            if (current.isEmpty() || !current.get().getPath().getName().equals(file.getName())) {
                throw new InputException("lease " + file + ": " + key + " was taken over by "
                        + current.flatMap(s -> read(fs, s.getPath())).map(Owner::describe).orElse("another run")
                        + " while run " + owner.runId() + " was paused; expected it still held; nothing was committed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading the lease " + file, e);
        }
    }

    public Owner owner() {
        return owner;
    }

    public String key() {
        return key;
    }

    /** Releases the key: the next run acquires it at once. */
    @Override
    public void close() {
        heartbeat.shutdownNow();
        try {
            fs.delete(file, false);
        } catch (IOException e) {
            LOG.warn("{}: could not delete the lease {} ({}); it turns stale when this process ends", key, file,
                    e.toString());
        }
    }

    static Path keyDir(String root, String key) {
        return new Path(new Path(root, LEASES), key);
    }

    void renewNow() {
        try {
            fs.setTimes(file, System.currentTimeMillis(), -1);
        } catch (IOException | RuntimeException e) {
            LOG.warn("{}: could not renew the lease {}: {}", key, file, e.toString());
        }
    }

    private void deleteEarlierGenerations(long held) throws IOException {
        for (FileStatus s : fs.listStatus(file.getParent())) {
            long g = generation(s.getPath());
            if (g > 0 && g < held) {
                fs.delete(s.getPath(), false);
            }
        }
    }

    private static Optional<FileStatus> current(FileSystem fs, Path dir) throws IOException {
        if (!fs.exists(dir)) {
            return Optional.empty();
        }
        FileStatus[] all = fs.listStatus(dir, p -> generation(p) > 0);
        return java.util.Arrays.stream(all).max(Comparator.comparingLong(s -> generation(s.getPath())));
    }

    private static boolean stale(FileSystem fs, FileStatus status) {
        Optional<Owner> owner = read(fs, status.getPath());
        if (owner.isPresent() && owner.get().processGone()) {
            return true;
        }
        return System.currentTimeMillis() - status.getModificationTime() > TTL.toMillis();
    }

    private static Optional<Owner> read(FileSystem fs, Path p) {
        try (var in = fs.open(p)) {
            return Owner.parse(in.readAllBytes());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The generation a lease file's name holds, 0 for any other file (checksums, temporaries). */
    static long generation(Path p) {
        String name = p.getName();
        if (name.isEmpty() || name.length() > 18 || !name.chars().allMatch(Character::isDigit)) {
            return 0;
        }
        return Long.parseLong(name);
    }

    /**
     * Creates {@code file} with {@code content} unless it exists, atomically. Hadoop's local file system checks and then
     * creates, so on local disks the file is written aside and hard-linked into place (link(2) fails if the name
     * exists); elsewhere (HDFS) create-without-overwrite is atomic.
     */
    private static boolean createExclusive(FileSystem fs, Path file, byte[] content) throws IOException {
        if (fs instanceof LocalFileSystem || fs instanceof RawLocalFileSystem) {
            java.nio.file.Path target = java.nio.file.Path.of(fs.makeQualified(file).toUri());
            Files.createDirectories(target.getParent());
            java.nio.file.Path aside = Files.createTempFile(target.getParent(), ".lease-", ".tmp");
            try {
                Files.write(aside, content);
                Files.createLink(target, aside);
                return true;
            } catch (java.nio.file.FileAlreadyExistsException e) {
                return false;
            } finally {
                Files.deleteIfExists(aside);
            }
        }
        fs.mkdirs(file.getParent());
        try (OutputStream out = fs.create(file, false)) {
            out.write(content);
            return true;
        } catch (FileAlreadyExistsException e) {
            return false;
        }
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "unknown-host";
        }
    }
}
