package io.candor.jobs;

import io.candor.config.CandorConf;
import io.candor.distill.DistillWorkflow;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.concurrent.Callable;

@Command(name = "distill", mixinStandardHelpOptions = true,
        description = {"Distil the teacher-fp32 model into the smaller student of distill.student across executors",
                "(Hinton et al. 2015: alpha*T^2*KL on softened outputs + (1-alpha)*cross-entropy). The teacher's",
                "outputs are computed once by distributed inference and kept as a Parquet table keyed by row id.",
                "Saves student-fp32 (and student-int<bits> with distill.quantize = true); writes model_metrics and runs."})
final class DistillCommand implements Callable<Integer> {
    @Mixin
    JobOptions options;

    @Override
    public Integer call() {
        CandorConf conf = options.load();
        DistillWorkflow.Outcome outcome = Sessions.withSession(conf, spark -> DistillWorkflow.run(spark, conf));
        System.out.printf("run %s: %s/student-fp32, %,d parameters (%.1f%% of the teacher's %,d)%n", outcome.runId(),
                conf.modelName(), outcome.studentParameters(),
                100.0 * outcome.studentParameters() / outcome.teacherParameters(), outcome.teacherParameters());
        System.out.println("teacher logits: " + (outcome.teacherRan() ? "computed into " : "reused from ")
                + outcome.logitsPath());
        outcome.studentMetrics().forEach((split, values) -> values.forEach((metric, value) ->
                System.out.printf("  %-6s %-9s %.4f  (teacher %.4f)%n", split, metric, value,
                        outcome.teacherMetrics().get(split).get(metric))));
        System.out.println("model:  " + outcome.artifactPath());
        if (outcome.quantized() != null) {
            var q = outcome.quantized();
            q.metrics().forEach((split, values) -> values.forEach((metric, value) ->
                    System.out.printf("  %-6s %-9s %.4f  (%s)%n", split, metric, value, q.variant())));
            System.out.printf("%s: %,d bytes, agrees with its fake-quant simulation on %.2f%% of rows%n",
                    q.variant(), q.integerModelBytes(), 100 * q.agreement());
            System.out.println("model:  " + q.artifactPath());
        }
        return ExitCodes.OK;
    }
}
