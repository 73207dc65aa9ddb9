package io.candor.jobs;

import io.candor.util.CandorException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/**
 * The one place where failures become exit codes: Candor's own exceptions carry theirs (2 config, 3 input, 4
 * threshold); usage errors are 2; anything else is an internal error, 1, logged with its stack trace. A Candor
 * exception raised inside a Spark task arrives wrapped; the cause chain is searched for it.
 */
final class ExitCodes {
    static final int OK = 0;
    static final int INTERNAL = 1;
    static final int USAGE = 2;
    private static final Logger LOG = LoggerFactory.getLogger(ExitCodes.class);

    private ExitCodes() {
    }

    static int report(Exception e, CommandLine commandLine) {
        CandorException known = find(e);
        String command = commandLine.getCommandName();
        if (known != null) {
            System.err.println("candor " + command + ": error: " + known.getMessage());
            return known.exitCode();
        }
        LOG.error("internal error", e);
        System.err.println("candor " + command + ": internal error: " + e);
        return INTERNAL;
    }

    static int usage(CommandLine.ParameterException e) {
        CommandLine cli = e.getCommandLine();
        System.err.println("candor " + cli.getCommandName() + ": " + e.getMessage());
        System.err.println("Try 'candor " + (cli.getParent() == null ? "" : cli.getCommandName() + " ") + "--help'.");
        return USAGE;
    }

    private static CandorException find(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof CandorException c) {
                return c;
            }
        }
        return null;
    }
}
