package io.candor.data;

import io.candor.testing.TestSpark;
import io.candor.util.InputException;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TabularReaderTest {
    private static final long RANGE = 1000;

    @TempDir
    java.nio.file.Path dir;

    private static TabularReader reader(java.nio.file.Path path) {
        return new TabularReader(TestSpark.session(), new DatasetSpec("t", path.toString(), DatasetSpec.Format.CSV,
                "label", DatasetSpec.Task.CLASSIFICATION, List.of(), List.of(), "", DatasetSpec.MissingPolicy.FAIL,
                List.of(), 0.2, true, new int[3]));
    }

    private static String fingerprint(java.nio.file.Path path, int tasks) {
        return reader(path).fingerprint(new Path(path.toString()), RANGE, tasks);
    }

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    /** The definition, on one machine: per file its name, a 0 byte, its length and each range's SHA-256. */
    private static String reference(List<java.nio.file.Path> files) throws Exception {
        MessageDigest all = MessageDigest.getInstance("SHA-256");
        for (java.nio.file.Path f : files) {
            byte[] content = Files.readAllBytes(f);
            all.update(f.getFileName().toString().getBytes(StandardCharsets.UTF_8));
            all.update((byte) 0);
            all.update(ByteBuffer.allocate(8).putLong(content.length).array());
            for (int offset = 0; offset < content.length; offset += (int) RANGE) {
                all.update(MessageDigest.getInstance("SHA-256").digest(
                        Arrays.copyOfRange(content, offset, (int) Math.min(content.length, offset + RANGE))));
            }
        }
        return HexFormat.of().formatHex(all.digest());
    }

    @Test
    void fingerprintOfAFileIsTheSameWhateverTheNumberOfTasks() throws Exception {
        java.nio.file.Path file = dir.resolve("data.csv");
        Files.write(file, bytes(10_500, 1)); // 11 ranges, the last one short
        String one = fingerprint(file, 1);
        assertEquals(one, fingerprint(file, 2));
        assertEquals(one, fingerprint(file, 5));
        assertEquals(reference(List.of(file)), one);
    }

    @Test
    void fingerprintOfADirectoryCoversEveryFileInNameOrder() throws Exception {
        java.nio.file.Path data = Files.createDirectory(dir.resolve("parts"));
        java.nio.file.Path a = Files.write(data.resolve("part-0.csv"), bytes(2_000, 2)); // exactly two ranges
        java.nio.file.Path b = Files.write(data.resolve("part-1.csv"), new byte[0]);
        java.nio.file.Path c = Files.write(data.resolve("part-2.csv"), bytes(999, 3));
        Files.write(data.resolve("_SUCCESS"), bytes(10, 4));
        String expected = reference(List.of(a, b, c));
        assertEquals(expected, fingerprint(data, 1));
        assertEquals(expected, fingerprint(data, 5));
    }

    @Test
    void oneChangedByteChangesTheFingerprint() throws IOException {
        java.nio.file.Path file = dir.resolve("data.csv");
        byte[] content = bytes(5_000, 5);
        Files.write(file, content);
        String before = fingerprint(file, 2);
        content[2_345] ^= 1;
        Files.write(file, content);
        assertNotEquals(before, fingerprint(file, 2));
    }

    @Test
    void aMissingOrEmptyPathIsAnInputErrorNamingIt() throws IOException {
        java.nio.file.Path missing = dir.resolve("nope.csv");
        InputException e = assertThrows(InputException.class, () -> reader(missing).read());
        assertTrue(e.getMessage().contains("nope.csv: does not exist"), e.getMessage());
        java.nio.file.Path empty = Files.write(dir.resolve("empty.csv"), new byte[0]);
        e = assertThrows(InputException.class, () -> reader(empty).read());
        assertTrue(e.getMessage().contains("empty.csv: is empty"), e.getMessage());
    }

    @Test
    void oversizedPartitionsAreSplitByRowIdRangeIdenticallyOnEveryRun() {
        var spark = TestSpark.session();
        var rows = spark.range(0, 1_000, 1, 2).selectExpr("id as " + TabularReader.ROW_ID, "id * 0.5 as x");
        var split = TabularReader.boundedPartitions(rows, 300);
        assertEquals(4, split.rdd().getNumPartitions(), "1000 rows at most 300 a partition");
        List<List<Long>> parts = split.javaRDD().map(r -> r.getLong(0)).glom().collect();
        assertTrue(parts.stream().allMatch(p -> p.size() <= 300 && !p.isEmpty()), "sizes " + parts.stream()
                .map(List::size).toList());
        List<Long> all = parts.stream().flatMap(List::stream).toList();
        assertEquals(java.util.stream.LongStream.range(0, 1_000).boxed().toList(), all,
                "ranges of row id in order, each sorted, none lost");
        assertEquals(parts, TabularReader.boundedPartitions(rows, 300).javaRDD().map(r -> r.getLong(0)).glom()
                .collect(), "a re-run splits the same way");
        assertTrue(TabularReader.boundedPartitions(rows, 500) == rows, "small enough partitions are left alone");
    }
}
