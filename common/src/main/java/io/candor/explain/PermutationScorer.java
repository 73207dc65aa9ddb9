package io.candor.explain;

import java.util.List;
import java.util.function.IntConsumer;

/**
 * The work of permutation importance on one block of rows, as plain Java: for every (group, repeat) pair, the rows
 * with that group's columns taken from the permuted donor rows, scored. All (pair, row) evaluations stream through
 * one matrix of up to {@code batchValues} doubles, and the model is called once per full matrix (DESIGN §2.2), so a
 * block costs ⌈(pairs + 1) × rows × width / batchValues⌉ calls, not one per row.
 */
public final class PermutationScorer {
    private final BatchModel model;
    private final List<int[]> groups;
    private final int repeats;
    private final boolean classification;
    private final int classes;
    private final int batchRows;

    public PermutationScorer(BatchModel model, List<int[]> groups, int repeats, boolean classification, int classes,
                             long batchValues) {
        this.model = model;
        this.groups = List.copyOf(groups);
        this.repeats = repeats;
        this.classification = classification;
        this.classes = classes;
        this.batchRows = (int) Math.max(1, Math.min(Integer.MAX_VALUE / Math.max(1, model.inputs()),
                batchValues / model.inputs()));
    }

    /** Supplies a block's permutation for (group, repeat): donor position per row position. */
    @FunctionalInterface
    public interface PermutationSource {
        int[] permutation(int group, int repeat);
    }

    /** Reads the input row at a donor position into {@code out} from {@code offset}. */
    @FunctionalInterface
    public interface DonorSource {
        double value(int position, int column);
    }

    /** Scores of one block: the baseline, and one accumulator per (group, repeat), index group × repeats + repeat. */
    public record BlockScores(ScoreAccumulator baseline, ScoreAccumulator[] permuted) implements java.io.Serializable {
        public BlockScores merge(BlockScores other) {
            baseline.merge(other.baseline);
            for (int i = 0; i < permuted.length; i++) {
                permuted[i].merge(other.permuted[i]);
            }
            return this;
        }
    }

    public BlockScores emptyScores() {
        ScoreAccumulator[] permuted = new ScoreAccumulator[groups.size() * repeats];
        for (int i = 0; i < permuted.length; i++) {
            permuted[i] = new ScoreAccumulator(classification, classes);
        }
        return new BlockScores(new ScoreAccumulator(classification, classes), permuted);
    }

    /**
     * @param x the block's rows, {@code rows × inputs} row-major
     * @param labels the block's labels
     * @param positions each row's position in the permutation domain
     * @param pairDone called with the pair index (or −1 for the baseline) after the pair's last row is scored
     */
    public BlockScores score(double[] x, double[] labels, int[] positions, PermutationSource permutations,
                             DonorSource donors, IntConsumer pairDone) {
        int width = model.inputs();
        int rows = labels.length;
        BlockScores scores = emptyScores();
        double[] batch = new double[Math.min(batchRows, Math.max(1, rows * (groups.size() * repeats + 1))) * width];
        int[] batchPair = new int[batch.length / width];
        int[] batchRow = new int[batchPair.length];
        int filled = 0;
        int pairs = groups.size() * repeats;
        for (int pair = -1; pair < pairs; pair++) {
            int[] group = pair < 0 ? null : groups.get(pair / repeats);
            int[] permutation = pair < 0 ? null : permutations.permutation(pair / repeats, pair % repeats);
            for (int r = 0; r < rows; r++) {
                int offset = filled * width;
                System.arraycopy(x, r * width, batch, offset, width);
                if (group != null) {
                    int donor = permutation[positions[r]];
                    for (int column : group) {
                        batch[offset + column] = donors.value(donor, column);
                    }
                }
                batchPair[filled] = pair;
                batchRow[filled] = r;
                if (++filled == batchPair.length) {
                    flush(batch, filled, batchPair, batchRow, labels, scores, pairDone);
                    filled = 0;
                }
            }
        }
        if (filled > 0) {
            flush(batch, filled, batchPair, batchRow, labels, scores, pairDone);
        }
        return scores;
    }

    private void flush(double[] batch, int filled, int[] batchPair, int[] batchRow, double[] labels,
                       BlockScores scores, IntConsumer pairDone) {
        double[] input = filled * model.inputs() == batch.length ? batch
                : java.util.Arrays.copyOf(batch, filled * model.inputs());
        double[] output = model.predict(input, filled);
        int outputs = model.outputs();
        int rows = labels.length;
        for (int i = 0; i < filled; i++) {
            int pair = batchPair[i];
            ScoreAccumulator target = pair < 0 ? scores.baseline() : scores.permuted()[pair];
            target.add(output, i * outputs, labels[batchRow[i]]);
            if (batchRow[i] == rows - 1) {
                pairDone.accept(pair);
            }
        }
    }
}
