package io.candor.quant;

import io.candor.config.CandorConf;
import io.candor.data.Featurizer;
import io.candor.data.PreparedData;
import io.candor.data.TabularReader;
import io.candor.explain.ExplainInputs;
import io.candor.model.ArtifactMetadata;
import io.candor.model.BatchedInference;
import io.candor.model.ModelArtifact;
import io.candor.model.Network;
import io.candor.quant.intmodel.IntConv2d;
import io.candor.quant.intmodel.IntDense;
import io.candor.quant.intmodel.IntLayer;
import io.candor.quant.intmodel.IntegerModel;
import io.candor.quant.intmodel.IntegerModelFile;
import io.candor.quant.intmodel.OnnxQdqExport;
import io.candor.quant.intmodel.PreparedIntegerModel;
import io.candor.store.ModelMetricRows;
import io.candor.store.RunRecord;
import io.candor.store.Table;
import io.candor.store.TableWriter;
import io.candor.train.DistributedTrainer;
import io.candor.train.Evaluator;
import io.candor.train.Metrics;
import io.candor.train.TrainWorkflow;
import io.candor.util.CandorVersion;
import io.candor.util.ExactSum;
import io.candor.util.InputException;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.params.DefaultParamInitializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple3;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code candor qat}: quantizes a trained fp32 model. The model becomes its fake-quant twin ({@link QuantizedTwin});
 * activation ranges are calibrated by a Spark aggregation over the training split ({@link CalibrationPass}); in QAT
 * mode the twin is fine-tuned across executors by parameter averaging and recalibrated after every epoch, so every
 * worker always trains against the same global ranges. The result is saved as a variant artifact holding the twin
 * (a DL4J zip the explainers read like any network), the integer model ({@link IntegerModelFile}) and its ONNX QDQ
 * export. Metrics are those of the integer model, the one a user deploys; its agreement with the twin is recorded.
 * Every input is checked, and the twin built, before anything is written.
 */
public final class QatWorkflow {
    /** Extra files of a quantized artifact. */
    public static final String INTEGER_MODEL = "integer-model.cqm";
    public static final String ONNX_MODEL = "model.onnx";
    private static final Logger LOG = LoggerFactory.getLogger(QatWorkflow.class);
    /** Regression outputs of the integer model and the twin "agree" within this fraction of the label's std. */
    static final double AGREEMENT_TOLERANCE = 0.01;

    private QatWorkflow() {
    }

    /**
     * @param metrics per split, the integer model's metrics
     * @param fp32Metrics per split, the source model's metrics on the same rows
     * @param agreement on the test split (train if empty): share of rows where the integer model and the twin predict
     *     the same class (for regression: within 1 % of the label's spread)
     * @param meanAbsDifference mean |integer output − twin output| over the same rows and outputs
     */
    public record Outcome(String runId, String variant, Map<String, LinkedHashMap<String, Double>> metrics,
                          Map<String, LinkedHashMap<String, Double>> fp32Metrics, double agreement,
                          double meanAbsDifference, long fp32ParameterBytes, long integerModelBytes, long onnxBytes,
                          String artifactPath, TrainingSummary training) {
    }

    /** What fine-tuning did; zero rounds in PTQ mode. */
    public record TrainingSummary(int epochs, long averagingRounds, long multiWorkerRounds, int calibrations) {
    }

    /**
     * The fp32 model to quantize and its data.
     *
     * @param network the fp32 network as users run it: the baseline of the reported metrics
     * @param trainable the network the twin is built from and fine-tuned as (the same, or a distillation student
     *     with logit outputs and its distillation loss)
     * @param teacherOutputs soft targets for fine-tuning ({@code row_id}, {@code teacher}), or null for labels
     * @param beforeExport called on the fine-tuned twin before export, e.g. to put softmax back on logit outputs
     */
    public record Source(String label, MultiLayerNetwork network, MultiLayerNetwork trainable, PreparedData data,
                         org.apache.spark.ml.PipelineModel pipeline, long splitSeed, Dataset<Row> teacherOutputs,
                         java.util.function.Consumer<MultiLayerNetwork> beforeExport) {
        Source(String label, MultiLayerNetwork network, PreparedData data, org.apache.spark.ml.PipelineModel pipeline,
               long splitSeed) {
            this(label, network, network, data, pipeline, splitSeed, null, twin -> { });
        }
    }

