package io.candor.jobs;

import io.candor.config.CandorConf;
import io.candor.explain.ShapleyWorkflow;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;

@Command(name = "shapley", mixinStandardHelpOptions = true,
        description = {"Per-row Shapley values (KernelSHAP or antithetic sampling) and dataset-wide SAGE values of",
                "every model variant, computed across executors; writes shap_values and shapley_global."})
final class ShapleyCommand implements Callable<Integer> {
    private static final int SHOWN = 10;

    @Mixin
    JobOptions options;

    @Override
    public Integer call() {
        CandorConf conf = options.load();
        ShapleyWorkflow.Outcome outcome = Sessions.withSession(conf, spark -> ShapleyWorkflow.run(spark, conf));
        System.out.println("run " + outcome.runId());
        for (ShapleyWorkflow.VariantShapley v : outcome.variants()) {
            System.out.printf("%s/%s: %,d (row, output) explanations by %s, %,d converged%n", conf.modelName(),
                    v.variant(), v.explanations(), v.estimator(), v.converged());
            int last = v.outputs().length - 1;
            System.out.printf("  top features by SAGE (loss) and by mean |phi| of output %d:%n", v.outputs()[last]);
            IntStream.range(0, v.features().size()).boxed()
                    .sorted(Comparator.comparingDouble(j -> -v.sage().values()[j])).limit(SHOWN)
                    .forEach(j -> System.out.printf("  %-28s SAGE %9.5f +- %.5f   mean|phi| %9.5f +- %.5f%n",
                            v.features().get(j), v.sage().values()[j], v.sage().stdError()[j],
                            v.meanAbs()[last][j], v.meanAbsError()[last][j]));
        }
        outcome.tablePaths().forEach(path -> System.out.println("table:  " + path));
        return ExitCodes.OK;
    }
}
