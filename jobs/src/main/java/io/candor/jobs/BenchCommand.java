package io.candor.jobs;

import io.candor.config.CandorConf;
import io.candor.bench.ScaleBenchmark;
import io.candor.explain.ImportanceBenchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks, each measured in one run and reported as ratios to baselines on the same machine.",
        subcommands = {BenchCommand.Importance.class, BenchCommand.Shapley.class, BenchCommand.Scale.class})
final class BenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a benchmark is required (importance, shapley or scale)");
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

    @Command(name = "scale", mixinStandardHelpOptions = true,
            description = {"The pipeline as the data grows: for each size a seeded synthetic table generated inside",
                    "Spark, then train, importance (whole test split) and shapley (sample rows plus SAGE) as the",
                    "conf sets them (conf/bench/scale.conf). Prints per size the wall time of each stage, rows per",
                    "second and the driver's peak heap, then the slope of time against rows. Submit it to the",
                    "cluster you measure (submit-scripts/bench-scale.sh starts a 2-worker standalone one)."})
    static final class Scale implements Callable<Integer> {
        @Mixin
        JobOptions options;

        @Option(names = "--sizes", split = ",", defaultValue = "1000000,4000000,16000000",
                description = "Row counts, ascending, comma-separated (default: ${DEFAULT-VALUE}).")
        List<Long> sizes;

        @Option(names = "--features", defaultValue = "20", description = "Feature columns (default: ${DEFAULT-VALUE}).")
        int features;

        @Option(names = "--work-dir", paramLabel = "PATH",
                description = "Where the data and tables go; executors must reach it (default: <output.root>/bench-scale).")
        String workDir;

        @Option(names = "--keep", description = "Keep each size's data and tables (default: deleted after the size).")
        boolean keep;

        @Override
        public Integer call() {
            CandorConf conf = options.load();
            String dir = workDir != null ? workDir : conf.outputRoot() + "/bench-scale";
            ScaleBenchmark.Result r = Sessions.withSession(conf, spark -> ScaleBenchmark.run(spark, conf, sizes,
                    features, dir, keep, size -> System.out.printf("bench scale: %,d rows done in %.1f s%n",
                            size.rows(), size.totalSeconds())));
            System.out.printf("bench scale: %d features, driver heap limit %,d MiB%n", r.features(),
                    r.maxHeapBytes() >> 20);
            StringBuilder header = new StringBuilder(String.format("%12s", "rows"));
            ScaleBenchmark.STAGES.forEach(s -> header.append(String.format(" %11s", s + " s")));
            header.append(String.format(" %9s %12s %13s %13s", "total s", "rows/s", "driver live", "driver used"));
            System.out.println(header);
            for (ScaleBenchmark.Size s : r.sizes()) {
                StringBuilder line = new StringBuilder(String.format("%,12d", s.rows()));
                ScaleBenchmark.STAGES.forEach(stage -> line.append(String.format(" %11.1f", s.seconds().get(stage))));
                line.append(String.format(" %9.1f %,12.0f %9d MiB %9d MiB", s.totalSeconds(),
                        s.rows() / s.totalSeconds(), s.peakLiveBytes() >> 20, s.peakUsedBytes() >> 20));
                System.out.println(line);
            }
            System.out.printf("  slope: %.1f s per million rows (least squares of total time on rows)%n",
                    r.secondsPerMillionRows());
            System.out.printf("  driver peak live heap, largest / smallest size: %.2f (limit %.1f) %s%n",
                    r.heapRatio(), ScaleBenchmark.MAX_HEAP_RATIO, r.heapRatio() <= ScaleBenchmark.MAX_HEAP_RATIO
                            ? "ok" : "OVER");
            System.out.printf("  time per row, largest / second-largest size: %.2f (limit %.1f) %s%n",
                    r.timePerRowRatio(), ScaleBenchmark.MAX_TIME_PER_ROW_RATIO,
                    r.timePerRowRatio() <= ScaleBenchmark.MAX_TIME_PER_ROW_RATIO ? "ok" : "OVER");
            return ExitCodes.OK;
        }
    }
}