    public static Outcome run(SparkSession spark, CandorConf conf) {
        Source source = load(spark, conf);
        try {
            return run(spark, conf, source, conf.qat(), conf.qat().variant(), "qat");
        } finally {
            source.data().release();
        }
    }

    /** Quantizes {@code source} as {@code qat} says and publishes it as {@code variant}. */
    public static Outcome run(SparkSession spark, CandorConf conf, Source source, QatSpec qat, String variant,
                              String job) {
        Instant started = Instant.now();
        String runId = RunRecord.newRunId(job, started);
        PreparedData data = source.data();
        if (data.trainRows() == 0) {
            throw new InputException("dataset " + conf.dataset().path() + ": the training split has no rows"
                    + " (expected rows to calibrate and fine-tune on)");
        }
        MultiLayerNetwork twin = QuantizedTwin.of(source.trainable(), qat.bits(), source.label(),
                new Adam(qat.learningRate()));
        Dataset<Row> trainRows = data.split(PreparedData.TRAIN);
        int[] calibrations = {0};
        Runnable calibrate = () -> {
            CalibrationPass.Ranges ranges = CalibrationPass.run(spark, trainRows,
                    new Network(QuantizedTwin.observing(twin)).toBytes(), qat.calibrationOptions());
            QuantizedTwin.applyRanges(twin, ranges.input(), ranges.layers());
            calibrations[0]++;
        };
        calibrate.run();
        LOG.info("{} {}-bit: calibrated {} activation ranges over {} training rows ({})", qat.mode(), qat.bits(),
                twin.getnLayers() + 1, data.trainRows(), qat.calibration());
        TrainingSummary training = new TrainingSummary(0, 0, 0, calibrations[0]);
        if (qat.mode() == QatSpec.Mode.QAT) {
            DistributedTrainer.Result result = DistributedTrainer.fit(spark, data, source.teacherOutputs(), twin,
                    conf.train(), qat.epochs(), conf.seed(), (epoch, network) -> calibrate.run());
            training = new TrainingSummary(qat.epochs(), result.trace().averagingRounds(),
                    result.trace().multiWorkerRounds(), calibrations[0]);
        }

        source.beforeExport().accept(twin);
        int width = data.featurizer().layout().size();
        IntegerModel integer = QuantizedTwin.toIntegerModel(twin, width);
        byte[] integerBytes = IntegerModelFile.toBytes(integer);
        byte[] onnx = OnnxQdqExport.toBytes(integer, CandorVersion.VERSION);
        byte[] twinZip = new Network(twin).toBytes();
        byte[] fp32Zip = new Network(source.network()).toBytes();

        Map<String, LinkedHashMap<String, Double>> metrics = new LinkedHashMap<>();
        Map<String, LinkedHashMap<String, Double>> fp32Metrics = new LinkedHashMap<>();
        Map<String, Long> splitRows = Map.of(PreparedData.TRAIN, data.trainRows(), PreparedData.TEST, data.testRows());
        Map<String, JavaRDD<Tuple3<Long, Double, double[]>>> integerPredictions = new LinkedHashMap<>();
        for (String split : List.of(PreparedData.TRAIN, PreparedData.TEST)) {
            if (splitRows.get(split) == 0) {
                continue;
            }
            Dataset<Row> rows = data.split(split);
            // Kept for the metrics' passes and the agreement below, so the integer model runs once per row.
            JavaRDD<Tuple3<Long, Double, double[]>> p = predictInteger(spark, integerBytes, rows, width, data)
                    .persist(StorageLevel.MEMORY_AND_DISK());
            integerPredictions.put(split, p);
            metrics.put(split, Evaluator.metrics(p, data.outputs(), data.isClassification()));
            fp32Metrics.put(split, Evaluator.metrics(Evaluator.predict(spark, fp32Zip, rows, width,
                    data.isClassification(), data.featurizer().normalizer()), data.outputs(), data.isClassification()));
        }
        // The simulation runs on the reported split only: that is where agreement is measured.
        String reported = metrics.containsKey(PreparedData.TEST) ? PreparedData.TEST : PreparedData.TRAIN;
        double[] agreement = agreement(integerPredictions.get(reported), Evaluator.predict(spark, twinZip,
                data.split(reported), width, data.isClassification(), data.featurizer().normalizer()), data);
        integerPredictions.values().forEach(p -> p.unpersist(false));
        String headline = data.isClassification() ? "accuracy" : "rmse";
        LOG.info("{} {}: {} {} {} (fp32 {}); integer model agrees with the fake-quant twin on {}% of rows, mean"
                        + " |output difference| {}; integer model {} bytes, fp32 parameters {} bytes",
                variant, reported, headline, fmt(metrics.get(reported).get(headline)),
                reported, fmt(fp32Metrics.get(reported).get(headline)), fmt(100 * agreement[0]), fmt(agreement[1]),
                integerBytes.length, 4 * source.network().numParams());

        Map<String, String> provenance = new LinkedHashMap<>();
        provenance.put("run_id", runId);
        provenance.put("conf_sha256", conf.sha256());
        provenance.put("data_path", conf.dataset().path());
        provenance.put("data_fingerprint", data.fingerprint());
        provenance.put("seed", String.valueOf(source.splitSeed()));
        provenance.put("created_at", started.toString());
        provenance.put("candor_version", CandorVersion.VERSION);
        provenance.put("quantized_from", source.label());
        provenance.put("quantization.mode", qat.mode().name().toLowerCase(Locale.ROOT));
        provenance.put("quantization.bits", String.valueOf(qat.bits()));
        provenance.put("quantization.calibration", qat.calibration().name().toLowerCase(Locale.ROOT));
        provenance.put("quantization.calibrations", String.valueOf(training.calibrations()));
        provenance.put("quantization.agreement", String.valueOf(agreement[0]));
        provenance.put("training.averaging_rounds", String.valueOf(training.averagingRounds()));
        provenance.put("training.multi_worker_rounds", String.valueOf(training.multiWorkerRounds()));
        Network twinNetwork = new Network(twin);
        ArtifactMetadata metadata = TrainWorkflow.metadata(conf, data, variant, twinNetwork, integerBytes.length,
                qat.bits(), provenance);
        ModelArtifact artifact = new ModelArtifact(metadata, twinZip, source.pipeline(),
                Map.of(INTEGER_MODEL, integerBytes, ONNX_MODEL, onnx));
        Path artifactDir = ModelArtifact.directory(conf, variant);
        artifact.save(spark, artifactDir, runId);

        TableWriter tables = new TableWriter(spark, conf.tablesRoot());
        String date = conf.date().toString();
        long parameters = twin.numParams();
        List<Row> metricRows = new ArrayList<>(ModelMetricRows.of(runId, metrics, splitRows, integerBytes.length,
                parameters, qat.bits(), date, conf.modelName(), variant));
        metricRows.add(RowFactory.create(runId, reported, "fake_quant_agreement", agreement[0],
                splitRows.get(reported), (long) integerBytes.length, parameters, qat.bits(), date, conf.modelName(),
                variant));
        tables.write(Table.MODEL_METRICS, metricRows);
        tables.write(Table.QUANTIZATION, quantizationRows(runId, twin, integer, qat, data.trainRows(), date,
                conf.modelName(), variant));
        RunRecord run = new RunRecord(runId, job, conf.modelName(), variant, started, Instant.now(), "succeeded",
                conf, data.rows(), data.fingerprint(), spark);
        tables.write(Table.RUNS, List.of(run.toRow()));
        return new Outcome(runId, variant, metrics, fp32Metrics, agreement[0], agreement[1],
                4 * source.network().numParams(), integerBytes.length, onnx.length, artifactDir.toString(), training);
    }

