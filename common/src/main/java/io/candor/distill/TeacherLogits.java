package io.candor.distill;

import io.candor.data.Featurizer;
import io.candor.data.PreparedData;
import io.candor.data.TabularReader;
import io.candor.model.BatchedInference;
import io.candor.model.ExecutorNetworks;
import io.candor.model.Network;
import io.candor.train.DistributedTrainer;
import io.candor.util.Hashing;
import io.candor.util.InputException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The teacher's outputs on every training row, computed once by distributed inference (the teacher broadcast, rebuilt
 * once per executor, run in batches) and stored as a Parquet table keyed by {@code row_id}, so students can be trained
 * again without the teacher. Classification stores logits (the output layer's pre-softmax values); regression stores
 * the outputs. Each row also records the data fingerprint and the teacher's sha256: a table of other data is an
 * error, a table of another teacher is recomputed.
 */
public final class TeacherLogits {
    public static final String DATA_FINGERPRINT = "data_fingerprint";
    public static final String TEACHER_SHA256 = "teacher_sha256";
    private static final Logger LOG = LoggerFactory.getLogger(TeacherLogits.class);
    private static final StructType SCHEMA = new StructType()
            .add(TabularReader.ROW_ID, DataTypes.LongType, false)
            .add(DistributedTrainer.TEACHER, DataTypes.createArrayType(DataTypes.DoubleType, false), false)
            .add(DATA_FINGERPRINT, DataTypes.StringType, false)
            .add(TEACHER_SHA256, DataTypes.StringType, false);

    private TeacherLogits() {
    }

    /** The table and whether this call ran the teacher to make it. */
    public record Table(Dataset<Row> rows, boolean computed, String path) {
    }

    /**
     * Reads the table at {@code path} if it holds this data's training rows from this teacher, else computes and
     * (atomically) writes it.
     *
     * @throws InputException if the table was computed on other data
     */
    public static Table loadOrCompute(SparkSession spark, String path, byte[] teacherZip, PreparedData data) {
        String teacherSha = Hashing.sha256(teacherZip);
        Path table = new Path(path);
        try {
            FileSystem fs = table.getFileSystem(spark.sparkContext().hadoopConfiguration());
            if (fs.exists(table)) {
                Dataset<Row> stored = spark.read().schema(SCHEMA).parquet(path);
                List<Row> keys = stored.select(DATA_FINGERPRINT, TEACHER_SHA256).distinct().collectAsList();
                if (keys.size() == 1 && !keys.get(0).getString(0).equals(data.fingerprint())) {
                    throw new InputException("teacher logits " + path + ": computed on data with fingerprint "
                            + keys.get(0).getString(0) + ", but dataset " + data.spec().path() + " has "
                            + data.fingerprint() + " (expected the logits of this dataset; remove the table or set"
                            + " distill.logits-path)");
                }
                if (keys.size() == 1 && keys.get(0).getString(1).equals(teacherSha)
                        && stored.count() == data.trainRows()) {
                    LOG.info("teacher logits: reusing {} rows from {}", data.trainRows(), path);
                    return new Table(stored.select(TabularReader.ROW_ID, DistributedTrainer.TEACHER), false, path);
                }
                LOG.info("teacher logits at {} are from another teacher or split; recomputing", path);
            }
            Dataset<Row> computed = compute(spark, teacherZip, data, teacherSha);
            Path staging = new Path(table.getParent(), "." + table.getName() + ".staging");
            fs.delete(staging, true);
            computed.write().parquet(staging.toString());
            if (fs.exists(table) && !fs.delete(table, true)) {
                throw new IOException("cannot replace " + table);
            }
            if (!fs.rename(staging, table)) {
                throw new IOException("cannot move " + staging + " to " + table);
            }
            return new Table(spark.read().schema(SCHEMA).parquet(path)
                    .select(TabularReader.ROW_ID, DistributedTrainer.TEACHER), true, path);
        } catch (IOException e) {
            throw new IllegalStateException("teacher logits " + path + ": " + e.getMessage(), e);
        }
    }

    /** The teacher's logits (classification) or outputs (regression) on every training row, by distributed inference. */
    static Dataset<Row> compute(SparkSession spark, byte[] teacherZip, PreparedData data, String teacherSha) {
        byte[] logitsZip = new Network(logitNetwork(Network.fromBytes(teacherZip, "teacher").multiLayer())).toBytes();
        String key = Hashing.sha256(logitsZip);
        int width = data.featurizer().layout().size();
        String fingerprint = data.fingerprint();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<byte[]> zip = jsc.broadcast(logitsZip);
        var rows = data.split(PreparedData.TRAIN).select(TabularReader.ROW_ID, Featurizer.FEATURES).javaRDD()
                .mapPartitions(it -> {
                    Network network = ExecutorNetworks.get(key, zip::value);
                    return BatchedInference.map(it, 1, width, network, BatchedInference.DEFAULT_BATCH,
                            (row, output) -> {
                                List<Double> values = new ArrayList<>(output.length);
                                for (float v : output) {
                                    values.add((double) v);
                                }
                                // Spark's row encoder takes a Scala Seq for an array column.
                                return RowFactory.create(row.getLong(0),
                                        scala.collection.JavaConverters.asScalaBuffer(values).toSeq(), fingerprint,
                                        teacherSha);
                            });
                });
        LOG.info("teacher logits: distributed inference over {} training rows", data.trainRows());
        return spark.createDataFrame(rows, SCHEMA);
    }

    /** A copy of a classifier whose softmax output layer emits its logits instead; other networks unchanged. */
    public static MultiLayerNetwork logitNetwork(MultiLayerNetwork network) {
        MultiLayerConfiguration conf = network.getLayerWiseConfigurations().clone();
        var last = conf.getConf(conf.getConfs().size() - 1).getLayer();
        if (last instanceof BaseOutputLayer out && out.getActivationFn() instanceof ActivationSoftmax) {
            out.setActivationFn(new ActivationIdentity());
        }
        MultiLayerNetwork copy = new MultiLayerNetwork(conf);
        copy.init(network.params().dup(), false);
        return copy;
    }
}
