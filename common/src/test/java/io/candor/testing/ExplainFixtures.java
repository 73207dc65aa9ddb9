package io.candor.testing;

import io.candor.explain.ModelSource;
import io.candor.util.Seeds;
import org.apache.spark.TaskContext;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

/** Shared inputs of the explainer tests: synthetic data with a known truth, and an injected task failure. */
public final class ExplainFixtures {
    /** Faults injected so far; local mode runs tasks in the test JVM, so they are counted here. */
    public static final AtomicInteger INJECTED = new AtomicInteger();

    private ExplainFixtures() {
    }

    /**
     * Writes {@code rows} rows of six standard-normal features f0..f5 and {@code target = 1 if f0 + f1 > 0}: a label
     * that depends on features 0 and 1 only.
     */
    public static Path syntheticCsv(Path file, int rows, long seed) throws IOException {
        StringBuilder text = new StringBuilder("f0,f1,f2,f3,f4,f5,target\n");
        for (int i = 0; i < rows; i++) {
            SplittableRandom random = Seeds.stream(seed, i);
            double[] f = new double[6];
            for (int j = 0; j < 6; j++) {
                double u = 1 - random.nextDouble(); // Box–Muller
                f[j] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
            }
            for (double v : f) {
                text.append(String.format(Locale.ROOT, "%.6f,", v));
            }
            text.append(f[0] + f[1] > 0 ? 1 : 0).append('\n');
        }
        Files.writeString(file, text);
        return file;
    }

    /** The model source, except that the first attempt of partition 1 of every job fails. */
    public static ModelSource failingFirstAttemptOfPartition1(ModelSource delegate) {
        return () -> {
            TaskContext task = TaskContext.get();
            if (task.partitionId() == 1 && task.attemptNumber() == 0) {
                INJECTED.incrementAndGet();
                throw new IllegalStateException("injected fault: first attempt of partition 1");
            }
            return delegate.open();
        };
    }
}