    /** The fp32 network and its data: a Candor artifact (its own featurizer and split) or a user's DL4J zip. */
    private static Source load(SparkSession spark, CandorConf conf) {
        String path = conf.qat().source().isEmpty()
                ? ModelArtifact.directory(conf, TrainWorkflow.TEACHER_FP32).toString()
                : conf.qat().source();
        if (path.toLowerCase(Locale.ROOT).endsWith(".zip")) {
            byte[] zip = ModelArtifact.readNetworkZip(spark, path);
            Network network = Network.fromBytes(zip, path);
            PreparedData data = PreparedData.prepare(spark, conf.dataset(), conf.seed());
            TrainWorkflow.checkShape(network, data, path);
            return new Source(path, multiLayer(network, path), data, data.featurizer().pipeline(), conf.seed());
        }
        ModelArtifact artifact = ModelArtifact.load(spark, new Path(path));
        if (artifact.metadata().bits() != 32) {
            throw new InputException("model artifact " + path + ": is already quantized (" + artifact.metadata().bits()
                    + " bits); expected an fp32 artifact such as teacher-fp32");
        }
        long splitSeed = ExplainInputs.splitSeed(artifact, conf);
        PreparedData data = PreparedData.prepareFor(spark, conf.dataset(), splitSeed, artifact.featurizer(),
                artifact.metadata().classes(), path);
        return new Source(path, multiLayer(artifact.network(), path), data, artifact.pipeline(), splitSeed);
    }

