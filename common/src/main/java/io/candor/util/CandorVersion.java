package io.candor.util;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The build's version, recorded in every run's provenance. */
public final class CandorVersion {
    public static final String VERSION = load();

    private CandorVersion() {
    }

    private static String load() {
        Properties p = new Properties();
        try (InputStream in = CandorVersion.class.getClassLoader().getResourceAsStream("candor/version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            return "unknown";
        }
        return p.getProperty("version", "unknown");
    }
}
