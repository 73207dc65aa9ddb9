package io.candor.jobs;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code candor} command line: one subcommand per job. Each job parses its conf, opens the SparkSession, calls
 * one library entry point and prints where its results went; {@link ExitCodes} maps failures to exit codes.
 */
@Command(name = "candor", mixinStandardHelpOptions = true, versionProvider = Candor.Version.class,
        description = "Compress and audit DL4J networks on Apache Spark.",
        subcommands = {TrainCommand.class, QatCommand.class, DistillCommand.class, ImportanceCommand.class,
                ShapleyCommand.class, AuditCommand.class, BenchCommand.class,
                CommandLine.HelpCommand.class},
        footer = {"", "Exit codes: 0 ok, 1 internal error, 2 usage or config error, 3 bad input data or model,",
                "4 audit threshold breached."})
public final class Candor implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns its exit code (tests call this; {@link #main} exits with it). */
    public static int execute(String... args) {
        CommandLine cli = new CommandLine(new Candor());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> ExitCodes.report(e, commandLine));
        cli.setParameterExceptionHandler((e, args1) -> ExitCodes.usage(e));
        return cli.execute(args);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"candor " + io.candor.util.CandorVersion.VERSION};
        }
    }
}
