package io.candor.train;

/** The {@code train} section of the conf: distributed training by parameter averaging. */
public record TrainSpec(
        int epochs,
        int batchSize,
        double learningRate,
        Updater updater,
        double l2,
        int workers,
        int averagingFrequency) {

    public enum Updater { ADAM, SGD, NESTEROVS }
}
