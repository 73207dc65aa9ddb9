package io.candor.jobs;

import io.candor.config.CandorConf;
import io.candor.config.ConfLoader;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Options every job shares: the conf file, overrides, and the run date. */
final class JobOptions {
    @Option(names = "--conf", required = true, paramLabel = "FILE",
            description = "Job conf (HOCON), e.g. conf/samples/breast_cancer.conf.")
    Path conf;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "Override one conf key, e.g. --set train.epochs=5 (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--date", paramLabel = "YYYY-MM-DD",
            description = "Partition date of the results (default: run.date, else today in UTC).")
    String date;

    CandorConf load() {
        return load(List.of());
    }

    /** Loads the conf with a command's own options as overrides, applied after {@code --set}. */
    CandorConf load(List<String> commandOverrides) {
        List<String> all = new ArrayList<>(overrides);
        all.addAll(commandOverrides);
        if (date != null) {
            all.add("run.date=" + date);
        }
        return new ConfLoader().load(conf, all);
    }
}
