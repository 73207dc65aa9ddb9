package io.candor.model;

import io.candor.config.ConfLoader;
import io.candor.config.CandorConf;
import io.candor.testing.TestSpark;
import io.candor.util.InputException;
import io.candor.util.Seeds;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Untrusted model zips either load or fail with Candor's own error; never another exception, a hang or OOM. */
class ZipGuardTest {
    private static byte[] realZip() {
        CandorConf conf = new ConfLoader().load(TestSpark.sampleConf("breast_cancer"), List.of());
        return new Network(NetworkFactory.build(conf.model(), conf.train(),
                new NetworkFactory.Shape(30, 2, true, new int[] {0, 0, 0}), 1)).toBytes();
    }

    private static byte[] zipOf(String... namesAndContents) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream out = new ZipOutputStream(bytes)) {
            for (int i = 0; i < namesAndContents.length; i += 2) {
                out.putNextEntry(new ZipEntry(namesAndContents[i]));
                out.write(namesAndContents[i + 1].getBytes());
                out.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

    @Test
    void aRealModelZipPasses() {
        byte[] zip = realZip();
        ZipGuard.check(zip, "real");
        assertEquals(30 * 32 + 32 + 32 * 16 + 16 + 16 * 2 + 2, Network.fromBytes(zip, "real").parameterCount());
    }

    /** The entries of {@code zip} plus one more. */
    private static byte[] withExtraEntry(byte[] zip, String name, byte[] content) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (java.util.zip.ZipInputStream in = new java.util.zip.ZipInputStream(new java.io.ByteArrayInputStream(zip));
             ZipOutputStream out = new ZipOutputStream(bytes)) {
            ZipEntry entry;
            while ((entry = in.getNextEntry()) != null) {
                out.putNextEntry(new ZipEntry(entry.getName()));
                out.write(in.readAllBytes());
                out.closeEntry();
            }
            out.putNextEntry(new ZipEntry(name));
            out.write(content);
            out.closeEntry();
        }
        return bytes.toByteArray();
    }

    @Test
    void javaSerialisedAndUnknownEntriesAreRefusedBeforeDl4jReadsThem() throws IOException {
        // DL4J's restore would call ObjectInputStream.readObject on preprocessor.bin.
        ByteArrayOutputStream serialised = new ByteArrayOutputStream();
        try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(serialised)) {
            out.writeObject(new java.util.ArrayList<>(List.of("payload")));
        }
        byte[] zip = withExtraEntry(realZip(), "preprocessor.bin", serialised.toByteArray());
        InputException e = assertThrows(InputException.class, () -> Network.fromBytes(zip, "legacy.zip"));
        assertTrue(e.getMessage().contains("legacy.zip") && e.getMessage().contains("'preprocessor.bin'")
                && e.getMessage().contains("Java deserialisation"), e.getMessage());
        assertThrows(InputException.class, () -> ZipGuard.check(withExtraEntry(realZip(), "Evil.class",
                new byte[] {(byte) 0xCA, (byte) 0xFE}), "extra.zip"));
        // Entries restoring never reads stay allowed.
        ZipGuard.check(withExtraEntry(realZip(), "objects/notes", "kept".getBytes()), "objects.zip");
    }

    @Test
    void pathTraversalDuplicatesAndMissingEntriesAreRefused() throws IOException {
        InputException traversal = assertThrows(InputException.class, () -> ZipGuard.check(
                zipOf("../../etc/cron.d/x", "boom", "configuration.json", "{}", "coefficients.bin", ""), "evil.zip"));
        assertTrue(traversal.getMessage().contains("points outside the archive"), traversal.getMessage());
        assertThrows(InputException.class, () -> ZipGuard.check(
                zipOf("/abs", "x", "configuration.json", "{}", "coefficients.bin", ""), "abs.zip"));
        InputException missing = assertThrows(InputException.class,
                () -> ZipGuard.check(zipOf("configuration.json", "{}"), "partial.zip"));
        assertTrue(missing.getMessage().contains("no coefficients.bin"), missing.getMessage());
        assertThrows(InputException.class, () -> ZipGuard.check(new byte[0], "empty.zip"));
    }

    @Test
    void threeHundredMutatedArtifactsLoadOrFailWithCandorsOwnError() {
        byte[] original = realZip();
        int loaded = 0;
        int refused = 0;
        for (int i = 0; i < 300; i++) {
            SplittableRandom random = Seeds.stream(99, i);
            byte[] mutated = mutate(original, random, i % 3);
            try {
                Network network = Network.fromBytes(mutated, "mutant " + i);
                network.parameterCount();
                loaded++;
            } catch (InputException expected) {
                refused++;
            } catch (Throwable other) {
                throw new AssertionError("mutant " + i + " (kind " + i % 3 + ") escaped as " + other, other);
            }
        }
        assertEquals(300, loaded + refused);
        assertTrue(refused > 200, "most mutants are refused: " + refused);
    }

    /** Kind 0: flip a few bytes; 1: truncate; 2: overwrite a run of bytes with noise. */
    private static byte[] mutate(byte[] original, SplittableRandom random, int kind) {
        byte[] b = original.clone();
        switch (kind) {
            case 0 -> {
                for (int k = 0; k < 1 + random.nextInt(4); k++) {
                    b[random.nextInt(b.length)] ^= (byte) (1 + random.nextInt(255));
                }
            }
            case 1 -> b = Arrays.copyOf(b, random.nextInt(b.length));
            default -> {
                int start = random.nextInt(b.length);
                for (int k = start; k < Math.min(b.length, start + 1 + random.nextInt(64)); k++) {
                    b[k] = (byte) random.nextInt(256);
                }
            }
        }
        return b;
    }
}
