package io.candor.jobs;

import io.candor.config.CandorConf;
import io.candor.explain.ImportanceBenchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks, each measured in one run and reported as ratios to baselines on the same machine.",
        subcommands = {BenchCommand.Importance.class, BenchCommand.Shapley.class})
final class BenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a benchmark is required (importance or shapley)");
    }

    @Command(name = "importance", mixinStandardHelpOptions = true,
            description = {"Permutation-importance throughput on the test split of a trained model (run train first):",
                    "rows x permutations per second, explainer efficiency (that / plain batched output() on the",
                    "same rows and model) and the naive one-call-per-row baseline."})
    static final class Importance implements Callable<Integer> {
        @Mixin
        JobOptions options;

        @Option(names = "--variant", defaultValue = "teacher-fp32", description = "Model variant (default: ${DEFAULT-VALUE}).")
        String variant;

        @Override
        public Integer call() {
            CandorConf conf = options.load();
            ImportanceBenchmark.Result r = Sessions.withSession(conf, spark -> ImportanceBenchmark.run(spark, conf, variant));
            System.out.printf("bench importance %s: %,d rows x %d inputs, %d (feature, repeat) pairs, batches of %,d rows%n",
                    r.model(), r.rows(), r.inputs(), r.pairs(), r.batchRows());
            System.out.printf("  explainer          %,14.0f rows x permutations / s  (%d network calls)%n",
                    r.explainerPerSecond(), r.explainerCalls());
            System.out.printf("  plain output()     %,14.0f rows / s  (pre-built matrix, same batch size)%n",
                    r.plainPerSecond());
            System.out.printf("  naive (1 row/call) %,14.0f rows x permutations / s%n", r.naivePerSecond());
            System.out.printf("  explainer efficiency %.2f   speed-up over naive %.0fx%n", r.efficiency(),
                    r.speedupOverNaive());
            return ExitCodes.OK;
        }
    }

    @Command(name = "shapley", mixinStandardHelpOptions = true,
            description = {"KernelSHAP throughput on test rows of a trained model (run train first): rows explained",
                    "per second, model rows (coalitions x background) per second, explainer efficiency (that / plain",
                    "batched output() on the same rows and model) and the naive one-call-per-evaluation baseline."})
    static final class Shapley implements Callable<Integer> {
        @Mixin
        JobOptions options;

        @Option(names = "--variant", defaultValue = "teacher-fp32", description = "Model variant (default: ${DEFAULT-VALUE}).")
        String variant;

        @Option(names = "--rows", defaultValue = "2", description = "Test rows to explain (default: ${DEFAULT-VALUE}).")
        int rows;

        @Override
        public Integer call() {
            CandorConf conf = options.load();
            io.candor.explain.ShapleyBenchmark.Result r = Sessions.withSession(conf,
                    spark -> io.candor.explain.ShapleyBenchmark.run(spark, conf, variant, rows));
            System.out.printf("bench shapley %s: %d rows, %d players, %,d coalitions per row, %d background rows%n",
                    r.model(), r.rows(), r.players(), r.coalitions(), r.backgroundRows());
            System.out.printf("  explainer          %,14.2f rows explained / s%n", r.rowsExplainedPerSecond());
            System.out.printf("  explainer          %,14.0f model rows / s (coalition x background evaluations)%n",
                    r.modelRowsPerSecond());
            System.out.printf("  plain output()     %,14.0f rows / s  (pre-built matrix, same batch size)%n",
                    r.plainPerSecond());
            System.out.printf("  naive (1 row/call) %,14.0f model rows / s%n", r.naivePerSecond());
            System.out.printf("  explainer efficiency %.2f   speed-up over naive %.0fx%n", r.efficiency(),
                    r.speedupOverNaive());
            return ExitCodes.OK;
        }
    }
}
