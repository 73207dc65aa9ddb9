package io.candor.store;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Makes a run's tables appear together. The run writes every table under {@code <root>/_staging/<run_id>/} (the same
 * layout as the root) and nothing under the root itself; {@link #commit} then moves the staged partitions into place.
 * A run that dies before its commit leaves the root exactly as it was: earlier results stay readable and complete, and
 * {@link #recover} deletes the orphaned staging directory. The commit first writes a marker; a run that dies during
 * its commit is rolled forward by {@link #recover}, because every move is idempotent.
 *
 * <p>A replaced partition is renamed aside (into the staging directory, outside the table) before the staged one is
 * renamed in, so a reader never sees the old and new rows of a partition together.
 *
 * <p>Runs on one root are isolated by {@link RunLease}s: a staging directory names the lease key its run holds (a
 * {@code _LEASE} file), and recovery touches a staging directory only while holding that key, so it never removes the
 * staged output of a run that is still going; it removes only what a run whose process is gone left behind.
 */
public final class StagedCommit {
    public static final String STAGING = "_staging";
    static final String MARKER = "_COMMITTING";
    /** In a run's staging directory: the lease key the run holds while it stages. */
    static final String LEASE_KEY = "_LEASE";
    /** Prefix of the private directories of single appends ({@link TableWriter}); no lease, short-lived. */
    static final String APPEND_PREFIX = "_append-";
    private static final String REPLACED = "_replaced";
    private static final Logger LOG = LoggerFactory.getLogger(StagedCommit.class);

    private final FileSystem fs;
    private final Path root;
    private final Path staging;

    private StagedCommit(FileSystem fs, Path root, Path staging) {
        this.fs = fs;
        this.root = root;
        this.staging = staging;
    }

    static String stagingRoot(String root, String runId) {
        return new Path(new Path(root, STAGING), runId).toString();
    }

    /** Moves everything staged by {@code runId} into {@code root}, then deletes its staging directory. */
    public static void commit(SparkSession spark, String root, String runId) {
        StagedCommit c = of(spark, root, runId);
        c.io(() -> c.fs.create(new Path(c.staging, MARKER), true).close());
        c.moveAll();
    }

    /**
     * Creates run {@code runId}'s staging directory, owned by the lease key {@code leaseKey} the run holds, and returns
     * it: pass it as the tables root of everything the run writes.
     */
    public static String begin(SparkSession spark, String root, String runId, String leaseKey) {
        StagedCommit c = of(spark, root, runId);
        c.io(() -> {
            c.fs.mkdirs(c.staging);
            try (var out = c.fs.create(new Path(c.staging, LEASE_KEY), true)) {
                out.write(leaseKey.getBytes(StandardCharsets.UTF_8));
            }
        });
        return stagingRoot(root, runId);
    }

    /**
     * Finishes or discards the staged runs under {@code root} whose process is gone: a marked commit is rolled forward,
     * an unmarked staging directory (a run killed before its commit) is deleted. The caller holds {@code heldKey}
     * (run {@code runId}); a staging directory of another key is recovered only if its key's lease can be taken (its
     * run is gone), and left alone otherwise. Returns the run ids rolled forward.
     */
    public static List<String> recover(SparkSession spark, String root, RunLease held) {
        Path stagingParent = new Path(root, STAGING);
        List<String> rolledForward = new ArrayList<>();
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        try {
            FileSystem fs = stagingParent.getFileSystem(hadoop);
            if (!fs.exists(stagingParent)) {
                return rolledForward;
            }
            for (FileStatus run : sorted(fs.listStatus(stagingParent))) {
                String runId = run.getPath().getName();
                if (runId.equals(held.owner().runId())) {
                    continue;
                }
                Path keyFile = new Path(run.getPath(), LEASE_KEY);
                if (!fs.exists(keyFile)) {
                    // A single append, or a run that died between creating its directory and naming its key.
                    if (System.currentTimeMillis() - run.getModificationTime() > RunLease.TTL.toMillis()) {
                        LOG.warn("{}: staging without a lease, older than {}; deleting it", run.getPath(), RunLease.TTL);
                        fs.delete(run.getPath(), true);
                    }
                    continue;
                }
                String key;
                try (var in = fs.open(keyFile)) {
                    key = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                }
                if (key.equals(held.key())) {
                    recoverOne(fs, root, run.getPath(), rolledForward);
                    continue;
                }
                Optional<RunLease> other = RunLease.tryAcquire(hadoop, root, key, held.owner().runId());
                if (other.isEmpty()) {
                    LOG.info("staging of run {} belongs to {}, which a live run holds; left alone", runId, key);
                    continue;
                }
                try (RunLease ignored = other.get()) {
                    if (fs.exists(run.getPath())) {
                        recoverOne(fs, root, run.getPath(), rolledForward);
                    }
                }
            }
            return rolledForward;
        } catch (IOException e) {
            throw new UncheckedIOException("recovering staged runs under " + stagingParent, e);
        }
    }

    private static void recoverOne(FileSystem fs, String root, Path stagedRun, List<String> rolledForward)
            throws IOException {
        String runId = stagedRun.getName();
        StagedCommit c = new StagedCommit(fs, fs.makeQualified(new Path(root)), stagedRun);
        if (fs.exists(new Path(stagedRun, MARKER))) {
            LOG.warn("run {} died during its commit; rolling it forward", runId);
            c.moveAll();
            rolledForward.add(runId);
        } else {
            LOG.warn("run {} died before its commit; discarding its staged output", runId);
            fs.delete(stagedRun, true);
        }
    }

    /**
     * Appends the files of the table staged at {@code stagedTable} (a private directory under {@code _staging}) to
     * {@code table} under {@code root}, then deletes it. Spark's own append shares one {@code _temporary} directory per
     * table, which two processes appending at once would break; renaming uniquely named files does not.
     */
    static void appendStaged(SparkSession spark, String root, Path stagedTable, Table table) {
        StagedCommit c = of(spark, root, stagedTable.getParent().getName());
        c.io(() -> {
            c.moveFiles(stagedTable, new Path(c.root, table.tableName()));
            c.fs.delete(stagedTable.getParent(), true);
        });
    }

    /** Discards what {@code runId} staged (a failed run). */
    public static void discard(SparkSession spark, String root, String runId) {
        StagedCommit c = of(spark, root, runId);
        c.io(() -> c.fs.delete(c.staging, true));
    }

    /** For tests: what a commit that died after moving {@code first} leaves behind (marker already written). */
    static void interruptedAfterFirstTable(SparkSession spark, String root, String runId, Table first) {
        StagedCommit c = of(spark, root, runId);
        c.io(() -> c.commitTable(first));
    }

    private static StagedCommit of(SparkSession spark, String root, String runId) {
        Path rootPath = new Path(root);
        try {
            FileSystem fs = rootPath.getFileSystem(spark.sparkContext().hadoopConfiguration());
            return new StagedCommit(fs, fs.makeQualified(rootPath), fs.makeQualified(new Path(stagingRoot(root, runId))));
        } catch (IOException e) {
            throw new UncheckedIOException("opening " + root, e);
        }
    }

    private void moveAll() {
        io(() -> {
            for (FileStatus entry : sorted(fs.listStatus(staging))) {
                String name = entry.getPath().getName();
                if (!entry.isDirectory() || name.startsWith("_") || name.startsWith(".")) {
                    continue;
                }
                Table table = Arrays.stream(Table.values()).filter(t -> t.tableName().equals(name)).findFirst()
                        .orElse(null);
                if (table == null) {
                    moveFiles(entry.getPath(), new Path(root, name)); // e.g. reports: plain files, replaced one by one
                } else {
                    commitTable(table);
                }
            }
            fs.delete(staging, true);
        });
    }

    /** Moves one staged table into place: partitions replaced, or files appended for an append-only table. */
    void commitTable(Table table) throws IOException {
        Path stagedTable = new Path(staging, table.tableName());
        if (!fs.exists(stagedTable)) {
            return;
        }
        Path target = new Path(root, table.tableName());
        int depth = table.partitionColumns().size();
        for (Path partition : leaves(stagedTable, depth)) {
            String relative = relative(stagedTable, partition);
            Path destination = new Path(target, relative);
            if (table.mode() == Table.Mode.APPEND) {
                moveFiles(partition, destination);
            } else {
                replace(partition, destination, new Path(new Path(new Path(staging, REPLACED), table.tableName()), relative));
            }
        }
        fs.delete(stagedTable, true);
    }

    private void replace(Path staged, Path destination, Path aside) throws IOException {
        if (fs.exists(destination)) {
            fs.delete(aside, true);
            fs.mkdirs(aside.getParent());
            rename(destination, aside);
        }
        fs.mkdirs(destination.getParent());
        rename(staged, destination);
        fs.delete(aside, true);
    }

    private void moveFiles(Path from, Path to) throws IOException {
        fs.mkdirs(to);
        for (FileStatus f : sorted(fs.listStatus(from))) {
            String name = f.getPath().getName();
            if (name.startsWith(".") || name.startsWith("_")) {
                continue; // checksums travel with their file; _SUCCESS markers stay behind
            }
            Path destination = new Path(to, name);
            if (f.isDirectory()) {
                moveFiles(f.getPath(), destination);
            } else {
                fs.delete(destination, false);
                rename(f.getPath(), destination);
            }
        }
    }

    private void rename(Path from, Path to) throws IOException {
        if (!fs.rename(from, to)) {
            throw new IOException("cannot rename " + from + " to " + to);
        }
    }

    /** The directories {@code depth} levels below {@code dir} (the partition directories of a table). */
    private List<Path> leaves(Path dir, int depth) throws IOException {
        List<Path> level = List.of(dir);
        for (int d = 0; d < depth; d++) {
            List<Path> next = new ArrayList<>();
            for (Path p : level) {
                for (FileStatus s : sorted(fs.listStatus(p))) {
                    if (s.isDirectory() && s.getPath().getName().contains("=")) {
                        next.add(s.getPath());
                    }
                }
            }
            level = next;
        }
        return level;
    }

    private static String relative(Path parent, Path child) {
        return child.toString().substring(parent.toString().length() + 1);
    }

    private static FileStatus[] sorted(FileStatus[] statuses) {
        Arrays.sort(statuses, Comparator.comparing(s -> s.getPath().getName()));
        return statuses;
    }

    private interface IoAction {
        void run() throws IOException;
    }

    private void io(IoAction action) {
        try {
            action.run();
        } catch (IOException e) {
            throw new UncheckedIOException("committing " + staging + " into " + root, e);
        }
    }
}
