package io.candor.bench;

import io.candor.config.CandorConf;
import io.candor.config.ConfLoader;
import io.candor.data.SyntheticData;
import io.candor.explain.ImportanceWorkflow;
import io.candor.explain.ShapleyWorkflow;
import io.candor.train.TrainWorkflow;
import io.candor.util.DriverHeap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * {@code candor bench scale}: the pipeline's cost as the data grows, measured in one run. For each size it generates
 * a seeded synthetic table inside Spark ({@link SyntheticData}, written as Parquet under the work directory), then
 * runs the real workflows on it as a user would: {@code train}, {@code importance} (the whole test split) and
 * {@code shapley} (a sample of rows, plus SAGE), with the benchmark conf's settings. It reports per size the wall time
 * of each stage, rows per second, and this JVM's peak heap (the driver, in client mode), and across sizes the slope
 * of time against rows. A pipeline whose driver holds nothing row-sized keeps the driver's heap flat and the time per
 * row constant as the rows grow.
 */
public final class ScaleBenchmark {
    private static final Logger LOG = LoggerFactory.getLogger(ScaleBenchmark.class);
    /** Rows per generated Parquet file: files, and so read tasks, grow with the data. */
    private static final long ROWS_PER_FILE = 1_000_000;
    private static final long WARM_UP_ROWS = 10_000;
    /** The limits: peak driver heap at the largest size over the smallest, time per row largest over second. */
    public static final double MAX_HEAP_RATIO = 1.5;
    public static final double MAX_TIME_PER_ROW_RATIO = 1.5;

    public static final List<String> STAGES = List.of("generate", "train", "importance", "shapley");

    private ScaleBenchmark() {
    }

    /** One size's measurements; times in seconds, heap in bytes. */
    public record Size(long rows, Map<String, Double> seconds, long peakLiveBytes, long peakUsedBytes) {
        public double totalSeconds() {
            return seconds.values().stream().mapToDouble(Double::doubleValue).sum();
        }
    }

    /** All sizes, with the least-squares line of total seconds against rows. */
    public record Result(int features, List<Size> sizes, long maxHeapBytes) {
        /** Seconds per million rows, from the least-squares fit of total time on rows. */
        public double secondsPerMillionRows() {
            int n = sizes.size();
            double mx = sizes.stream().mapToDouble(s -> s.rows() / 1e6).sum() / n;
            double my = sizes.stream().mapToDouble(Size::totalSeconds).sum() / n;
            double sxy = 0;
            double sxx = 0;
            for (Size s : sizes) {
                double x = s.rows() / 1e6 - mx;
                sxy += x * (s.totalSeconds() - my);
                sxx += x * x;
            }
            return sxx == 0 ? Double.NaN : sxy / sxx;
        }

        /** Peak live driver heap at the largest size over the smallest. */
        public double heapRatio() {
            return (double) sizes.get(sizes.size() - 1).peakLiveBytes() / sizes.get(0).peakLiveBytes();
        }

        /** Total time per row at the largest size over the second largest. */
        public double timePerRowRatio() {
            Size last = sizes.get(sizes.size() - 1);
            Size before = sizes.get(sizes.size() - 2);
            return (last.totalSeconds() / last.rows()) / (before.totalSeconds() / before.rows());
        }
    }

    /**
     * @param conf     the benchmark conf (model, train, importance and shapley settings); its dataset keys are set here
     * @param sizes    row counts, ascending, at least two
     * @param workDir  where the data and each size's output root go (any Hadoop path the executors reach)
     * @param keep     keep each size's data and tables instead of deleting them after the size
     * @param progress called with each finished size
     */
    public static Result run(SparkSession spark, CandorConf conf, List<Long> sizes, int features, String workDir,
                             boolean keep, Consumer<Size> progress) {
        if (sizes.size() < 2 || sizes.stream().anyMatch(n -> n < 100)) {
            throw new IllegalArgumentException("bench scale needs at least two sizes of 100 rows or more, got " + sizes);
        }
        for (int i = 1; i < sizes.size(); i++) {
            if (sizes.get(i) <= sizes.get(i - 1)) {
                throw new IllegalArgumentException("bench scale sizes must ascend, got " + sizes);
            }
        }
        // A small size first, not reported: the JIT, Spark's and DL4J's first-use costs would otherwise all land on
        // the first measured size and bend the slope.
        long warmUp = Math.min(WARM_UP_ROWS, sizes.get(0));
        LOG.info("bench scale: warm-up with {} rows", warmUp);
        measure(spark, conf, warmUp, features, workDir);
        delete(spark, new Path(workDir, "rows-" + warmUp));
        List<Size> measured = new ArrayList<>();
        for (long rows : sizes) {
            Size size = measure(spark, conf, rows, features, workDir);
            measured.add(size);
            progress.accept(size);
            if (!keep) {
                delete(spark, new Path(workDir, "rows-" + rows));
            }
        }
        return new Result(features, measured, DriverHeap.maxBytes());
    }

    private static Size measure(SparkSession spark, CandorConf base, long rows, int features, String workDir) {
        String dir = new Path(workDir, "rows-" + rows).toString();
        String data = dir + "/data.parquet";
        CandorConf conf = new ConfLoader().derive(base, List.of(
                "dataset.name=scale_" + rows, "dataset.path=" + data, "dataset.format=parquet",
                "dataset.label=" + SyntheticData.LABEL, "dataset.id-column=" + SyntheticData.ID,
                "output.root=" + dir + "/out"));
        Map<String, Double> seconds = new LinkedHashMap<>();
        try (DriverHeap heap = DriverHeap.watch()) {
            int files = (int) Math.max(1, (rows + ROWS_PER_FILE - 1) / ROWS_PER_FILE);
            time(seconds, "generate", rows, () -> SyntheticData.write(spark, rows, features, conf.seed(), files, data));
            time(seconds, "train", rows, () -> TrainWorkflow.run(spark, conf));
            time(seconds, "importance", rows, () -> ImportanceWorkflow.run(spark, conf));
            time(seconds, "shapley", rows, () -> ShapleyWorkflow.run(spark, conf));
            return new Size(rows, seconds, heap.peakLiveBytes(), heap.peakUsedBytes());
        }
    }

    private static void time(Map<String, Double> seconds, String stage, long rows, Runnable work) {
        LOG.info("bench scale: {} rows, {} starting", rows, stage);
        long start = System.nanoTime();
        work.run();
        double s = (System.nanoTime() - start) / 1e9;
        seconds.put(stage, s);
        LOG.info("bench scale: {} rows, {} took {} s", rows, stage, String.format("%.1f", s));
    }

    private static void delete(SparkSession spark, Path path) {
        try {
            FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
            fs.delete(path, true);
        } catch (IOException e) {
            throw new UncheckedIOException("deleting " + path, e);
        }
    }
}
