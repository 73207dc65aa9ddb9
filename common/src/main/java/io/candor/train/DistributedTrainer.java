package io.candor.train;

import io.candor.data.Featurizer;
import io.candor.data.PreparedData;
import io.candor.data.TabularReader;
import io.candor.model.ModelSpec;
import io.candor.model.NetworkFactory;
import io.candor.util.Seeds;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.CollectionAccumulator;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

/**
 * Trains a network across Spark executors by synchronous parameter averaging (dl4j-spark's
 * {@link ParameterAveragingTrainingMaster}): the training split is hash-partitioned by row id into one partition per
 * worker, shuffled within each partition by (seed, row id), cut into minibatches, and fitted epoch by epoch.
 * Everything random derives from the run seed, so the same conf on the same topology trains the same network.
 */
public final class DistributedTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(DistributedTrainer.class);
    private static final long SHUFFLE_STREAM = 0x5AFF1EL;
    /** Column of the teacher's outputs in soft-target training rows. */
    public static final String TEACHER = "teacher";

    private DistributedTrainer() {
    }

    public record Result(MultiLayerNetwork network, TrainingTrace.Summary trace, int workers, long seconds) {
    }

    /** Called on the driver after each epoch, e.g. to recalibrate quantization ranges before the next one. */
    @FunctionalInterface
    public interface EpochHook {
        void afterEpoch(int epoch, MultiLayerNetwork network);
    }

    public static Result train(SparkSession spark, PreparedData data, ModelSpec model, TrainSpec train, long seed) {
        NetworkFactory.Shape shape = new NetworkFactory.Shape(data.featurizer().layout().size(), data.outputs(),
                data.isClassification(), data.spec().imageShape());
        return fit(spark, data, NetworkFactory.build(model, train, shape, seed), train, train.epochs(), seed,
                (epoch, network) -> { });
    }

    /**
     * Fits {@code network} (in place) on the training split for {@code epochs} epochs with the workers, batch size and
     * averaging frequency of {@code train}. The network's configuration is broadcast again at every epoch, so changes
     * the hook makes to it reach the workers.
     */
    public static Result fit(SparkSession spark, PreparedData data, MultiLayerNetwork network, TrainSpec train,
                             int epochs, long seed, EpochHook hook) {
        return fit(spark, data, null, network, train, epochs, seed, hook);
    }

    /**
     * As above, with soft targets: {@code teacherOutputs} has {@code row_id} and an array column {@code teacher} of
     * the teacher's K outputs per training row, and each label row becomes {@code [teacher | true label]} (K + K
     * values), the layout {@code io.candor.distill.DistillationLoss} reads. Null: plain labels.
     */
    public static Result fit(SparkSession spark, PreparedData data, Dataset<Row> teacherOutputs,
                             MultiLayerNetwork network, TrainSpec train, int epochs, long seed, EpochHook hook) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int workers = train.workers() > 0 ? train.workers() : Math.max(1, jsc.defaultParallelism());
        JavaRDD<DataSet> minibatches = minibatches(data, teacherOutputs, train.batchSize(), workers, seed);
        long batchCount = minibatches.count();

        CollectionAccumulator<String> fits = spark.sparkContext().collectionAccumulator("candor.training.fits");
        TrainingTrace trace = new TrainingTrace(fits);
        ParameterAveragingTrainingMaster master = new ParameterAveragingTrainingMaster.Builder(workers, train.batchSize())
                .batchSizePerWorker(train.batchSize())
                .averagingFrequency(train.averagingFrequency())
                .workerPrefetchNumBatches(0)
                .rddTrainingApproach(RDDTrainingApproach.Direct)
                .repartionData(Repartition.Never)
                .storageLevel(null)
                .rngSeed(seed)
                .trainingHooks(trace)
                .build();
        SparkDl4jMultiLayer sparkNetwork = new SparkDl4jMultiLayer(jsc, network, master);

        LOG.info("training {} parameters on {} rows in {} minibatches across {} workers, {} epochs",
                network.numParams(), data.trainRows(), batchCount, workers, epochs);
        long start = System.nanoTime();
        for (int epoch = 1; epoch <= epochs; epoch++) {
            sparkNetwork.fit(minibatches);
            hook.afterEpoch(epoch, sparkNetwork.getNetwork());
            double elapsed = (System.nanoTime() - start) / 1e9;
            double eta = elapsed / epoch * (epochs - epoch);
            LOG.info("epoch {}/{}: last averaged minibatch loss {} ({}s elapsed, ETA {}s)", epoch, epochs,
                    String.format("%.5f", sparkNetwork.getScore()), Math.round(elapsed), Math.round(eta));
        }
        minibatches.unpersist(false);
        TrainingTrace.Summary summary = trace.summary();
        LOG.info("parameter averaging: {} rounds, {} of them across >= 2 workers, {} minibatches fitted",
                summary.averagingRounds(), summary.multiWorkerRounds(), summary.minibatches());
        return new Result(sparkNetwork.getNetwork(), summary, workers, Math.round((System.nanoTime() - start) / 1e9));
    }

    /** The training split as minibatch DataSets, one partition per worker, in a seeded order. */
    static JavaRDD<DataSet> minibatches(PreparedData data, Dataset<Row> teacherOutputs, int batchSize, int workers,
                                        long seed) {
        var order = udf((UDF1<Long, Long>) id -> Seeds.derive(seed, SHUFFLE_STREAM, id), DataTypes.LongType);
        int width = data.featurizer().layout().size();
        int outputs = data.outputs();
        boolean classification = data.isClassification();
        var normalizer = data.featurizer().normalizer();
        Dataset<Row> train = data.split(PreparedData.TRAIN)
                .select(TabularReader.ROW_ID, Featurizer.FEATURES, TabularReader.LABEL);
        if (teacherOutputs != null) {
            train = train.join(teacherOutputs.select(TabularReader.ROW_ID, TEACHER), TabularReader.ROW_ID);
        }
        JavaRDD<Row> rows = train
                .repartition(workers, col(TabularReader.ROW_ID))
                .sortWithinPartitions(order.apply(col(TabularReader.ROW_ID)))
                .javaRDD();
        JavaRDD<DataSet> batches = rows.mapPartitions((Iterator<Row> it) -> {
            List<DataSet> out = new ArrayList<>();
            List<Row> buffer = new ArrayList<>(batchSize);
            while (it.hasNext()) {
                buffer.add(it.next());
                if (buffer.size() == batchSize || !it.hasNext()) {
                    out.add(toDataSet(buffer, width, outputs, classification, normalizer));
                    buffer.clear();
                }
            }
            return out.iterator();
        });
        return batches.persist(StorageLevel.MEMORY_ONLY());
    }

    private static DataSet toDataSet(List<Row> rows, int width, int outputs, boolean classification,
                                     io.candor.data.Normalizer normalizer) {
        int n = rows.size();
        boolean soft = rows.get(0).size() > 3;
        int labelWidth = soft ? 2 * outputs : outputs;
        int offset = soft ? outputs : 0;
        float[] features = new float[n * width];
        float[] labels = new float[n * labelWidth];
        for (int i = 0; i < n; i++) {
            Vector v = (Vector) rows.get(i).get(1);
            for (int j = 0; j < width; j++) {
                features[i * width + j] = (float) v.apply(j);
            }
            double label = rows.get(i).getDouble(2);
            if (classification) {
                labels[i * labelWidth + offset + (int) label] = 1f;
            } else {
                labels[i * labelWidth + offset] = (float) normalizer.normalizeLabel(label);
            }
            if (soft) {
                List<Double> teacher = rows.get(i).getList(3);
                for (int j = 0; j < outputs; j++) {
                    labels[i * labelWidth + j] = teacher.get(j).floatValue();
                }
            }
        }
        return new DataSet(Nd4j.create(features, new long[] {n, width}, 'c'),
                Nd4j.create(labels, new long[] {n, labelWidth}, 'c'));
    }
}
