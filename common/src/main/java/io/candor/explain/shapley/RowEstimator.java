package io.candor.explain.shapley;

import io.candor.explain.BatchModel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What the per-row Shapley estimators share: argument checks, and evaluating the coalitions of many rows together.
 * Rows are taken in groups whose task tables stay within a fixed size; each group is one
 * {@link CoalitionEvaluator#evaluate} call (so one partial batch per group at most), holding the empty coalition
 * (the base value), then for each row its grand coalition ({@code f(x)}) and the coalitions its plan asks for.
 * A row's plan depends only on the run seed and its row id, and its values do not depend on its batch
 * neighbours, so results do not depend on how rows are grouped or chunked.
 *
 * @param <P> an estimator's per-row plan: the coalitions to evaluate and what is needed to combine their values
 */
abstract class RowEstimator<P extends RowEstimator.Plan> {
    /** Bound on a group's task table (tasks × players flags), so memory stays flat however many rows come in. */
    private static final long GROUP_FLAGS = 1L << 24;

    /** Coalitions one row needs evaluated. */
    interface Plan {
        boolean[][] coalitions();
    }

    /** One output's estimate for one row. */
    record Estimate(double[] phi, double[] stdError, boolean converged) {
    }

    final CoalitionEvaluator evaluator;
    final int players;
    private final int inputs;
    private final int outputs;

    RowEstimator(BatchModel model, Players players, Background background, long maxValuesPerBatch) {
        this.evaluator = new CoalitionEvaluator(model, players, background, maxValuesPerBatch);
        this.players = players.count();
        this.inputs = model.inputs();
        this.outputs = model.outputs();
    }

    /** The coalitions to evaluate for a row; draws come only from {@code Seeds.stream(seed, rowId)}. */
    abstract P plan(long rowId);

    /**
     * @param values {@code plan.coalitions().length × outputs} coalition values
     * @param base the empty coalition's value per output
     * @param prediction the grand coalition's value per output
     * @param outputs the outputs to estimate
     * @return one estimate per entry of {@code outputs}
     */
    abstract Estimate[] estimate(P plan, double[] values, double[] base, double[] prediction, int[] outputs);

    /**
     * Shapley values of one output for each row.
     *
     * @param rows inputs, each of the model's width
     * @param rowIds one stable id per row; it seeds the row's draws
     * @return one result per row, in row order
     * @throws IllegalArgumentException if the output is out of range, or the rows or ids are malformed
     */
    public List<ShapleyRow> explain(double[][] rows, long[] rowIds, int output) {
        if (output < 0 || output >= outputs) {
            throw new IllegalArgumentException("output: " + output + " is out of range; expected 0.." + (outputs - 1)
                    + " (the model has " + outputs + " outputs)");
        }
        return run(rows, rowIds, new int[] {output});
    }

    /** Shapley values of every output for each row: results ordered by row, then output. */
    /** Shapley values of the given outputs for each row, rows in order, outputs in the given order per row. */
    public List<ShapleyRow> explain(double[][] rows, long[] rowIds, int[] outputsWanted) {
        for (int output : outputsWanted) {
            if (output < 0 || output >= outputs) {
                throw new IllegalArgumentException("output: " + output + " is out of range; expected 0.." + (outputs - 1)
                        + " (the model has " + outputs + " outputs)");
            }
        }
        return run(rows, rowIds, outputsWanted.clone());
    }

    public List<ShapleyRow> explainAllOutputs(double[][] rows, long[] rowIds) {
        int[] all = new int[outputs];
        Arrays.setAll(all, o -> o);
        return run(rows, rowIds, all);
    }

    private List<ShapleyRow> run(double[][] rows, long[] rowIds, int[] outputsWanted) {
        checkRows(rows, rowIds);
        List<ShapleyRow> out = new ArrayList<>(rows.length * outputsWanted.length);
        int start = 0;
        while (start < rows.length) {
            List<P> plans = new ArrayList<>();
            long flags = 0;
            int end = start;
            while (end < rows.length && (end == start || flags < GROUP_FLAGS)) {
                P plan = plan(rowIds[end]);
                plans.add(plan);
                flags += (plan.coalitions().length + 1L) * players;
                end++;
            }
            explainGroup(rows, rowIds, start, plans, outputsWanted, out);
            start = end;
        }
        return out;
    }

    private void explainGroup(double[][] rows, long[] rowIds, int start, List<P> plans, int[] outputsWanted,
                              List<ShapleyRow> out) {
        int tasks = 1;
        for (P plan : plans) {
            tasks += 1 + plan.coalitions().length;
        }
        int[] rowOf = new int[tasks];
        boolean[][] coalitions = new boolean[tasks][];
        boolean[] grand = new boolean[players];
        Arrays.fill(grand, true);
        coalitions[0] = new boolean[players];
        rowOf[0] = start;
        int t = 1;
        for (int i = 0; i < plans.size(); i++) {
            rowOf[t] = start + i;
            coalitions[t++] = grand;
            for (boolean[] c : plans.get(i).coalitions()) {
                rowOf[t] = start + i;
                coalitions[t++] = c;
            }
        }
        double[] values = evaluator.evaluate(rows, rowOf, coalitions);
        double[] base = Arrays.copyOfRange(values, 0, outputs);
        t = 1;
        for (int i = 0; i < plans.size(); i++) {
            P plan = plans.get(i);
            int k = plan.coalitions().length;
            double[] prediction = Arrays.copyOfRange(values, t * outputs, (t + 1) * outputs);
            double[] own = Arrays.copyOfRange(values, (t + 1) * outputs, (t + 1 + k) * outputs);
            long evaluations = 1;
            for (boolean[] c : plan.coalitions()) {
                evaluations += evaluator.modelRows(c);
            }
            Estimate[] estimates = estimate(plan, own, base, prediction, outputsWanted);
            for (int n = 0; n < outputsWanted.length; n++) {
                int o = outputsWanted[n];
                Estimate e = estimates[n];
                out.add(new ShapleyRow(rowIds[start + i], o, base[o], prediction[o], e.phi(), e.stdError(),
                        evaluations, e.converged()));
            }
            t += 1 + k;
        }
    }

    private void checkRows(double[][] rows, long[] rowIds) {
        if (rows == null || rowIds == null || rows.length != rowIds.length) {
            throw new IllegalArgumentException("rowIds: " + (rowIds == null ? "null" : rowIds.length + " ids")
                    + " for " + (rows == null ? "null" : rows.length + " rows") + "; expected one id per row");
        }
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] == null || rows[i].length != inputs) {
                throw new IllegalArgumentException("rows: row " + i + " has "
                        + (rows[i] == null ? "no" : rows[i].length) + " values; expected " + inputs
                        + " (the model's inputs)");
            }
        }
    }
}
