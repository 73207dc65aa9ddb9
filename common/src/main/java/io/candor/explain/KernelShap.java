package io.candor.explain;

import io.candor.data.Featurizer;
import io.candor.data.TabularReader;
import io.candor.explain.shapley.BackgroundSummary;
import io.candor.model.Network;
import io.candor.util.InputException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import scala.Option;

import java.io.IOException;
import java.io.UncheckedIOException;

import static org.apache.spark.sql.functions.col;

/**
 * KernelSHAP (Lundberg &amp; Lee 2017) for a user's own DL4J {@link MultiLayerNetwork} on their own DataFrame, as a
 * Spark ML {@link Estimator}: no Candor conf or artifact is involved. {@code fit} summarises the {@code featuresCol}
 * vectors with k-means ({@code backgroundSize} centres weighted by cluster size, deterministic for a seed;
 * see {@link BackgroundSummary}) and returns a {@link KernelShapModel}; only the centres reach the driver.
 *
 * <pre>{@code
 * PipelineModel fitted = new Pipeline().setStages(new PipelineStage[] {
 *         new KernelShap().setNetwork(network).setBackgroundSize(10)}).fit(df);
 * fitted.write().overwrite().save(path);
 * Dataset<Row> explained = PipelineModel.load(path).transform(df);
 * }</pre>
 *
 * <p>The network is held as its ModelSerializer zip (without updater state), so the stage serialises to tasks and
 * saves with {@code network.zip} beside the Spark ML metadata.
 */
public final class KernelShap extends Estimator<KernelShapModel> implements KernelShapParams, MLWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final Declared declared;
    private byte[] networkZip;
    /** The network's inputs and outputs, read once from {@code networkZip}. */
    private int[] shape;

    public KernelShap() {
        this(Identifiable.randomUID("kernelShap"));
    }

    private KernelShap(String uid) {
        this.uid = uid;
        this.declared = new Declared(this);
    }

    @Override
    public Declared declared() {
        return declared;
    }

    @Override
    public String uid() {
        return uid;
    }

    /** The network to explain: its output for a batch of features vectors is what the values decompose. */
    public KernelShap setNetwork(MultiLayerNetwork network) {
        if (network == null) {
            throw new InputException("KernelShap.setNetwork: network is null; expected an initialised "
                    + "MultiLayerNetwork");
        }
        byte[] zip = new Network(network).toBytes();
        this.shape = KernelShapModel.shapeOf(zip);
        this.networkZip = zip;
        return this;
    }

    /** Whether a network has been set. */
    public boolean hasNetwork() {
        return networkZip != null;
    }

    public KernelShap setFeaturesCol(String value) { set(featuresCol(), value); return this; }
    public KernelShap setIdCol(String value) { set(idCol(), value); return this; }
    public KernelShap setOutputCol(String value) { set(outputCol(), value); return this; }
    public KernelShap setBaseValueCol(String value) { set(baseValueCol(), value); return this; }
    public KernelShap setPredictionCol(String value) { set(predictionCol(), value); return this; }
    public KernelShap setSeed(long value) { set(seed(), value); return this; }
    public KernelShap setMaxCoalitions(int value) { set(maxCoalitions(), value); return this; }
    public KernelShap setBackgroundSize(int value) { set(backgroundSize(), value); return this; }
    public KernelShap setBatchValues(long value) { set(batchValues(), value); return this; }
    public KernelShap setOutputs(int... value) { set(outputs(), value.clone()); return this; }

    @Override
    public StructType transformSchema(StructType schema) {
        StructType out = validateAndTransformSchema(schema);
        if (networkZip != null) {
            KernelShapModel.checkAgainstNetwork(this, shape[0], shape[1]);
        }
        return out;
    }

    @Override
    public KernelShapModel fit(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        if (networkZip == null) {
            throw new InputException("KernelShap: no network; expected setNetwork(MultiLayerNetwork) before fit");
        }
        Dataset<Row> rows = dataset.select(col(getIdCol()).cast(DataTypes.LongType).as(TabularReader.ROW_ID),
                col(getFeaturesCol()).as(Featurizer.FEATURES));
        BackgroundSummary.Summary summary = BackgroundSummary.of(rows,
                ShapleySpec.BackgroundMethod.KMEANS, getBackgroundSize(), getSeed(),
                "the DataFrame given to KernelShap.fit (Param backgroundSize)");
        KernelShapModel model = new KernelShapModel(uid, networkZip, summary.rows(), summary.weights());
        return copyValues(model, ParamMap.empty()).setParent(this);
    }

    @Override
    public KernelShap copy(ParamMap extra) {
        KernelShap copy = copyValues(new KernelShap(uid), extra);
        copy.networkZip = networkZip;
        copy.shape = shape;
        return copy;
    }

    @Override
    public MLWriter write() {
        return new Writer(this);
    }

    public static MLReader<KernelShap> read() {
        return new Reader();
    }

    public static KernelShap load(String path) {
        return read().load(path);
    }

    private static final class Writer extends MLWriter {
        private final KernelShap stage;

        Writer(KernelShap stage) {
            this.stage = stage;
        }

        @Override
        public void saveImpl(String path) {
            StageFiles.save(stage, path, sc(), stage.networkZip);
        }
    }

    private static final class Reader extends MLReader<KernelShap> {
        @Override
        public KernelShap load(String path) {
            var metadata = DefaultParamsReader$.MODULE$.loadMetadata(path, sc(), KernelShap.class.getName());
            KernelShap stage = new KernelShap(metadata.uid());
            metadata.getAndSetParams(stage, Option.empty());
            stage.networkZip = StageFiles.networkIfSaved(sc(), path);
            if (stage.networkZip != null) {
                stage.shape = KernelShapModel.shapeOf(stage.networkZip);
            }
            return stage;
        }
    }
}
