package io.candor.distill;

import io.candor.config.CandorConf;
import io.candor.data.PreparedData;
import io.candor.explain.ExplainInputs;
import io.candor.model.ArtifactMetadata;
import io.candor.model.ModelArtifact;
import io.candor.model.Network;
import io.candor.model.NetworkFactory;
import io.candor.quant.QatSpec;
import io.candor.quant.QatWorkflow;
import io.candor.store.ModelMetricRows;
import io.candor.store.RunRecord;
import io.candor.store.Table;
import io.candor.store.TableWriter;
import io.candor.train.DistributedTrainer;
import io.candor.train.Evaluator;
import io.candor.train.TrainSpec;
import io.candor.train.TrainWorkflow;
import io.candor.util.CandorVersion;
import io.candor.util.Hashing;
import io.candor.util.InputException;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMSE;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code candor distill}: trains a smaller student on the teacher's soft targets (Hinton, Vinyals, Dean 2015) across
 * executors. The teacher's outputs on the training rows come from {@link TeacherLogits} (computed once, then reused);
 * the student, built from {@code distill.student}, emits logits into {@link DistillationLoss} and is trained by
 * parameter averaging; it is saved as {@code student-fp32} with a softmax output, like any classifier. With
 * {@code distill.quantize} the distillation-form student also becomes a fake-quant twin fine-tuned with the same loss
 * and soft targets, and is published as {@code student-int<bits>} through {@link QatWorkflow}.
 */
public final class DistillWorkflow {
    private static final Logger LOG = LoggerFactory.getLogger(DistillWorkflow.class);

    private DistillWorkflow() {
    }

    /**
     * @param studentSha256 hash of the trained student's parameters: equal runs give equal students
     * @param quantized the student-int variant, or null
     */
    public record Outcome(String runId, long teacherParameters, long studentParameters,
                          Map<String, LinkedHashMap<String, Double>> teacherMetrics,
                          Map<String, LinkedHashMap<String, Double>> studentMetrics, boolean teacherRan,
                          String logitsPath, String artifactPath, String studentSha256,
                          QatWorkflow.Outcome quantized) {
    }

    public static Outcome run(SparkSession spark, CandorConf conf) {
        Instant started = Instant.now();
        String runId = RunRecord.newRunId("distill", started);
        DistillSpec spec = conf.distill();
        String teacherDir = spec.teacher().isEmpty()
                ? ModelArtifact.directory(conf, TrainWorkflow.TEACHER_FP32).toString()
                : spec.teacher();
        ModelArtifact teacher = ModelArtifact.load(spark, new Path(teacherDir));
        long splitSeed = ExplainInputs.splitSeed(teacher, conf);
        PreparedData data = PreparedData.prepareFor(spark, conf.dataset(), splitSeed, teacher.featurizer(),
                teacher.metadata().classes(), teacherDir);
        try {
            return run(spark, conf, teacher, teacherDir, splitSeed, data, started, runId);
        } finally {
            data.release();
        }
    }

