package io.candor.model;

import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.BiFunction;

/**
 * Runs a partition's rows through a network in batches: one matrix and one forward pass per batch, never per row.
 * Lazy, so a partition streams through with one batch in memory.
 */
public final class BatchedInference {
    public static final int DEFAULT_BATCH = 1024;

    private BatchedInference() {
    }

    /** Any model evaluated a batch at a time: row-major features of {@code rows} rows in, one output row per row. */
    @FunctionalInterface
    public interface BatchFunction {
        float[][] apply(float[] features, int rows);
    }

    /**
     * @param featuresIndex position of the input vector in each row
     * @param emit maps (input row, output row of the network) to the result
     */
    public static <T> Iterator<T> map(Iterator<Row> rows, int featuresIndex, int width, Network network, int batchSize,
                                      BiFunction<Row, float[], T> emit) {
        return map(rows, featuresIndex, width, (flat, n) -> rowsOf(network.output(
                Nd4j.create(flat, new long[] {n, width}, 'c')).castTo(DataType.FLOAT).dup('c').data().asFloat(), n),
                batchSize, emit);
    }

    /** Splits a row-major matrix in Java: INDArray.toFloatMatrix() would make one native array per row. */
    private static float[][] rowsOf(float[] flat, int rows) {
        int width = flat.length / rows;
        float[][] out = new float[rows][];
        for (int i = 0; i < rows; i++) {
            out[i] = java.util.Arrays.copyOfRange(flat, i * width, (i + 1) * width);
        }
        return out;
    }

    /** As above, for any batch function (e.g. an integer model). */
    public static <T> Iterator<T> map(Iterator<Row> rows, int featuresIndex, int width, BatchFunction model,
                                      int batchSize, BiFunction<Row, float[], T> emit) {
        return new Iterator<>() {
            private final List<T> ready = new ArrayList<>();
            private int next;

            @Override
            public boolean hasNext() {
                if (next < ready.size()) {
                    return true;
                }
                ready.clear();
                next = 0;
                List<Row> batch = new ArrayList<>(batchSize);
                while (batch.size() < batchSize && rows.hasNext()) {
                    batch.add(rows.next());
                }
                if (batch.isEmpty()) {
                    return false;
                }
                float[] flat = new float[batch.size() * width];
                for (int i = 0; i < batch.size(); i++) {
                    Vector v = (Vector) batch.get(i).get(featuresIndex);
                    for (int j = 0; j < width; j++) {
                        flat[i * width + j] = (float) v.apply(j);
                    }
                }
                float[][] out = model.apply(flat, batch.size());
                for (int i = 0; i < batch.size(); i++) {
                    ready.add(emit.apply(batch.get(i), out[i]));
                }
                return true;
            }

            @Override
            public T next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return ready.get(next++);
            }
        };
    }
}
