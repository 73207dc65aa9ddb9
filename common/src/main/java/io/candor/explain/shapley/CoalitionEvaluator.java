package io.candor.explain.shapley;

import io.candor.config.Knobs;
import io.candor.explain.BatchModel;

import java.util.Arrays;

/**
 * Evaluates coalition values {@code v(S) = Σ_b w_b f(x_S, bg_b,¬S)} for many (input row, coalition) tasks with as few
 * model calls as the memory budget allows (DESIGN §2.2). The tasks are laid out as one flat sequence of model rows,
 * task by task and background row by background row, and cut into batches of at most {@code batchRows} rows, so the
 * number of {@link BatchModel#predict} calls is {@code ceil(model rows / batchRows)} whatever the mix of tasks.
 *
 * <p>A task whose coalition holds every player is {@code f(x)} itself and costs one model row, not one per
 * background row. Each task's sum runs over background rows in index order, so a value does not depend on where the
 * batch boundaries fall, nor on which other tasks share its call (given a model whose rows are independent).
 * Not thread-safe, like the model it wraps.
 */
public final class CoalitionEvaluator {
    /** Default memory budget of model input and output per call: the conf default of {@code shapley.batch-values}. */
    public static final long DEFAULT_MAX_VALUES_PER_BATCH = Knobs.SHAPLEY_BATCH_VALUES.defaultValue();

    private final BatchModel model;
    private final Players players;
    private final Background background;
    private final int inputs;
    private final int outputs;
    private final int batchRows;

    /**
     * @param maxValuesPerBatch most doubles in one call's input and output matrices together, i.e. a batch holds
     *     {@code maxValuesPerBatch / (inputs + outputs)} model rows
     * @throws IllegalArgumentException if the players or background do not match the model's input width, or the
     *     budget cannot hold one model row
     */
    public CoalitionEvaluator(BatchModel model, Players players, Background background, long maxValuesPerBatch) {
        this.model = model;
        this.players = players;
        this.background = background;
        this.inputs = model.inputs();
        this.outputs = model.outputs();
        if (players.inputs() != inputs) {
            throw new IllegalArgumentException("players: groups partition " + players.inputs()
                    + " inputs; expected the model's " + inputs);
        }
        if (background.width() != inputs) {
            throw new IllegalArgumentException("background: rows have " + background.width()
                    + " values; expected the model's " + inputs + " inputs");
        }
        long perRow = (long) inputs + outputs;
        if (maxValuesPerBatch < perRow) {
            throw new IllegalArgumentException("maxValuesPerBatch: " + maxValuesPerBatch + " is below " + perRow
                    + ", one model row (" + inputs + " inputs + " + outputs + " outputs)");
        }
        this.batchRows = (int) Math.min(Integer.MAX_VALUE / Math.max(inputs, outputs), maxValuesPerBatch / perRow);
    }

    /** Model rows in a full batch. */
    public int batchRows() {
        return batchRows;
    }

    public Players players() {
        return players;
    }

    public Background background() {
        return background;
    }

    public int outputs() {
        return outputs;
    }

    /** Model rows that a task with this coalition costs: 1 for the grand coalition, else one per background row. */
    public int modelRows(boolean[] coalition) {
        return allTrue(coalition) ? 1 : background.size();
    }

    /**
     * @param xs input rows the tasks refer to
     * @param rowOf for each task, the index of its input row in {@code xs}
     * @param coalitions for each task, one flag per player: true where the player takes x's values
     * @return {@code tasks × outputs} coalition values, row-major
     */
    public double[] evaluate(double[][] xs, int[] rowOf, boolean[][] coalitions) {
        int tasks = rowOf.length;
        int bgRows = background.size();
        long total = 0;
        int[][] xCols = new int[tasks][];
        boolean[] grand = new boolean[tasks];
        for (int t = 0; t < tasks; t++) {
            grand[t] = allTrue(coalitions[t]);
            xCols[t] = grand[t] ? null : players.columnsOf(coalitions[t]);
            total += grand[t] ? 1 : bgRows;
        }
        double[] values = new double[tasks * outputs];
        int capacity = (int) Math.min(batchRows, Math.max(1, total));
        double[] batch = new double[capacity * inputs];
        int[] taskOf = new int[capacity];
        int[] bgOf = new int[capacity];
        int filled = 0;
        for (int t = 0; t < tasks; t++) {
            double[] x = xs[rowOf[t]];
            int reps = grand[t] ? 1 : bgRows;
            for (int b = 0; b < reps; b++) {
                int off = filled * inputs;
                if (grand[t]) {
                    System.arraycopy(x, 0, batch, off, inputs);
                } else {
                    System.arraycopy(background.rowView(b), 0, batch, off, inputs);
                    for (int col : xCols[t]) {
                        batch[off + col] = x[col];
                    }
                }
                taskOf[filled] = t;
                bgOf[filled] = grand[t] ? -1 : b;
                if (++filled == capacity) {
                    accumulate(batch, filled, taskOf, bgOf, values);
                    filled = 0;
                }
            }
        }
        if (filled > 0) {
            accumulate(Arrays.copyOf(batch, filled * inputs), filled, taskOf, bgOf, values);
        }
        return values;
    }

    private void accumulate(double[] batch, int rows, int[] taskOf, int[] bgOf, double[] values) {
        double[] y = model.predict(batch, rows);
        if (y == null || y.length != (long) rows * outputs) {
            throw new IllegalStateException("model returned " + (y == null ? "null" : y.length + " values") + " for "
                    + rows + " rows; expected rows × " + outputs + " outputs");
        }
        for (int r = 0; r < rows; r++) {
            double w = bgOf[r] < 0 ? 1.0 : background.weight(bgOf[r]);
            int dst = taskOf[r] * outputs;
            for (int o = 0; o < outputs; o++) {
                values[dst + o] += w * y[r * outputs + o];
            }
        }
    }

    private static boolean allTrue(boolean[] flags) {
        for (boolean f : flags) {
            if (!f) {
                return false;
            }
        }
        return true;
    }
}
