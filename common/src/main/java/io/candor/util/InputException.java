package io.candor.util;

/** Bad input data or model: missing, empty, malformed, mismatched. Exit code 3. */
public final class InputException extends CandorException {
    public InputException(String message) {
        super(message);
    }

    public InputException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public int exitCode() {
        return 3;
    }
}
