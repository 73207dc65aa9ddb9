package io.candor.config;

import io.candor.data.DatasetSpec;
import io.candor.testing.TestSpark;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfLoaderTest {
    @TempDir
    Path dir;

    private Path write(String text) throws IOException {
        Path file = dir.resolve("job.conf");
        Files.writeString(file, text);
        return file;
    }

    private static final String MINIMAL = """
            dataset {
              name = toy
              path = data.csv
              label = y
            }
            """;

    @Test
    void everySampleConfLoads() {
        for (String name : List.of("breast_cancer", "wine", "digits", "adult", "diabetes")) {
            CandorConf conf = new ConfLoader().load(TestSpark.sampleConf(name), List.of());
            assertEquals(name, conf.dataset().name());
            assertEquals(name, conf.modelName());
        }
    }

    @Test
    void defaultsFillWhatTheJobConfLeavesOut() throws IOException {
        CandorConf conf = new ConfLoader().load(write(MINIMAL), List.of("run.date=2026-01-02"));
        assertEquals(42, conf.seed());
        assertEquals(LocalDate.of(2026, 1, 2), conf.date());
        assertEquals(DatasetSpec.MissingPolicy.FAIL, conf.dataset().missingPolicy());
        assertEquals(List.of(64, 32), conf.model().hidden());
        assertEquals(20, conf.train().epochs());
    }

    @Test
    void overridesWinAndStringKeysNeedNoQuoting() throws IOException {
        CandorConf conf = new ConfLoader().load(write(MINIMAL),
                List.of("train.epochs=7", "output.root=hdfs://nn:8020/candor", "model.hidden=[8, 4]"));
        assertEquals(7, conf.train().epochs());
        assertEquals("hdfs://nn:8020/candor", conf.outputRoot());
        assertEquals(List.of(8, 4), conf.model().hidden());
    }

    @Test
    void unknownKeyNamesTheKeyFileAndLineAndSuggests() throws IOException {
        Path file = write(MINIMAL + "train {\n  epoch = 5\n}\n");
        ConfigException e = assertThrows(ConfigException.class, () -> new ConfLoader().load(file, List.of()));
        assertTrue(e.getMessage().startsWith("conf key train.epoch: unknown key"), e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("line 7"), e.getMessage());
        assertTrue(e.getMessage().contains("did you mean train.epochs?"), e.getMessage());
    }

    @Test
    void wrongTypeNamesTheKeyAndWhatWasExpected() throws IOException {
        Path file = write(MINIMAL + "train.epochs = many\n");
        ConfigException e = assertThrows(ConfigException.class, () -> new ConfLoader().load(file, List.of()));
        assertTrue(e.getMessage().startsWith("conf key train.epochs: "), e.getMessage());
        assertTrue(e.getMessage().contains("expected a number"), e.getMessage());

        Path fractional = write(MINIMAL + "train.epochs = 2.5\n");
        assertThrows(ConfigException.class, () -> new ConfLoader().load(fractional, List.of()));
    }

    @Test
    void realValuedKeysAcceptFractionsEvenWhenTheirDefaultIsWhole() throws IOException {
        CandorConf conf = new ConfLoader().load(write(MINIMAL), List.of("model.dropout=0.2", "train.l2=0"));
        assertEquals(0.2, conf.model().dropout());
        assertEquals(0.0, conf.train().l2());
    }

    @Test
    void negativeEpochsAreOutOfRange() throws IOException {
        Path file = write(MINIMAL + "train.epochs = -5\n");
        ConfigException e = assertThrows(ConfigException.class, () -> new ConfLoader().load(file, List.of()));
        assertEquals("conf key train.epochs: -5 is below 1 (file " + file + ", line 6)", e.getMessage());
        assertEquals(2, e.exitCode());
    }

    @Test
    void badOverrideNamesTheOverride() throws IOException {
        Path file = write(MINIMAL);
        ConfigException e = assertThrows(ConfigException.class,
                () -> new ConfLoader().load(file, List.of("train.epochs=-1")));
        assertTrue(e.getMessage().contains("--set train.epochs=-1"), e.getMessage());
        ConfigException unknown = assertThrows(ConfigException.class,
                () -> new ConfLoader().load(file, List.of("trian.epochs=3")));
        assertTrue(unknown.getMessage().startsWith("conf key trian.epochs: unknown key"), unknown.getMessage());
    }

    @Test
    void missingRequiredKeyAndMissingFileAreClear() throws IOException {
        Path file = write("dataset { name = toy, label = y }\n");
        ConfigException e = assertThrows(ConfigException.class, () -> new ConfLoader().load(file, List.of()));
        assertTrue(e.getMessage().startsWith("conf key dataset.path: is empty"), e.getMessage());
        ConfigException missing = assertThrows(ConfigException.class,
                () -> new ConfLoader().load(dir.resolve("nope.conf"), List.of()));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
    }

    @Test
    void renderedConfAndHashFollowTheContent() throws IOException {
        CandorConf a = new ConfLoader().load(write(MINIMAL), List.of());
        CandorConf b = new ConfLoader().load(write(MINIMAL), List.of("train.epochs=3"));
        assertTrue(a.rendered().contains("toy"));
        assertNotEquals(a.sha256(), b.sha256());
    }

    @Test
    void listElementsAreCheckedAgainstTheDeclaredTypeEvenWhenTheDefaultIsEmpty() throws IOException {
        Path file = write(MINIMAL + "shapley.outputs = [a]\n");
        ConfigException e = assertThrows(ConfigException.class, () -> new ConfLoader().load(file, List.of()));
        assertTrue(e.getMessage().startsWith("conf key shapley.outputs: list element \"a\" is a string "
                + "(expected a list of numbers"), e.getMessage());
    }

    @Test
    void rangesComeFromTheDeclarations() throws IOException {
        Path file = write(MINIMAL);
        ConfigException pairs = assertThrows(ConfigException.class,
                () -> new ConfLoader().load(file, List.of("shapley.permutation-pairs=1")));
        assertEquals("conf key shapley.permutation-pairs: 1 is below 2 (--set shapley.permutation-pairs=1)",
                pairs.getMessage());
        ConfigException choice = assertThrows(ConfigException.class,
                () -> new ConfLoader().load(file, List.of("model.activation=swish")));
        assertTrue(choice.getMessage().startsWith("conf key model.activation: 'swish' is not one of relu, tanh, "
                + "leakyrelu, elu, sigmoid or identity"), choice.getMessage());
    }
}
