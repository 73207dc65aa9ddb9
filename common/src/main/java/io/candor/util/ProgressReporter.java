package io.candor.util;

import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Logs a Spark job's progress from the driver while it runs: tasks add finished units to an accumulator, and every
 * few seconds this reports units done, the total and an ETA. The job itself keeps its single scan of the data.
 */
public final class ProgressReporter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProgressReporter.class);

    private final String label;
    private final String unit;
    private final long total;
    private final LongAccumulator done;
    private final long start = System.nanoTime();
    private final ScheduledExecutorService timer;

    public ProgressReporter(String label, String unit, long total, LongAccumulator done) {
        this.label = label;
        this.unit = unit;
        this.total = total;
        this.done = done;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "candor-progress");
            t.setDaemon(true);
            return t;
        });
        LOG.info("{}: {} {} to evaluate", label, total, unit);
        timer.scheduleAtFixedRate(this::report, 5, 5, TimeUnit.SECONDS);
    }

    private void report() {
        long value = done.value();
        double elapsed = (System.nanoTime() - start) / 1e9;
        String eta = value > 0 ? Math.round(elapsed / value * Math.max(0, total - value)) + "s" : "unknown";
        LOG.info("{}: {}/{} {} done ({}s elapsed, ETA {})", label, value, total, unit, Math.round(elapsed), eta);
    }

    /** Logs the final line. */
    public void finish() {
        LOG.info("{}: {} {} done in {}s", label, done.value(), unit, Math.round((System.nanoTime() - start) / 1e9));
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
