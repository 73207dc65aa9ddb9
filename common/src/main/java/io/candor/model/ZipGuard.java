package io.candor.model;

import io.candor.util.InputException;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Checks a model zip before DL4J reads it, because users' files are untrusted: every entry is read in full (so each
 * CRC is verified and sizes are the real decompressed sizes, not the header's claims), names may not escape the
 * archive ({@code ..}, absolute paths), entries and total size are bounded (no zip bombs), and the entries a
 * ModelSerializer zip needs are present. Failures are {@link InputException}s naming the input.
 */
public final class ZipGuard {
    static final int MAX_ENTRIES = 64;
    static final long MAX_TOTAL_BYTES = 4L << 30;
    private static final Set<String> REQUIRED = Set.of("configuration.json", "coefficients.bin");
    /**
     * Entries ModelSerializer writes and restores without Java deserialisation (JSON, ND4J binary arrays, the
     * normaliser's own format), plus {@code objects/}, which restoring never reads. Anything else is refused, in
     * particular the legacy {@code preprocessor.bin}: DL4J restores it with {@code ObjectInputStream.readObject}, and
     * deserialising an untrusted file can run code.
     */
    private static final Set<String> ALLOWED = Set.of("configuration.json", "coefficients.bin", "noParams.marker",
            "updaterState.bin", "normalizer.bin");
    private static final String OBJECTS = "objects/";

    private ZipGuard() {
    }

    public static void check(byte[] zip, String source) {
        Set<String> names = new HashSet<>();
        long total = 0;
        byte[] buffer = new byte[1 << 16];
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            ZipEntry entry;
            while ((entry = in.getNextEntry()) != null) {
                String name = entry.getName();
                if (name.startsWith("/") || name.startsWith("\\") || name.contains("..") || name.contains(":")) {
                    throw new InputException("model " + source + ": zip entry '" + name
                            + "' points outside the archive (expected plain entry names)");
                }
                if (!ALLOWED.contains(name) && !name.startsWith(OBJECTS)) {
                    throw new InputException("model " + source + ": zip entry '" + name + "' is not a ModelSerializer"
                            + " entry Candor reads without Java deserialisation (expected only " + ALLOWED.stream()
                            .sorted().toList() + " and " + OBJECTS + "*)");
                }
                if (!names.add(name)) {
                    throw new InputException("model " + source + ": zip entry '" + name + "' appears twice");
                }
                if (names.size() > MAX_ENTRIES) {
                    throw new InputException("model " + source + ": more than " + MAX_ENTRIES
                            + " zip entries (expected a DL4J ModelSerializer zip)");
                }
                int n;
                while ((n = in.read(buffer)) > 0) {
                    total += n;
                    if (total > MAX_TOTAL_BYTES) {
                        throw new InputException("model " + source + ": decompresses to more than " + MAX_TOTAL_BYTES
                                + " bytes (expected a model, not a zip bomb)");
                    }
                }
            }
        } catch (IOException | IllegalArgumentException e) {
            throw new InputException("model " + source + ": is not a valid zip (" + e.getMessage()
                    + "; expected a DL4J ModelSerializer zip)", e);
        }
        for (String required : REQUIRED) {
            if (!names.contains(required)) {
                throw new InputException("model " + source + ": zip has no " + required
                        + " (expected a DL4J ModelSerializer zip)");
            }
        }
    }
}
