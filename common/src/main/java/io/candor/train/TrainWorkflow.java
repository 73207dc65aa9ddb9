package io.candor.train;

import io.candor.config.CandorConf;
import io.candor.data.PreparedData;
import io.candor.model.ArtifactMetadata;
import io.candor.model.ModelArtifact;
import io.candor.model.ModelSpec;
import io.candor.model.Network;
import io.candor.store.ModelMetricRows;
import io.candor.store.RunRecord;
import io.candor.store.Table;
import io.candor.store.TableWriter;
import io.candor.util.InputException;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple3;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code candor train}: prepare the data, train the teacher across executors (or load a user's network), evaluate it
 * on both splits, save the artifact and write the {@code model_metrics} and {@code runs} tables. All input checks
 * happen before the first write.
 */
public final class TrainWorkflow {
    public static final String TEACHER_FP32 = "teacher-fp32";
    private static final Logger LOG = LoggerFactory.getLogger(TrainWorkflow.class);

    private TrainWorkflow() {
    }

    /**
     * @param metrics per split ("train", "test"), metric name to value
     * @param predictions per split, the lazy scored rows behind those metrics (see {@link Evaluator#predict})
     */
    public record Outcome(String runId, String model, String variant, Map<String, LinkedHashMap<String, Double>> metrics,
                          Map<String, JavaRDD<Tuple3<Long, Double, double[]>>> predictions, String artifactPath,
                          List<String> tablePaths,
                          TrainingTrace.Summary trace, long parameterCount, long sizeBytes) {
    }

    public static Outcome run(SparkSession spark, CandorConf conf) {
        Instant started = Instant.now();
        String runId = RunRecord.newRunId("train", started);
        PreparedData data = PreparedData.prepare(spark, conf.dataset(), conf.seed());
        try {
            return run(spark, conf, data, started, runId);
        } finally {
            data.release();
        }
    }

    private static Outcome run(SparkSession spark, CandorConf conf, PreparedData data, Instant started, String runId) {
        LOG.info("dataset {}: {} rows ({} train, {} test), {} features in {} groups{}", conf.dataset().name(),
                data.rows(), data.trainRows(), data.testRows(), data.featurizer().layout().size(),
                data.featurizer().layout().groups().size(),
                data.isClassification() ? ", classes " + data.classes() : "");

        byte[] networkZip;
        String variant;
        TrainingTrace.Summary trace = null;
        Map<String, String> provenance = new LinkedHashMap<>();
        if (conf.model().source() == ModelSpec.Source.TRAIN) {
            DistributedTrainer.Result result =
                    DistributedTrainer.train(spark, data, conf.model(), conf.train(), conf.seed());
            networkZip = new Network(result.network()).toBytes();
            variant = TEACHER_FP32;
            trace = result.trace();
            provenance.put("training.workers", String.valueOf(result.workers()));
            provenance.put("training.averaging_rounds", String.valueOf(trace.averagingRounds()));
            provenance.put("training.multi_worker_rounds", String.valueOf(trace.multiWorkerRounds()));
            provenance.put("training.minibatches", String.valueOf(trace.minibatches()));
            provenance.put("training.seconds", String.valueOf(result.seconds()));
        } else {
            networkZip = ModelArtifact.readNetworkZip(spark, conf.model().path());
            variant = loadedVariantName(conf.model().path());
            checkShape(Network.fromBytes(networkZip, conf.model().path()), data, conf.model().path());
            provenance.put("loaded_from", conf.model().path());
        }
        Network network = Network.fromBytes(networkZip, conf.modelName() + "/" + variant);

        int width = data.featurizer().layout().size();
        Map<String, LinkedHashMap<String, Double>> metrics = new LinkedHashMap<>();
        Map<String, JavaRDD<Tuple3<Long, Double, double[]>>> predictions = new LinkedHashMap<>();
        Map<String, Long> splitRows = Map.of(PreparedData.TRAIN, data.trainRows(), PreparedData.TEST, data.testRows());
        for (String split : List.of(PreparedData.TRAIN, PreparedData.TEST)) {
            if (splitRows.get(split) == 0) {
                continue;
            }
            JavaRDD<Tuple3<Long, Double, double[]>> p = Evaluator.predict(spark, networkZip, data.split(split),
                    width, data.isClassification(), data.featurizer().normalizer());
            predictions.put(split, p);
            metrics.put(split, Evaluator.metrics(p, data.outputs(), data.isClassification()));
        }

        provenance.put("run_id", runId);
        provenance.put("conf_sha256", conf.sha256());
        provenance.put("data_path", conf.dataset().path());
        provenance.put("data_fingerprint", data.fingerprint());
        provenance.put("seed", String.valueOf(conf.seed()));
        provenance.put("created_at", started.toString());
        provenance.put("candor_version", io.candor.util.CandorVersion.VERSION);
        ArtifactMetadata metadata = metadata(conf, data, variant, network, networkZip.length, 32, provenance);
        ModelArtifact artifact = new ModelArtifact(metadata, networkZip, data.featurizer().pipeline());
        var artifactDir = ModelArtifact.directory(conf, variant);
        artifact.save(spark, artifactDir, runId);

        TableWriter tables = new TableWriter(spark, conf.tablesRoot());
        String date = conf.date().toString();
        List<Row> metricRows = ModelMetricRows.of(runId, metrics, splitRows, networkZip.length,
                network.parameterCount(), 32, date, conf.modelName(), variant);
        List<String> written = new ArrayList<>();
        written.add(tables.write(Table.MODEL_METRICS, metricRows));
        RunRecord run = new RunRecord(runId, "train", conf.modelName(), variant, started, Instant.now(), "succeeded",
                conf, data.rows(), data.fingerprint(), spark);
        written.add(tables.write(Table.RUNS, List.of(run.toRow())));
        return new Outcome(runId, conf.modelName(), variant, metrics, predictions, artifactDir.toString(), written, trace,
                network.parameterCount(), networkZip.length);
    }

    /** The metadata of a variant of {@code conf}'s model trained on {@code data}. */
    public static ArtifactMetadata metadata(CandorConf conf, PreparedData data, String variant, Network network,
                                            long sizeBytes, int bits, Map<String, String> provenance) {
        var layout = data.featurizer().layout();
        var norm = data.featurizer().normalizer();
        return new ArtifactMetadata(ArtifactMetadata.FORMAT_VERSION, conf.modelName(), variant,
                data.isClassification() ? "classification" : "regression", network.kind(), layout.names(),
                layout.groups(), layout.numericColumns(), layout.categoricalColumns(), data.classes(), norm.mean(),
                norm.std(), norm.labelMean(), norm.labelStd(), conf.dataset().imageShape(), network.parameterCount(),
                sizeBytes, bits, provenance);
    }

    /** A user's network must take the dataset's features and give its outputs; checked with one small batch. */
    public static void checkShape(Network network, PreparedData data, String path) {
        int width = data.featurizer().layout().size();
        long outputs;
        try {
            outputs = network.output(Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, 2, width)).size(1);
        } catch (RuntimeException e) {
            throw new InputException("model " + path + ": does not accept " + width + " input features of dataset "
                    + data.spec().name() + " (" + e.getClass().getSimpleName() + "; expected a network whose input"
                    + " size matches the feature spec)", e);
        }
        if (outputs != data.outputs()) {
            throw new InputException("model " + path + ": has " + outputs + " outputs but dataset " + data.spec().name()
                    + " needs " + data.outputs() + " (expected one output per class, or 1 for regression)");
        }
    }

    /** The variant name of a loaded model: its file name without {@code .zip}. */
    public static String loadedVariantName(String path) {
        String name = new org.apache.hadoop.fs.Path(path).getName();
        return name.toLowerCase(java.util.Locale.ROOT).endsWith(".zip") ? name.substring(0, name.length() - 4) : name;
    }
}
