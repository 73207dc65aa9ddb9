package io.candor.jobs;

import io.candor.config.CandorConf;
import io.candor.quant.QatWorkflow;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "qat", mixinStandardHelpOptions = true,
        description = {"Quantize a trained fp32 model: calibrate activation ranges over the training data (a Spark",
                "aggregation) and fine-tune its fake-quant twin across executors (quantization-aware training), or",
                "calibrate only (--mode ptq). Saves the teacher-int<bits> variant (fake-quant DL4J zip, integer",
                "model, ONNX QDQ export) and writes the model_metrics, quantization and runs tables."})
final class QatCommand implements Callable<Integer> {
    @Mixin
    JobOptions options;

    @Option(names = "--mode", paramLabel = "qat|ptq", description = "Overrides qat.mode.")
    String mode;

    @Option(names = "--bits", paramLabel = "N", description = "Overrides qat.bits (weight bits, 2..8).")
    Integer bits;

    @Override
    public Integer call() {
        List<String> extra = new ArrayList<>();
        if (mode != null) {
            extra.add("qat.mode=" + mode.toLowerCase(Locale.ROOT));
        }
        if (bits != null) {
            extra.add("qat.bits=" + bits);
        }
        CandorConf conf = options.load(extra);
        QatWorkflow.Outcome outcome = Sessions.withSession(conf, spark -> QatWorkflow.run(spark, conf));
        System.out.printf("run %s: %s/%s%n", outcome.runId(), conf.modelName(), outcome.variant());
        outcome.metrics().forEach((split, values) -> values.forEach((metric, value) -> {
            Double fp32 = outcome.fp32Metrics().get(split).get(metric);
            System.out.printf("  %-6s %-9s %.4f  (fp32 %.4f)%n", split, metric, value, fp32);
        }));
        System.out.printf("integer model agrees with the fake-quant twin on %.2f%% of rows (mean |diff| %.5f)%n",
                100 * outcome.agreement(), outcome.meanAbsDifference());
        System.out.printf("size: integer model %,d bytes = %.3f x fp32 parameters (%,d bytes); ONNX %,d bytes%n",
                outcome.integerModelBytes(), (double) outcome.integerModelBytes() / outcome.fp32ParameterBytes(),
                outcome.fp32ParameterBytes(), outcome.onnxBytes());
        System.out.println("model:  " + outcome.artifactPath());
        return ExitCodes.OK;
    }
}
