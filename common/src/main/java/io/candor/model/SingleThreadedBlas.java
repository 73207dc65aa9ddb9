package io.candor.model;

import org.nd4j.linalg.api.blas.Blas;
import org.nd4j.linalg.factory.Nd4j;

import java.util.function.Supplier;

/**
 * Runs native work with BLAS on one thread. Why: multi-threaded OpenBLAS splits a large GEMM into per-thread
 * blocks whose summation order depends on the thread count, so the same batch gives outputs that differ in the last
 * bits between JVMs that start BLAS with different thread counts (a local driver against an executor; measured:
 * 44,508 of 120,000 double outputs of one 60,000-row batch changed, by up to 5e-16). With one thread a row's output
 * is the same on every topology and in every batch. Spark already runs one task per core, so executors lose
 * nothing; only a {@code local[1]} run forgoes BLAS threads on spare cores.
 *
 * <p>The count is shared by the whole process; it is lowered while any caller is inside and restored when the last
 * leaves, so concurrent tasks of one JVM all run single-threaded and later work (training) gets the default back.
 * Calls nest, and only the outermost changes the count. Changing it costs about a millisecond (measured: 0.6 to
 * 1.4 ms for a lower-and-restore pair), so a Spark task wraps its whole body once rather than each model call.
 */
public final class SingleThreadedBlas {
    private static final Object LOCK = new Object();
    private static int inside;
    private static int saved;

    private SingleThreadedBlas() {
    }

    /** {@code work}'s result, computed with BLAS on one thread. */
    public static <T> T call(Supplier<T> work) {
        enter();
        try {
            return work.get();
        } finally {
            exit();
        }
    }

    private static void enter() {
        synchronized (LOCK) {
            if (inside++ == 0) {
                Blas blas = Nd4j.factory().blas();
                saved = blas.getMaxThreads();
                if (saved != 1) {
                    blas.setMaxThreads(1);
                }
            }
        }
    }

    private static void exit() {
        synchronized (LOCK) {
            if (--inside == 0 && saved != 1) {
                Nd4j.factory().blas().setMaxThreads(saved);
            }
        }
    }
}