    private static Outcome run(SparkSession spark, CandorConf conf, ModelArtifact teacher, String teacherDir,
                               long splitSeed, PreparedData data, Instant started, String runId) {
        DistillSpec spec = conf.distill();
        Network teacherNetwork = teacher.network();
        if (!"MultiLayerNetwork".equals(teacherNetwork.kind())) {
            throw new InputException("teacher " + teacherDir + ": is a " + teacherNetwork.kind()
                    + "; expected a DL4J MultiLayerNetwork");
        }
        int width = data.featurizer().layout().size();
        long teacherOutputs = teacherNetwork.output(Nd4j.zeros(DataType.FLOAT, 1, width)).size(1);
        if (teacherOutputs != data.outputs()) {
            throw new InputException("teacher " + teacherDir + ": has " + teacherOutputs + " outputs but the student"
                    + " has " + data.outputs() + " (one per class of " + conf.dataset().name() + "; expected a"
                    + " teacher with the student's output size)");
        }
        if (data.trainRows() == 0) {
            throw new InputException("dataset " + conf.dataset().path() + ": the training split has no rows"
                    + " (expected rows to distill on)");
        }

        TrainSpec train = conf.train();
        TrainSpec studentTrain = new TrainSpec(spec.epochs(), train.batchSize(), spec.learningRate(), train.updater(),
                train.l2(), train.workers(), train.averagingFrequency());
        MultiLayerNetwork student = distillationStudent(spec, studentTrain, data, conf.seed());
        LOG.info("student: {} parameters, {}% of the teacher's {}", student.numParams(),
                String.format(Locale.ROOT, "%.1f", 100.0 * student.numParams() / teacherNetwork.parameterCount()),
                teacherNetwork.parameterCount());

        String logitsPath = spec.logitsPath().isEmpty()
                ? new Path(new Path(conf.outputRoot(), "teacher_logits"), conf.modelName()).toString()
                : spec.logitsPath();
        TeacherLogits.Table logits = TeacherLogits.loadOrCompute(spark, logitsPath, teacher.networkZip(), data);

        DistributedTrainer.Result result = DistributedTrainer.fit(spark, data, logits.rows(), student, studentTrain,
                spec.epochs(), conf.seed(), (epoch, network) -> { });
        MultiLayerNetwork inference = inferenceCopy(student, data.isClassification());
        byte[] studentZip = new Network(inference).toBytes();

        Map<String, LinkedHashMap<String, Double>> studentMetrics = new LinkedHashMap<>();
        Map<String, LinkedHashMap<String, Double>> teacherMetrics = new LinkedHashMap<>();
        Map<String, Long> splitRows = Map.of(PreparedData.TRAIN, data.trainRows(), PreparedData.TEST, data.testRows());
        for (String split : List.of(PreparedData.TRAIN, PreparedData.TEST)) {
            if (splitRows.get(split) == 0) {
                continue;
            }
            studentMetrics.put(split, Evaluator.metrics(Evaluator.predict(spark, studentZip, data.split(split),
                    width, data.isClassification(), data.featurizer().normalizer()), data.outputs(),
                    data.isClassification()));
            teacherMetrics.put(split, Evaluator.metrics(Evaluator.predict(spark, teacher.networkZip(),
                    data.split(split), width, data.isClassification(), data.featurizer().normalizer()),
                    data.outputs(), data.isClassification()));
        }
        String reported = studentMetrics.containsKey(PreparedData.TEST) ? PreparedData.TEST : PreparedData.TRAIN;
        String headline = data.isClassification() ? "accuracy" : "rmse";
        LOG.info("student-fp32 {} {} {} (teacher {}), {} parameters", reported, headline,
                fmt(studentMetrics.get(reported).get(headline)), fmt(teacherMetrics.get(reported).get(headline)),
                inference.numParams());

        Map<String, String> provenance = new LinkedHashMap<>();
        provenance.put("run_id", runId);
        provenance.put("conf_sha256", conf.sha256());
        provenance.put("data_path", conf.dataset().path());
        provenance.put("data_fingerprint", data.fingerprint());
        provenance.put("seed", String.valueOf(splitSeed));
        provenance.put("created_at", started.toString());
        provenance.put("candor_version", CandorVersion.VERSION);
        provenance.put("distilled_from", teacherDir);
        provenance.put("distill.temperature", String.valueOf(spec.temperature()));
        provenance.put("distill.alpha", String.valueOf(spec.alpha()));
        provenance.put("distill.teacher_logits", logitsPath);
        provenance.put("training.averaging_rounds", String.valueOf(result.trace().averagingRounds()));
        provenance.put("training.multi_worker_rounds", String.valueOf(result.trace().multiWorkerRounds()));
        Network studentNetwork = new Network(inference);
        ArtifactMetadata metadata = TrainWorkflow.metadata(conf, data, DistillSpec.STUDENT_FP32, studentNetwork,
                studentZip.length, 32, provenance);
        Path dir = ModelArtifact.directory(conf, DistillSpec.STUDENT_FP32);
        new ModelArtifact(metadata, studentZip, teacher.pipeline()).save(spark, dir, runId);

        TableWriter tables = new TableWriter(spark, conf.tablesRoot());
        String date = conf.date().toString();
        List<Row> metricRows = ModelMetricRows.of(runId, studentMetrics, splitRows, studentZip.length,
                inference.numParams(), 32, date, conf.modelName(), DistillSpec.STUDENT_FP32);
        tables.write(Table.MODEL_METRICS, metricRows);
        tables.write(Table.RUNS, List.of(new RunRecord(runId, "distill", conf.modelName(), DistillSpec.STUDENT_FP32,
                started, Instant.now(), "succeeded", conf, data.rows(), data.fingerprint(), spark).toRow()));

        QatWorkflow.Outcome quantized = null;
        if (spec.quantize()) {
            QatSpec qat = new QatSpec(QatSpec.Mode.QAT, spec.bits(), spec.qatEpochs(), conf.qat().learningRate(),
                    conf.qat().calibration(), conf.qat().percentile(), conf.qat().calibrationBins(), "");
            QatWorkflow.Source source = new QatWorkflow.Source(dir.toString(), inference, student, data,
                    teacher.pipeline(), splitSeed, logits.rows(), twin -> toInference(twin, data.isClassification()));
            quantized = QatWorkflow.run(spark, conf, source, qat, spec.quantizedVariant(), "distill");
        }
        return new Outcome(runId, teacherNetwork.parameterCount(), inference.numParams(), teacherMetrics,
                studentMetrics, logits.computed(), logitsPath, dir.toString(),
                Hashing.sha256(paramsBytes(inference)), quantized);
    }

