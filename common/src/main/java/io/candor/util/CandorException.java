package io.candor.util;

/**
 * Base of Candor's user-facing failures. Each subclass is one failure class with one exit code; the message is a
 * single line naming the input, what was wrong and what was expected, so the command line shows it as it is.
 */
public abstract class CandorException extends RuntimeException {
    protected CandorException(String message) {
        super(message);
    }

    protected CandorException(String message, Throwable cause) {
        super(message, cause);
    }

    /** Process exit code for this failure class (see README, "Exit codes"). */
    public abstract int exitCode();
}
