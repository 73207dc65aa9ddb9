package io.candor.train;

import io.candor.data.PreparedData;
import io.candor.testing.TestSpark;
import io.candor.util.InputException;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.candor.train.TrainWorkflowTestSupport.conf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Users arrive with trained networks: any ModelSerializer zip with the right shape is a model Candor accepts. */
class LoadedModelTest {
    @TempDir
    static Path dir;
    static TrainWorkflow.Outcome trained;

    @BeforeAll
    static void trainOne() {
        trained = TrainWorkflow.run(TestSpark.session(), conf("breast_cancer", dir.resolve("trained"), "train.epochs=4"));
    }

    @Test
    void aMultiLayerNetworkZipEvaluatesLikeTheRunThatMadeIt() throws IOException {
        Path zip = dir.resolve("my-net.zip");
        Files.copy(Path.of(trained.artifactPath(), "network.zip"), zip);
        TrainWorkflow.Outcome loaded = TrainWorkflow.run(TestSpark.session(), conf("breast_cancer", dir.resolve("loaded"),
                "model.source=load", "model.path=" + zip));
        assertEquals("my-net", loaded.variant());
        assertEquals(trained.metrics().get(PreparedData.TEST), loaded.metrics().get(PreparedData.TEST));
        assertTrue(loaded.trace() == null, "a loaded model is not trained");
    }

    @Test
    void aComputationGraphWithOneInputAndOutputIsAccepted() throws IOException {
        ComputationGraph graph = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(1).graphBuilder()
                .addInputs("in")
                .addLayer("hidden", new DenseLayer.Builder().nIn(30).nOut(8).activation(Activation.TANH).build(), "in")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(8).nOut(2)
                        .activation(Activation.SOFTMAX).build(), "hidden")
                .setOutputs("out").build());
        graph.init();
        Path zip = dir.resolve("graph.zip");
        ModelSerializer.writeModel(graph, zip.toFile(), false);
        TrainWorkflow.Outcome loaded = TrainWorkflow.run(TestSpark.session(), conf("breast_cancer", dir.resolve("graph"),
                "model.source=load", "model.path=" + zip));
        assertEquals("graph", loaded.variant());
        double accuracy = loaded.metrics().get(PreparedData.TEST).get("accuracy");
        assertTrue(accuracy >= 0.0 && accuracy <= 1.0);
    }

    @Test
    void aNetworkOfTheWrongShapeIsRefusedBeforeAnyOutput() throws IOException {
        Path wrongInputs = save(network(10, 2), "ten-inputs.zip");
        InputException inputs = assertThrows(InputException.class, () -> TrainWorkflow.run(TestSpark.session(),
                conf("breast_cancer", dir.resolve("bad1"), "model.source=load", "model.path=" + wrongInputs)));
        assertTrue(inputs.getMessage().contains("does not accept 30 input features"), inputs.getMessage());

        Path wrongOutputs = save(network(30, 3), "three-outputs.zip");
        InputException outputs = assertThrows(InputException.class, () -> TrainWorkflow.run(TestSpark.session(),
                conf("breast_cancer", dir.resolve("bad2"), "model.source=load", "model.path=" + wrongOutputs)));
        assertTrue(outputs.getMessage().contains("has 3 outputs but dataset breast_cancer needs 2"), outputs.getMessage());

        Path garbage = dir.resolve("garbage.zip");
        Files.write(garbage, new byte[] {'P', 'K', 3, 4, 1, 2, 3});
        InputException corrupt = assertThrows(InputException.class, () -> TrainWorkflow.run(TestSpark.session(),
                conf("breast_cancer", dir.resolve("bad3"), "model.source=load", "model.path=" + garbage)));
        assertTrue(corrupt.getMessage().contains("garbage.zip")
                && corrupt.getMessage().contains("expected a DL4J ModelSerializer zip"), corrupt.getMessage());

        for (String out : new String[] {"bad1", "bad2", "bad3"}) {
            assertTrue(!Files.exists(dir.resolve(out)), "no output for a refused model: " + out);
        }
    }

    private static MultiLayerNetwork network(int inputs, int outputs) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1).list()
                .layer(new DenseLayer.Builder().nIn(inputs).nOut(4).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(4).nOut(outputs)
                        .activation(Activation.SOFTMAX).build())
                .build());
        net.init();
        return net;
    }

    private static Path save(MultiLayerNetwork net, String name) throws IOException {
        Path zip = dir.resolve(name);
        ModelSerializer.writeModel(net, zip.toFile(), false);
        return zip;
    }
}
