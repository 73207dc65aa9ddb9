package io.candor.explain;

import io.candor.config.Knobs;
import io.candor.explain.shapley.KernelShapEstimator;
import io.candor.explain.shapley.ShapleyParts;
import io.candor.explain.shapley.ShapleyRow;
import io.candor.model.Network;
import io.candor.model.SingleThreadedBlas;
import io.candor.util.Hashing;
import io.candor.util.InputException;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import scala.Option;
import scala.collection.JavaConverters;
import scala.collection.Seq;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * KernelSHAP values of a user's DL4J network, fitted by {@link KernelShap}: a Spark ML {@link Model} holding the
 * network (ModelSerializer zip) and the weighted KMeans background. {@code transform} is lazy: it appends the
 * columns described in {@link KernelShapParams} through {@code mapPartitions}, and no Spark job runs until an action.
 * Each task rebuilds the network once per executor thread (double precision, BLAS on one thread, see
 * {@link NetworkBatchModel}) and explains its rows with {@link KernelShapEstimator}.
 *
 * <p>Determinism: a row's coalitions come from {@code (seed, row id)}, and each row is evaluated in model calls of
 * its own (never batched with other rows), so its values are the same bits whatever the partitioning, the order of
 * rows, or the JVM. The cost is that a row whose coalitions × background fill less than one batch
 * ({@code batchValues}) makes a smaller network call than batching across rows would.
 *
 * <p>Saved as Spark ML metadata (Params), {@code network.zip} and {@code background} (Parquet: index, weight,
 * values), so it loads back with {@link #load} or inside a {@code PipelineModel}.
 */
public final class KernelShapModel extends Model<KernelShapModel> implements KernelShapParams, MLWritable {
    private static final long serialVersionUID = 1L;
    /** Rows one task explains per entry into single-threaded BLAS (entering costs about a millisecond). */
    private static final int ROWS_PER_BLAS_SECTION = 256;
    private static final String BACKGROUND_DIR = "background";

    private final String uid;
    private final Declared declared;
    private final byte[] networkZip;
    private final double[][] background;
    private final double[] weights;
    private final int inputs;
    private final int networkOutputs;

    KernelShapModel(String uid, byte[] networkZip, double[][] background, double[] weights) {
        this.uid = uid;
        this.declared = new Declared(this);
        this.networkZip = networkZip;
        this.background = background;
        this.weights = weights;
        int[] shape = shapeOf(networkZip);
        this.inputs = shape[0];
        this.networkOutputs = shape[1];
        if (background.length == 0 || background[0].length != inputs) {
            throw new InputException("KernelShap: the background has " + (background.length == 0 ? "no rows"
                    : "rows of " + background[0].length + " values") + "; expected rows of the network's " + inputs
                    + " inputs (is featuresCol the network's input vector?)");
        }
    }

    /** Inputs and outputs of a MultiLayerNetwork zip. */
    static int[] shapeOf(byte[] zip) {
        MultiLayerNetwork mln = Network.fromBytes(zip, "KernelShap network").multiLayer();
        if (mln == null) {
            throw new InputException("KernelShap network: is a ComputationGraph; expected a MultiLayerNetwork");
        }
        return new int[] {mln.layerInputSize(0), mln.layerSize(mln.getnLayers() - 1)};
    }

    @Override
    public Declared declared() {
        return declared;
    }

    @Override
    public String uid() {
        return uid;
    }

    public KernelShapModel setOutputCol(String value) { set(outputCol(), value); return this; }
    public KernelShapModel setBaseValueCol(String value) { set(baseValueCol(), value); return this; }
    public KernelShapModel setPredictionCol(String value) { set(predictionCol(), value); return this; }

    /** Outputs of the network (classes, or 1 for regression). */
    public int networkOutputs() {
        return networkOutputs;
    }

    /** A copy of the background rows (KMeans centres). */
    public double[][] backgroundRows() {
        return Arrays.stream(background).map(double[]::clone).toArray(double[][]::new);
    }

    /** A copy of the background weights (cluster sizes; normalised when used). */
    public double[] backgroundWeights() {
        return weights.clone();
    }

    /** The explained outputs: the {@code outputs} Param, or every output when it is empty. */
    int[] explainedOutputs() {
        int[] wanted = getOutputs();
        if (wanted.length == 0) {
            wanted = new int[networkOutputs];
            Arrays.setAll(wanted, o -> o);
        }
        return wanted;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        StructType out = validateAndTransformSchema(schema);
        checkAgainstNetwork(this, inputs, networkOutputs);
        return out;
    }

    /** Checks the Params that depend on the network: outputs in range, enough coalitions for sampling. */
    static void checkAgainstNetwork(KernelShapParams stage, int inputs, int outputs) {
        String name = stage.getClass().getSimpleName();
        for (int o : stage.getOutputs()) {
            if (o >= outputs) {
                throw new InputException(name + ": outputs " + Arrays.toString(stage.getOutputs()) + " has " + o
                        + ", out of range; expected 0.." + (outputs - 1) + " (the network has " + outputs
                        + " outputs)");
            }
        }
        long least = KernelShapEstimator.minCoalitions(inputs);
        if (stage.getMaxCoalitions() < least) {
            throw new InputException(name + ": maxCoalitions " + stage.getMaxCoalitions() + " is below " + least
                    + ", the least KernelSHAP needs for " + inputs + " features (2M+2, or 2^M-2 to enumerate all)");
        }
        if (stage.getBatchValues() < inputs + (long) outputs) {
            throw new InputException(name + ": batchValues " + stage.getBatchValues() + " is below one network row ("
                    + inputs + " inputs + " + outputs + " outputs)");
        }
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType in = dataset.schema();
        StructType out = transformSchema(in);
        SparkContext sc = dataset.sparkSession().sparkContext();
        Broadcast<byte[]> zip = JavaSparkContext.fromSparkContext(sc).broadcast(networkZip);
        List<int[]> singletons = new ArrayList<>();
        for (int j = 0; j < inputs; j++) {
            singletons.add(new int[] {j});
        }
        RowExplainer explainer = new RowExplainer(
                new ArtifactModelSource(zip, Hashing.sha256(networkZip), inputs, networkOutputs, null),
                ShapleyParts.of(singletons, inputs, background, weights),
                new long[] {getMaxCoalitions(), getBatchValues(), getSeed()},
                explainedOutputs(), in.fieldIndex(getFeaturesCol()), in.fieldIndex(getIdCol()), in.fields().length,
                getFeaturesCol());
        return dataset.toDF().mapPartitions(explainer, Encoders.row(out));
    }

    /** One task's rows in, the same rows with their Shapley values appended out, in the same order. */
    private static final class RowExplainer implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final ModelSource source;
        private final ShapleyParts parts;
        /** maxCoalitions, batchValues and seed: {@link KernelShapEstimator.Settings} is not serialisable. */
        private final long[] settings;
        private final int[] outputs;
        private final int featuresIndex;
        private final int idIndex;
        private final int width;
        private final String featuresCol;

        RowExplainer(ModelSource source, ShapleyParts parts, long[] settings, int[] outputs,
                     int featuresIndex, int idIndex, int width, String featuresCol) {
            this.source = source;
            this.parts = parts;
            this.settings = settings;
            this.outputs = outputs;
            this.featuresIndex = featuresIndex;
            this.idIndex = idIndex;
            this.width = width;
            this.featuresCol = featuresCol;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            if (!rows.hasNext()) {
                return Collections.emptyIterator();
            }
            KernelShapEstimator estimator = parts.kernel(source.open(), new KernelShapEstimator.Settings(
                    (int) settings[0], settings[1], settings[2], Knobs.SHAPLEY_CONVERGENCE_THRESHOLD.defaultValue()));
            return new Iterator<>() {
                private Iterator<Row> section = Collections.emptyIterator();

                @Override
                public boolean hasNext() {
                    return section.hasNext() || rows.hasNext();
                }

                @Override
                public Row next() {
                    if (!section.hasNext()) {
                        if (!rows.hasNext()) {
                            throw new NoSuchElementException();
                        }
                        List<Row> in = new ArrayList<>(ROWS_PER_BLAS_SECTION);
                        while (rows.hasNext() && in.size() < ROWS_PER_BLAS_SECTION) {
                            in.add(rows.next());
                        }
                        section = SingleThreadedBlas.call(() -> explain(estimator, in)).iterator();
                    }
                    return section.next();
                }
            };
        }

        private List<Row> explain(KernelShapEstimator estimator, List<Row> in) {
            List<Row> out = new ArrayList<>(in.size());
            for (Row row : in) {
                if (row.isNullAt(idIndex) || row.isNullAt(featuresIndex)) {
                    throw new InputException("KernelShapModel: a row has a null " + (row.isNullAt(idIndex) ? "id"
                            : featuresCol + " vector") + "; expected every row to have both");
                }
                long id = ((Number) row.get(idIndex)).longValue();
                double[] x = ((Vector) row.get(featuresIndex)).toArray();
                if (x.length != parts.inputs()) {
                    throw new InputException("KernelShapModel: row id " + id + " has " + x.length + " values in "
                            + featuresCol + "; expected the network's " + parts.inputs() + " inputs");
                }
                // One row per explain call: its network calls hold only its own coalitions, so its bits do not
                // depend on which rows share its partition.
                List<ShapleyRow> explained = estimator.explain(new double[][] {x}, new long[] {id}, outputs);
                List<Seq<Double>> values = new ArrayList<>(outputs.length);
                List<Double> base = new ArrayList<>(outputs.length);
                List<Double> prediction = new ArrayList<>(outputs.length);
                for (ShapleyRow r : explained) {
                    values.add(seq(Arrays.stream(r.phi()).boxed().toList()));
                    base.add(r.baseValue());
                    prediction.add(r.prediction());
                }
                Object[] fields = new Object[width + 3];
                for (int i = 0; i < width; i++) {
                    fields[i] = row.get(i);
                }
                fields[width] = seq(values);
                fields[width + 1] = seq(base);
                fields[width + 2] = seq(prediction);
                out.add(RowFactory.create(fields));
            }
            return out;
        }
    }

    /** A Row's external form of an array column is a Scala Seq. */
    private static <T> Seq<T> seq(List<T> values) {
        return JavaConverters.asScalaBuffer(values).toSeq();
    }

    @Override
    public KernelShapModel copy(ParamMap extra) {
        KernelShapModel copy = copyValues(new KernelShapModel(uid, networkZip, background, weights), extra);
        return hasParent() ? copy.setParent(parent()) : copy;
    }

    @Override
    public MLWriter write() {
        return new Writer(this);
    }

    public static MLReader<KernelShapModel> read() {
        return new Reader();
    }

    public static KernelShapModel load(String path) {
        return read().load(path);
    }

    private static final class Writer extends MLWriter {
        private final KernelShapModel model;

        Writer(KernelShapModel model) {
            this.model = model;
        }

        @Override
        public void saveImpl(String path) {
            StageFiles.save(model, path, sc(), model.networkZip);
            StructType schema = new StructType().add("index", DataTypes.IntegerType, false)
                    .add("weight", DataTypes.DoubleType, false)
                    .add("values", DataTypes.createArrayType(DataTypes.DoubleType, false), false);
            List<Row> rows = new ArrayList<>();
            for (int b = 0; b < model.background.length; b++) {
                rows.add(RowFactory.create(b, model.weights[b], Arrays.stream(model.background[b]).boxed().toList()));
            }
            sparkSession().createDataFrame(rows, schema).coalesce(1).write()
                    .parquet(new Path(path, BACKGROUND_DIR).toString());
        }
    }

    private static final class Reader extends MLReader<KernelShapModel> {
        @Override
        public KernelShapModel load(String path) {
            var metadata = DefaultParamsReader$.MODULE$.loadMetadata(path, sc(), KernelShapModel.class.getName());
            byte[] zip = StageFiles.readBytes(sc(), new Path(path, StageFiles.NETWORK_FILE));
            SparkSession spark = sparkSession();
            // The background is backgroundSize rows, so collecting it is bounded.
            List<Row> rows = spark.read().parquet(new Path(path, BACKGROUND_DIR).toString()).orderBy("index")
                    .collectAsList();
            double[][] background = new double[rows.size()][];
            double[] weights = new double[rows.size()];
            for (int b = 0; b < background.length; b++) {
                weights[b] = rows.get(b).getDouble(1);
                background[b] = rows.get(b).<Double>getList(2).stream().mapToDouble(Double::doubleValue).toArray();
            }
            KernelShapModel model = new KernelShapModel(metadata.uid(), zip, background, weights);
            metadata.getAndSetParams(model, Option.empty());
            return model;
        }
    }
}
