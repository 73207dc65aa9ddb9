package io.candor.jobs;

import io.candor.config.CandorConf;
import io.candor.train.TrainWorkflow;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.concurrent.Callable;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train a DL4J network across Spark executors (parameter averaging), or load one (model.source = load),",
                "evaluate it on the train and test splits, save the artifact under <output.root>/models/",
                "and write the runs and model_metrics tables."})
final class TrainCommand implements Callable<Integer> {
    @Mixin
    JobOptions options;

    @Override
    public Integer call() {
        CandorConf conf = options.load();
        TrainWorkflow.Outcome outcome = Sessions.withSession(conf, spark -> TrainWorkflow.run(spark, conf));
        System.out.printf("run %s: %s/%s, %,d parameters, %,d bytes%n", outcome.runId(), outcome.model(),
                outcome.variant(), outcome.parameterCount(), outcome.sizeBytes());
        if (outcome.trace() != null) {
            System.out.printf("parameter averaging: %d rounds, %d across >= 2 workers, %d minibatches%n",
                    outcome.trace().averagingRounds(), outcome.trace().multiWorkerRounds(), outcome.trace().minibatches());
        }
        outcome.metrics().forEach((split, values) -> values.forEach((metric, value) ->
                System.out.printf("  %-6s %-9s %.4f%n", split, metric, value)));
        System.out.println("model:  " + outcome.artifactPath());
        outcome.tablePaths().forEach(path -> System.out.println("table:  " + path));
        return ExitCodes.OK;
    }
}