    /** The student as trained: the conf's architecture with a logit output layer and the distillation loss. */
    static MultiLayerNetwork distillationStudent(DistillSpec spec, TrainSpec train, PreparedData data, long seed) {
        NetworkFactory.Shape shape = new NetworkFactory.Shape(data.featurizer().layout().size(), data.outputs(),
                data.isClassification(), data.spec().imageShape());
        MultiLayerConfiguration conf = NetworkFactory.configuration(spec.student(), train, shape, seed);
        BaseOutputLayer out = (BaseOutputLayer) conf.getConf(conf.getConfs().size() - 1).getLayer();
        out.setActivationFn(new ActivationIdentity());
        out.setLossFn(new DistillationLoss(spec.temperature(), spec.alpha(), data.isClassification()));
        MultiLayerNetwork network = new MultiLayerNetwork(conf);
        network.init();
        return network;
    }

    /** A copy of a distillation student that outputs probabilities (classification) with the usual loss. */
    static MultiLayerNetwork inferenceCopy(MultiLayerNetwork student, boolean classification) {
        MultiLayerNetwork copy = new MultiLayerNetwork(student.getLayerWiseConfigurations().clone());
        copy.init(student.params().dup(), false);
        toInference(copy, classification);
        return copy;
    }

    /** Puts softmax (classification) and the plain loss back on the output layer, in place. */
    static void toInference(MultiLayerNetwork network, boolean classification) {
        MultiLayerConfiguration conf = network.getLayerWiseConfigurations();
        BaseOutputLayer out = (BaseOutputLayer) conf.getConf(conf.getConfs().size() - 1).getLayer();
        if (classification) {
            out.setActivationFn(new ActivationSoftmax());
            out.setLossFn(new LossMCXENT());
        } else {
            out.setLossFn(new LossMSE());
        }
    }

    private static byte[] paramsBytes(MultiLayerNetwork network) {
        float[] p = network.params().castTo(DataType.FLOAT).data().asFloat();
        java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate(4 * p.length);
        for (float v : p) {
            buffer.putFloat(v);
        }
        return buffer.array();
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }
}
