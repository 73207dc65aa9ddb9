package io.candor.jobs;

import io.candor.config.CandorConf;
import io.candor.explain.ImportanceResult;
import io.candor.explain.ImportanceWorkflow;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.Comparator;
import java.util.concurrent.Callable;

@Command(name = "importance", mixinStandardHelpOptions = true,
        description = {"Permutation importance of every feature group of every model variant (or importance.variants),",
                "over the split in importance.split, computed across executors; writes permutation_importance."})
final class ImportanceCommand implements Callable<Integer> {
    private static final int SHOWN = 10;

    @Mixin
    JobOptions options;

    @Override
    public Integer call() {
        CandorConf conf = options.load();
        ImportanceWorkflow.Outcome outcome = Sessions.withSession(conf, spark -> ImportanceWorkflow.run(spark, conf));
        System.out.println("run " + outcome.runId());
        for (ImportanceWorkflow.VariantImportance v : outcome.variants()) {
            // Log-loss separates features that accuracy, on a small split, ties.
            String metric = v.results().stream().anyMatch(r -> r.metric().equals("log_loss")) ? "log_loss"
                    : v.results().get(0).metric();
            System.out.printf("%s/%s: top features by %s (mean, 95%% interval, %d repeats, %s mode, %,d rows)%n",
                    conf.modelName(), v.variant(), metric, v.results().get(0).nRepeats(), v.results().get(0).mode(),
                    v.results().get(0).rows());
            v.results().stream().filter(r -> r.metric().equals(metric))
                    .sorted(Comparator.comparingInt(ImportanceResult::rank)).limit(SHOWN)
                    .forEach(r -> System.out.printf("  %2d. %-28s %9.4f  [%.4f, %.4f]%n", r.rank(), r.feature(),
                            r.mean(), r.ciLow(), r.ciHigh()));
        }
        outcome.tablePaths().forEach(path -> System.out.println("table:  " + path));
        return ExitCodes.OK;
    }
}