    private static MultiLayerNetwork multiLayer(Network network, String path) {
        if (!"MultiLayerNetwork".equals(network.kind())) {
            throw new InputException("model " + path + ": is a " + network.kind() + "; expected a DL4J"
                    + " MultiLayerNetwork (Candor quantizes sequential networks)");
        }
        return network.multiLayer();
    }

    /**
     * The integer model's scored rows, computed on the executors with the integer artifact broadcast; lazy, the
     * broadcast living as long as the RDD.
     */
    static JavaRDD<Tuple3<Long, Double, double[]>> predictInteger(SparkSession spark, byte[] integerBytes,
                                                                 Dataset<Row> rows, int width, PreparedData data) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<byte[]> model = jsc.broadcast(integerBytes);
        return Evaluator.onLabelScale(rows.select(TabularReader.ROW_ID, Featurizer.FEATURES, TabularReader.LABEL)
                .javaRDD()
                .mapPartitions(it -> {
                    PreparedIntegerModel m = PreparedIntegerModel.of(IntegerModelFile.read(model.value(),
                            "broadcast integer model"));
                    return BatchedInference.map(it, 1, width, (flat, n) -> toFloat(m.outputs(flat, n)),
                            BatchedInference.DEFAULT_BATCH,
                            (row, output) -> new Tuple3<>(row.getLong(0), row.getDouble(2), output));
                }), data.isClassification(), data.featurizer().normalizer());
    }

    private static float[][] toFloat(double[][] values) {
        float[][] out = new float[values.length][];
        for (int i = 0; i < values.length; i++) {
            out[i] = new float[values[i].length];
            for (int j = 0; j < values[i].length; j++) {
                out[i][j] = (float) values[i][j];
            }
        }
        return out;
    }

    /**
     * {share of rows predicted alike, mean |output difference|} of two scored RDDs, over the rows both hold (matched
     * by row id): counts and an exact sum merged on the driver, so the result does not depend on the partitioning.
     */
    static double[] agreement(JavaRDD<Tuple3<Long, Double, double[]>> a, JavaRDD<Tuple3<Long, Double, double[]>> b,
                              PreparedData data) {
        double tolerance = AGREEMENT_TOLERANCE * data.featurizer().normalizer().labelStd();
        return agreement(a, b, data.isClassification(), tolerance);
    }

    /** {@link #agreement(JavaRDD, JavaRDD, PreparedData)} with regression outputs alike within {@code tolerance}. */
    static double[] agreement(JavaRDD<Tuple3<Long, Double, double[]>> a, JavaRDD<Tuple3<Long, Double, double[]>> b,
                              boolean classification, double tolerance) {
        Agreement total = Evaluator.joinByRowId(a, b).treeAggregate(new Agreement(),
                (s, pair) -> s.add(pair._1(), pair._2(), classification, tolerance), Agreement::merge);
        return new double[] {total.rows == 0 ? 1.0 : (double) total.same / total.rows,
                total.values == 0 ? 0.0 : total.difference.doubleValue() / total.values};
    }

    /** Mergeable counts behind {@link #agreement}. */
    private static final class Agreement implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        private final ExactSum difference = new ExactSum();
        private long rows;
        private long same;
        private long values;

        Agreement add(double[] x, double[] y, boolean classification, double tolerance) {
            rows++;
            if (classification) {
                same += Metrics.argmax(x, 0, x.length) == Metrics.argmax(y, 0, y.length) ? 1 : 0;
            } else {
                same += Math.abs(x[0] - y[0]) <= tolerance ? 1 : 0;
            }
            for (int j = 0; j < x.length; j++) {
                difference.add(Math.abs(x[j] - y[j]));
                values++;
            }
            return this;
        }

        Agreement merge(Agreement other) {
            difference.merge(other.difference);
            rows += other.rows;
            same += other.same;
            values += other.values;
            return this;
        }
    }

    /** One row per weighted layer, in the integer model's layer order. */
    private static List<Row> quantizationRows(String runId, MultiLayerNetwork twin, IntegerModel integer, QatSpec qat,
                                              long calibrationRows, String date, String model, String variant) {
        List<Double> weightErrors = new ArrayList<>();
        for (int l = 0; l < twin.getnLayers(); l++) {
            if (twin.getLayer(l).conf().getLayer() instanceof BaseLayer b
                    && b.getWeightNoise() instanceof FakeQuantWeights fq) {
                INDArray w = twin.getLayer(l).getParam(DefaultParamInitializer.WEIGHT_KEY);
                weightErrors.add(w.sub(FakeQuantArrays.weights(w, fq.axis(), fq.bits())).amaxNumber().doubleValue());
            }
        }
        List<Row> rows = new ArrayList<>();
        int weighted = 0;
        String scheme = "weights symmetric per-channel int" + qat.bits() + ", activations asymmetric per-tensor uint8";
        String method = qat.calibration().name().toLowerCase(Locale.ROOT).replace('_', '-');
        for (int i = 0; i < integer.layers().size(); i++) {
            IntLayer layer = integer.layers().get(i);
            float[] scales;
            io.candor.quant.intmodel.ActivationQuant in;
            io.candor.quant.intmodel.ActivationQuant out;
            long parameterCount;
            if (layer instanceof IntDense d) {
                scales = d.weightScales();
                in = d.input();
                out = d.output();
                parameterCount = (long) d.nIn() * d.nOut() + d.nOut();
            } else if (layer instanceof IntConv2d c) {
                scales = c.weightScales();
                in = c.input();
                out = c.output();
                parameterCount = (long) c.weights().length + c.outChannels();
            } else {
                continue;
            }
            double min = Double.POSITIVE_INFINITY;
            double max = 0;
            double sum = 0;
            for (float s : scales) {
                min = Math.min(min, s);
                max = Math.max(max, s);
                sum += s;
            }
            rows.add(RowFactory.create(runId, i, layer.getClass().getSimpleName(), qat.bits(), 8, scheme,
                    parameterCount, min, max, sum / scales.length, weightErrors.get(weighted++), (double) in.scale(),
                    in.zeroPoint(), out == null ? null : (double) out.scale(), out == null ? null : out.zeroPoint(),
                    method, calibrationRows, date, model, variant));
        }
        return rows;
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }
}
