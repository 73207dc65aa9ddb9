package io.candor.train;

import io.candor.data.Featurizer;
import io.candor.data.PreparedData;
import io.candor.data.TabularReader;
import io.candor.model.ModelSpec;
import io.candor.model.NetworkFactory;
import io.candor.util.Seeds;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaRDDLike;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.rdd.PartitionPruningRDD;
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
import scala.Tuple2;
import scala.runtime.AbstractFunction1;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Trains a network across Spark executors by synchronous parameter averaging (dl4j-spark's
 * {@link ParameterAveragingTrainingMaster}): the training rows are dealt by (seed, row id) to averaging rounds of about
 * averaging-frequency minibatches per worker, ordered by (seed, row id) and cut into minibatches, afresh each epoch;
 * each round fits its workers' minibatches and averages their parameters and updater state.
 * Everything random derives from the run seed, so the same conf on the same topology trains the same network.
 */
public final class DistributedTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(DistributedTrainer.class);
    private static final long SHUFFLE_STREAM = 0x5AFF1EL;
    private static final long SPLIT_STREAM = 0x5B117L;
    private static final long WORKER_STREAM = 0x3084E5L;
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
        int splits = splits(data.trainRows(), train, workers);
        CollectionAccumulator<String> fits = spark.sparkContext().collectionAccumulator("candor.training.fits");
        TrainingTrace trace = new TrainingTrace(fits);
        ParameterAveragingTrainingMaster master = new UncountedTrainingMaster(
                new ParameterAveragingTrainingMaster.Builder(workers, train.batchSize())
                .batchSizePerWorker(train.batchSize())
                // Candor cuts the splits itself (see Minibatches); a frequency no split reaches keeps dl4j-spark
                // from splitting again or capping a worker's minibatches.
                .averagingFrequency(Integer.MAX_VALUE / (train.batchSize() * workers))
                .workerPrefetchNumBatches(0)
                .rddTrainingApproach(RDDTrainingApproach.Direct)
                .repartionData(Repartition.Never)
                .storageLevel(null)
                .rngSeed(seed)
                .trainingHooks(trace));
        SparkDl4jMultiLayer sparkNetwork = new SparkDl4jMultiLayer(jsc, network, master);

        LOG.info("training {} parameters on {} rows in minibatches of {} across {} workers, {} epochs of {} "
                        + "averaging rounds", network.numParams(), data.trainRows(), train.batchSize(), workers, epochs,
                splits);
        long start = System.nanoTime();
        int rounds = epochs * splits;
        for (int epoch = 1; epoch <= epochs; epoch++) {
            Minibatches minibatches = minibatches(data, teacherOutputs, train.batchSize(), splits, workers, seed, epoch);
            for (int i = 0; i < splits; i++) {
                sparkNetwork.fit(minibatches.split(i));
                int done = (epoch - 1) * splits + i + 1;
                if (splits > 1) {
                    double elapsed = (System.nanoTime() - start) / 1e9;
                    LOG.info("epoch {}/{}: averaging round {}/{} ({}s elapsed, ETA {}s)", epoch, epochs, i + 1,
                            splits, Math.round(elapsed), Math.round(elapsed / done * (rounds - done)));
                }
            }
            hook.afterEpoch(epoch, sparkNetwork.getNetwork());
            double elapsed = (System.nanoTime() - start) / 1e9;
            double eta = elapsed / epoch * (epochs - epoch);
            LOG.info("epoch {}/{}: last averaged minibatch loss {} ({}s elapsed, ETA {}s)", epoch, epochs,
                    String.format("%.5f", sparkNetwork.getScore()), Math.round(elapsed), Math.round(eta));
        }
        TrainingTrace.Summary summary = trace.summary();
        LOG.info("parameter averaging: {} rounds, {} of them across >= 2 workers, {} minibatches fitted",
                summary.averagingRounds(), summary.multiWorkerRounds(), summary.minibatches());
        return new Result(sparkNetwork.getNetwork(), summary, workers, Math.round((System.nanoTime() - start) / 1e9));
    }

    /**
     * One epoch's training split as minibatches in {@code splits * workers} partitions: partition {@code s * workers + w}
     * holds worker w's minibatches of averaging round s. Each row's round, worker and place derive from (seed, epoch,
     * row id), so every partition holds about averaging-frequency minibatches and one round reads only its own
     * partitions' shuffle blocks: the cost of a round does not grow with the data (dl4j-spark's own split reads the
     * whole RDD per round).
     */
    record Minibatches(JavaRDD<DataSet> batches, int splits, int workers) {
        JavaRDD<DataSet> split(int split) {
            return PartitionPruningRDD.create(batches.rdd(), new InSplit(split, workers)).toJavaRDD();
        }
    }

    /**
     * dl4j-spark counts the DataSets of every RDD it is given, only to decide whether to split it into averaging
     * rounds: one of the two Spark jobs of every round, which reads the round's shuffle blocks and builds its
     * minibatches a second time (on the adult audit, 468 jobs and 15 s). Candor cuts the rounds itself and sets an
     * averaging frequency no round reaches, so the answer is always "one split", and 1 gives it without the job. The
     * split dl4j-spark then makes is the RDD itself, and its seeded random draw is taken as before, so the trained
     * network is unchanged.
     */
    private static final class UncountedTrainingMaster extends ParameterAveragingTrainingMaster {
        private static final long serialVersionUID = 1L;

        UncountedTrainingMaster(ParameterAveragingTrainingMaster.Builder builder) {
            super(builder);
        }

        @Override
        protected <T, R extends JavaRDDLike<T, R>> long getTotalDataSetObjectCount(JavaRDDLike<T, R> data) {
            return 1;
        }
    }

    /** Partition filter of one split: Scala's {@code Int => Boolean}, serialisable for the pruned RDD. */
    private static final class InSplit extends AbstractFunction1<Object, Object> implements Serializable {
        private final int split;
        private final int workers;

        InSplit(int split, int workers) {
            this.split = split;
            this.workers = workers;
        }

        @Override
        public Object apply(Object partition) {
            return (Integer) partition / workers == split;
        }
    }

    /** A training row on its way to a minibatch: its network input and target. */
    record BatchRow(float[] features, float[] labels) implements Serializable {
    }

    /** Sort key of a shuffled row: its partition first, so one shuffle both places and orders the rows. */
    record BatchKey(int partition, long order, long id) implements Serializable, Comparable<BatchKey> {
        @Override
        public int compareTo(BatchKey o) {
            int c = Integer.compare(partition, o.partition);
            if (c == 0) {
                c = Long.compare(order, o.order);
            }
            return c != 0 ? c : Long.compare(id, o.id);
        }
    }

    private static final class ByPartition extends Partitioner {
        private final int partitions;

        ByPartition(int partitions) {
            this.partitions = partitions;
        }

        @Override
        public int numPartitions() {
            return partitions;
        }

        @Override
        public int getPartition(Object key) {
            return ((BatchKey) key).partition();
        }
    }

    /** Averaging rounds per epoch: enough that each worker fits at most about averaging-frequency minibatches a round. */
    static int splits(long trainRows, TrainSpec spec, int workers) {
        long rowsPerRound = (long) workers * spec.averagingFrequency() * spec.batchSize();
        return (int) Math.max(1, (trainRows + rowsPerRound - 1) / rowsPerRound);
    }

    static Minibatches minibatches(PreparedData data, Dataset<Row> teacherOutputs, int batchSize, int splits,
                                   int workers, long seed, int epoch) {
        int width = data.featurizer().layout().size();
        int outputs = data.outputs();
        boolean classification = data.isClassification();
        var normalizer = data.featurizer().normalizer();
        Dataset<Row> train = data.split(PreparedData.TRAIN)
                .select(TabularReader.ROW_ID, Featurizer.FEATURES, TabularReader.LABEL);
        boolean soft = teacherOutputs != null;
        if (soft) {
            train = train.join(teacherOutputs.select(TabularReader.ROW_ID, TEACHER), TabularReader.ROW_ID);
        }
        JavaPairRDD<BatchKey, BatchRow> keyed = train.javaRDD().mapToPair(row -> {
            long id = row.getLong(0);
            int split = (int) Math.floorMod(Seeds.derive(seed, SPLIT_STREAM, epoch, id), (long) splits);
            int worker = (int) Math.floorMod(Seeds.derive(seed, WORKER_STREAM, epoch, id), (long) workers);
            long order = Seeds.derive(seed, SHUFFLE_STREAM, epoch, id);
            BatchRow r = toBatchRow(row, width, outputs, classification, soft, normalizer);
            return new Tuple2<>(new BatchKey(split * workers + worker, order, id), r);
        });
        JavaRDD<DataSet> batches = keyed
                .repartitionAndSortWithinPartitions(new ByPartition(splits * workers),
                        (java.util.Comparator<BatchKey> & Serializable) BatchKey::compareTo)
                .values()
                .mapPartitions((Iterator<BatchRow> rows) -> new BatchIterator(rows, batchSize));
        return new Minibatches(batches, splits, workers);
    }

    private static BatchRow toBatchRow(Row row, int width, int outputs, boolean classification,
                                       boolean soft, io.candor.data.Normalizer normalizer) {
        int labelWidth = soft ? 2 * outputs : outputs;
        int offset = soft ? outputs : 0;
        float[] features = new float[width];
        Vector v = (Vector) row.get(1);
        for (int j = 0; j < width; j++) {
            features[j] = (float) v.apply(j);
        }
        float[] labels = new float[labelWidth];
        double label = row.getDouble(2);
        if (classification) {
            labels[offset + (int) label] = 1f;
        } else {
            labels[offset] = (float) normalizer.normalizeLabel(label);
        }
        if (soft) {
            List<Double> teacher = row.getList(3);
            for (int j = 0; j < outputs; j++) {
                labels[j] = teacher.get(j).floatValue();
            }
        }
        return new BatchRow(features, labels);
    }

    /**
     * Cuts a partition's ordered rows into minibatches as they stream by: one minibatch in memory at a time. (The
     * dl4j-spark worker re-batches what it receives to batchSizePerWorker rows, so these sizes do not reach the fit.)
     */
    private static final class BatchIterator implements Iterator<DataSet> {
        private final Iterator<BatchRow> rows;
        private final int batchSize;

        BatchIterator(Iterator<BatchRow> rows, int batchSize) {
            this.rows = rows;
            this.batchSize = batchSize;
        }

        @Override
        public boolean hasNext() {
            return rows.hasNext();
        }

        @Override
        public DataSet next() {
            List<BatchRow> batch = new ArrayList<>(batchSize);
            while (batch.size() < batchSize && rows.hasNext()) {
                batch.add(rows.next());
            }
            int n = batch.size();
            int width = batch.get(0).features().length;
            int labelWidth = batch.get(0).labels().length;
            float[] features = new float[n * width];
            float[] labels = new float[n * labelWidth];
            for (int i = 0; i < n; i++) {
                System.arraycopy(batch.get(i).features(), 0, features, i * width, width);
                System.arraycopy(batch.get(i).labels(), 0, labels, i * labelWidth, labelWidth);
            }
            return new DataSet(Nd4j.create(features, new long[] {n, width}, 'c'),
                    Nd4j.create(labels, new long[] {n, labelWidth}, 'c'));
        }
    }
}
