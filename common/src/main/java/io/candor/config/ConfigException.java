package io.candor.config;

import io.candor.util.CandorException;

/** A configuration or usage error: unknown key, wrong type, out-of-range value. Exit code 2. */
public final class ConfigException extends CandorException {
    public ConfigException(String message) {
        super(message);
    }

    @Override
    public int exitCode() {
        return 2;
    }
}
