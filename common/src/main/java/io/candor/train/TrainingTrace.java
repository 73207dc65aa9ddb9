package io.candor.train;

import org.apache.spark.TaskContext;
import org.apache.spark.util.CollectionAccumulator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.spark.api.TrainingHook;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Evidence of distributed training, gathered on the workers: each minibatch fit reports the Spark stage (one stage
 * per parameter-averaging round) and partition (the worker) it ran in. From it we know how many averaging rounds
 * combined how many workers — recorded in the model's provenance and checked by the tests.
 */
public final class TrainingTrace implements TrainingHook {
    private final CollectionAccumulator<String> fits;

    public TrainingTrace(CollectionAccumulator<String> fits) {
        this.fits = fits;
    }

    @Override
    public void preUpdate(DataSet minibatch, Model model) {
    }

    @Override
    public void postUpdate(DataSet minibatch, Model model) {
        record();
    }

    @Override
    public void preUpdate(MultiDataSet minibatch, Model model) {
    }

    @Override
    public void postUpdate(MultiDataSet minibatch, Model model) {
        record();
    }

    private void record() {
        TaskContext task = TaskContext.get();
        if (task != null) {
            fits.add(task.stageId() + ":" + task.partitionId());
        }
    }

    /** What the trace shows once training is over. */
    public Summary summary() {
        Map<Integer, Set<Integer>> workersByRound = new TreeMap<>();
        long minibatches = 0;
        for (String fit : fits.value()) {
            String[] parts = fit.split(":");
            workersByRound.computeIfAbsent(Integer.parseInt(parts[0]), k -> new TreeSet<>())
                    .add(Integer.parseInt(parts[1]));
            minibatches++;
        }
        int multiWorkerRounds = (int) workersByRound.values().stream().filter(w -> w.size() >= 2).count();
        int maxWorkers = workersByRound.values().stream().mapToInt(Set::size).max().orElse(0);
        return new Summary(workersByRound.size(), multiWorkerRounds, maxWorkers, minibatches);
    }

    /**
     * @param averagingRounds rounds of worker fits followed by parameter averaging
     * @param multiWorkerRounds rounds in which at least two workers fitted and were averaged
     */
    public record Summary(int averagingRounds, int multiWorkerRounds, int maxWorkersInRound, long minibatches) {
    }
}
