package io.candor.jobs;

import io.candor.audit.AuditWorkflow;
import io.candor.config.CandorConf;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

@Command(name = "audit", mixinStandardHelpOptions = true,
        description = {"The nightly audit of one model for one date (--date, default today in UTC): trains the",
                "teacher (or loads it: model.source = load), quantizes it (audit.qat) and distills a student",
                "(audit.distill, distill.quantize for its int8 twin), then runs permutation importance and Shapley",
                "(KernelSHAP, SAGE) for every variant, compares the variants (variant_comparison) and the previous",
                "audit date (drift), checks audit.thresholds and writes a self-contained HTML report.",
                "Stages whose artifacts this date already has from the same conf are skipped unless --force.",
                "All tables of the run are committed together: a failed or killed run changes nothing, a re-run",
                "of a date replaces that date. Exit code 4 when a threshold is breached (named on stderr and in",
                "the report); exit code 3 when another live audit of the same model and date holds its lease on",
                "the output root (nothing is written)."})
final class AuditCommand implements Callable<Integer> {
    static final int THRESHOLD_BREACHED = 4;

    @Mixin
    JobOptions options;

    @Option(names = "--force", description = "Rebuild every variant even if this date already has it.")
    boolean force;

    @Override
    public Integer call() {
        CandorConf conf = options.load();
        AuditWorkflow.Outcome outcome = Sessions.withSession(conf, spark -> AuditWorkflow.run(spark, conf, force));
        System.out.printf("run %s: audit of %s on %s, variants %s%n", outcome.runId(), outcome.model(),
                outcome.date(), String.join(", ", outcome.variants()));
        if (!outcome.skipped().isEmpty()) {
            System.out.println("skipped (already built on " + outcome.date() + "; --force rebuilds): "
                    + String.join(", ", outcome.skipped()));
        }
        outcome.recovered().forEach(r -> System.out.println("recovered the interrupted commit of run " + r));
        outcome.tablePaths().forEach(path -> System.out.println("table:  " + path));
        System.out.println("report: " + outcome.reportPath());
        if (outcome.passed()) {
            System.out.println("audit passed: no threshold breached");
            return ExitCodes.OK;
        }
        for (AuditWorkflow.Breach b : outcome.breaches()) {
            System.err.println("candor audit: threshold " + b.threshold() + " breached: " + b.message());
        }
        return THRESHOLD_BREACHED;
    }
}
