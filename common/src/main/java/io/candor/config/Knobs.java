package io.candor.config;

import io.candor.config.Knob.Rule;
import io.candor.config.Knob.Type;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static io.candor.config.Knob.Rule.any;
import static io.candor.config.Knob.Rule.atLeast;
import static io.candor.config.Knob.Rule.between;
import static io.candor.config.Knob.Rule.eachAtLeast;
import static io.candor.config.Knob.Rule.in;
import static io.candor.config.Knob.Rule.nonEmpty;
import static io.candor.config.Knob.Rule.oneOf;

/**
 * Every conf key, in the order of {@code conf/application.conf}. Each knob is declared here once; the defaults file
 * must hold the same keys, defaults and docs (its comment above each key, lines joined), {@link ConfLoader} checks
 * types and ranges against these declarations, Spark ML Params that mirror a key take their default and doc from it
 * ({@link KnobParams}), and the README's configuration table is {@link #markdownTable()}.
 *
 * <p>Checks that involve more than one key or the data (image shape all set or all 0, {@code conv} needs an image,
 * {@code model.path} for {@code load}, metrics of the task, KernelSHAP's 2M + 2) stay with the code that knows both.
 */
public final class Knobs {
    private static final List<Knob<?>> DECLARED = new ArrayList<>();

    public static final Knob<Long> RUN_SEED = knob("run.seed", Type.LONG, 42L, any("any integer"),
            "Seed of every random draw (splits, initialisation, permutations, coalitions).");
    public static final Knob<String> RUN_DATE = knob("run.date", Type.STRING, "", Rule.dateOrEmpty(),
            "Partition value of every result table (YYYY-MM-DD). Empty: today's date (UTC).");

    public static final Knob<String> SPARK_MASTER = knob("spark.master", Type.STRING, "local[*]",
            nonEmpty("a Spark master URL such as local[*]"),
            "Spark master, used only when the job is not launched with one already set (spark-submit --master wins).");
    public static final Knob<String> SPARK_APP_NAME = knob("spark.app-name", Type.STRING, "candor",
            nonEmpty("an application name"), "Spark application name.");

    public static final Knob<String> OUTPUT_ROOT = knob("output.root", Type.STRING, "candor-out",
            nonEmpty("a directory for tables and models"),
            "Root of everything a run writes: tables at <root>/<table>/, model artifacts at <root>/models/.");
    public static final Knob<String> OUTPUT_MODELS_ROOT = knob("output.models-root", Type.STRING, "", any("a path"),
            "Where model artifacts go (<models-root>/<model>/<variant>/). Empty: <root>/models. candor audit keeps "
                    + "each date's artifacts at <root>/audits/<date>/models instead.");

    public static final Knob<String> DATASET_NAME = knob("dataset.name", Type.STRING, "", nonEmpty("a dataset name"),
            "Name of the dataset; also the default model name.");
    public static final Knob<String> DATASET_PATH = knob("dataset.path", Type.STRING, "",
            nonEmpty("the path of a CSV or Parquet file"),
            "CSV file or Parquet file/directory (any Hadoop path: file:, hdfs:, s3a:).");
    public static final Knob<String> DATASET_FORMAT = knob("dataset.format", Type.STRING, "auto",
            oneOf("auto", "csv", "parquet"), "auto (by extension), csv or parquet.");
    public static final Knob<String> DATASET_LABEL = knob("dataset.label", Type.STRING, "",
            nonEmpty("the label column"), "Label column.");
    public static final Knob<String> DATASET_TASK = knob("dataset.task", Type.STRING, "classification",
            oneOf("classification", "regression"), "classification or regression.");
    public static final Knob<List<String>> DATASET_FEATURES = knob("dataset.features", Type.STRING_LIST, List.of(),
            any("column names"), "Numeric feature columns, in model input order. Empty: every column but the label "
                    + "and the categorical ones.");
    public static final Knob<List<String>> DATASET_CATEGORICAL = knob("dataset.categorical", Type.STRING_LIST,
            List.of(), any("column names"), "Categorical columns: string -> index -> one-hot; the one-hot columns "
                    + "form one feature group per column.");
    public static final Knob<String> DATASET_ID_COLUMN = knob("dataset.id-column", Type.STRING, "",
            any("a column name"), "Column of stable row ids. Empty: the row's position in the file.");
    public static final Knob<String> DATASET_MISSING_POLICY = knob("dataset.missing.policy", Type.STRING, "fail",
            oneOf("fail", "drop", "impute"), "What to do with a missing, NaN or infinite value: fail, drop (the row) "
                    + "or impute (numeric: training mean; categorical: a category of its own).");
    public static final Knob<List<String>> DATASET_MISSING_TOKENS = knob("dataset.missing.tokens", Type.STRING_LIST,
            List.of("", "?", "NA", "NaN", "null"), any("strings"),
            "Cell values that mean \"missing\" (compared after trimming).");
    public static final Knob<Double> DATASET_TEST_FRACTION = knob("dataset.test-fraction", Type.DOUBLE, 0.2,
            in(0.0, 0.9, false), "Fraction of rows in the test split, chosen by a hash of (run seed, row id).");
    public static final Knob<Boolean> DATASET_NORMALIZE = knob("dataset.normalize", Type.BOOLEAN, true,
            any("true or false"),
            "Standardise numeric features with training-split mean and std computed by Spark's Summarizer.");
    public static final Knob<Integer> DATASET_IMAGE_CHANNELS = knob("dataset.image.channels", Type.INT, 0,
            atLeast(0), "Image channels; channels x height x width = number of features. 0: not image data.");
    public static final Knob<Integer> DATASET_IMAGE_HEIGHT = knob("dataset.image.height", Type.INT, 0, atLeast(0),
            "Image height in pixels. 0: not image data.");
    public static final Knob<Integer> DATASET_IMAGE_WIDTH = knob("dataset.image.width", Type.INT, 0, atLeast(0),
            "Image width in pixels. 0: not image data.");

    public static final Knob<String> MODEL_NAME = knob("model.name", Type.STRING, "", any("a name"),
            "Model name in tables and under <root>/models/. Empty: dataset.name.");
    public static final Knob<String> MODEL_SOURCE = knob("model.source", Type.STRING, "train", oneOf("train", "load"),
            "train: build and train a network from this conf. load: use an existing DL4J ModelSerializer zip.");
    public static final Knob<String> MODEL_PATH = knob("model.path", Type.STRING, "", any("a path"),
            "For source = load: the DL4J zip (MultiLayerNetwork, or ComputationGraph with one input and one output).");
    public static final Knob<String> MODEL_ARCHITECTURE = knob("model.architecture", Type.STRING, "dense",
            oneOf("dense", "conv"), "dense (tabular) or conv (image; needs dataset.image).");
    public static final Knob<List<Integer>> MODEL_HIDDEN = knob("model.hidden", Type.INT_LIST, List.of(64, 32),
            eachAtLeast(1, "a positive integer"), "Widths of the hidden dense layers.");
    public static final Knob<String> MODEL_ACTIVATION = knob("model.activation", Type.STRING, "relu",
            oneOf("relu", "tanh", "leakyrelu", "elu", "sigmoid", "identity"),
            "Activation of the hidden layers: relu, tanh, leakyrelu, elu, sigmoid or identity.");
    public static final Knob<Double> MODEL_DROPOUT = knob("model.dropout", Type.DOUBLE, 0.0, in(0.0, 0.9, true),
            "Dropout retain probability is 1 - dropout; 0 disables it.");
    public static final Knob<List<Integer>> MODEL_CONV_FILTERS = knob("model.conv.filters", Type.INT_LIST,
            List.of(16, 32), eachAtLeast(1, "a positive integer"), "Filters of each convolution (each followed by "
                    + "2x2 max pooling when the image is large enough).");
    public static final Knob<Integer> MODEL_CONV_KERNEL = knob("model.conv.kernel", Type.INT, 3, atLeast(1),
            "Side of each square convolution kernel.");

    public static final Knob<Integer> TRAIN_EPOCHS = knob("train.epochs", Type.INT, 20, atLeast(1),
            "Training epochs.");
    public static final Knob<Integer> TRAIN_BATCH_SIZE = knob("train.batch-size", Type.INT, 32, atLeast(1),
            "Minibatch size of each worker.");
    public static final Knob<Double> TRAIN_LEARNING_RATE = knob("train.learning-rate", Type.DOUBLE, 0.001,
            in(0.0, 10.0, false), "Learning rate of the updater.");
    public static final Knob<String> TRAIN_UPDATER = knob("train.updater", Type.STRING, "adam",
            oneOf("adam", "sgd", "nesterovs"), "Gradient updater: adam, sgd or nesterovs.");
    public static final Knob<Double> TRAIN_L2 = knob("train.l2", Type.DOUBLE, 0.0001, in(0.0, 1.0, true),
            "L2 weight decay.");
    public static final Knob<Integer> TRAIN_WORKERS = knob("train.workers", Type.INT, 0, atLeast(0),
            "Number of data partitions, i.e. parallel workers of parameter averaging. 0: Spark's default parallelism.");
    public static final Knob<Integer> TRAIN_AVERAGING_FREQUENCY = knob("train.averaging-frequency", Type.INT, 4,
            atLeast(1), "Minibatches each worker fits between two parameter averagings.");

    public static final Knob<String> QAT_MODE = knob("qat.mode", Type.STRING, "qat", oneOf("qat", "ptq"),
            "qat: calibrate, then fine-tune the fake-quant twin across executors, recalibrating after every epoch. "
                    + "ptq: calibrate only (post-training quantization), the baseline QAT must beat.");
    public static final Knob<Integer> QAT_BITS = knob("qat.bits", Type.INT, 8,
            between(io.candor.quant.QuantParams.MIN_BITS, io.candor.quant.QuantParams.MAX_BITS, "weight bits"),
            "Weight bits, 2..8 (8 and 4 are tested). Activations are always 8 bits.");
    public static final Knob<Integer> QAT_EPOCHS = knob("qat.epochs", Type.INT, 3, atLeast(1),
            "Fine-tuning epochs (qat mode), with the workers, batch size and averaging of the train section.");
    public static final Knob<Double> QAT_LEARNING_RATE = knob("qat.learning-rate", Type.DOUBLE, 0.0002,
            in(0.0, 10.0, false),
            "Adam learning rate for fine-tuning; smaller than training's, the weights only adapt to the grid.");
    public static final Knob<String> QAT_CALIBRATION = knob("qat.calibration", Type.STRING, "min-max",
            oneOf("min-max", "percentile"),
            "Activation ranges: min-max, or percentile (clips the tails beyond the percentile on each side).");
    public static final Knob<Double> QAT_PERCENTILE = knob("qat.percentile", Type.DOUBLE, 99.99,
            in(50.0, 100.0, false), "Percentile of the percentile method.");
    public static final Knob<Integer> QAT_CALIBRATION_BINS = knob("qat.calibration-bins", Type.INT, 2048, atLeast(2),
            "Histogram bins per tensor for the percentile method.");
    public static final Knob<String> QAT_SOURCE = knob("qat.source", Type.STRING, "", any("a path"),
            "The fp32 model: an artifact directory written by candor train, or a DL4J MultiLayerNetwork zip (its "
                    + "features then come from the dataset section). "
                    + "Empty: <output.root>/models/<model>/teacher-fp32.");

    public static final Knob<String> DISTILL_STUDENT_ARCHITECTURE = knob("distill.student.architecture", Type.STRING,
            "dense", oneOf("dense", "conv"), "dense or conv, as model.architecture.");
    public static final Knob<List<Integer>> DISTILL_STUDENT_HIDDEN = knob("distill.student.hidden", Type.INT_LIST,
            List.of(16), eachAtLeast(1, "a positive integer"), "Widths of the student's hidden dense layers.");
    public static final Knob<List<Integer>> DISTILL_STUDENT_CONV_FILTERS = knob("distill.student.conv.filters",
            Type.INT_LIST, List.of(4, 8), eachAtLeast(1, "a positive integer"),
            "Filters of each of the student's convolutions.");
    public static final Knob<Integer> DISTILL_STUDENT_CONV_KERNEL = knob("distill.student.conv.kernel", Type.INT, 3,
            atLeast(1), "Side of each of the student's convolution kernels.");
    public static final Knob<Double> DISTILL_TEMPERATURE = knob("distill.temperature", Type.DOUBLE, 4.0,
            in(0.0, 1000.0, false), "Softmax temperature T of the soft targets in the loss "
                    + "alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(label, student).");
    public static final Knob<Double> DISTILL_ALPHA = knob("distill.alpha", Type.DOUBLE, 0.7, in(0.0, 1.0, true),
            "Weight alpha of the soft term of the loss; 0 is training on labels alone.");
    public static final Knob<Integer> DISTILL_EPOCHS = knob("distill.epochs", Type.INT, 0, atLeast(0),
            "Student training epochs, with the workers, batch size, updater and averaging of the train section. "
                    + "0: train.epochs.");
    public static final Knob<Double> DISTILL_LEARNING_RATE = knob("distill.learning-rate", Type.DOUBLE, 0.0,
            in(0.0, 10.0, true), "Student learning rate. 0: train.learning-rate.");
    public static final Knob<Boolean> DISTILL_QUANTIZE = knob("distill.quantize", Type.BOOLEAN, false,
            any("true or false"),
            "Also fine-tune the student with fake-quant layers (distillation loss kept) into student-int<bits>.");
    public static final Knob<Integer> DISTILL_BITS = knob("distill.bits", Type.INT, 8,
            between(io.candor.quant.QuantParams.MIN_BITS, io.candor.quant.QuantParams.MAX_BITS, "weight bits"),
            "Weight bits of the quantized student, 2..8.");
    public static final Knob<Integer> DISTILL_QAT_EPOCHS = knob("distill.qat-epochs", Type.INT, 3, atLeast(1),
            "Fake-quant fine-tuning epochs of the student.");
    public static final Knob<String> DISTILL_TEACHER = knob("distill.teacher", Type.STRING, "", any("a path"),
            "The teacher: an artifact directory. Empty: <output.root>/models/<model>/teacher-fp32.");
    public static final Knob<String> DISTILL_LOGITS_PATH = knob("distill.logits-path", Type.STRING, "", any("a path"),
            "Parquet table of the teacher's outputs per training row, reused when present. "
                    + "Empty: <output.root>/teacher_logits/<model>.");

    public static final Knob<String> IMPORTANCE_SPLIT = knob("importance.split", Type.STRING, "test",
            oneOf("test", "train", "all"), "Rows to evaluate: test, train or all.");
    public static final Knob<Integer> IMPORTANCE_N_REPEATS = knob("importance.n-repeats", Type.INT, 5, atLeast(1),
            "Permutations per feature group; importance is reported as mean, std and a 95 % t-interval over them.");
    public static final Knob<String> IMPORTANCE_MODE = knob("importance.mode", Type.STRING, "exact",
            oneOf("exact", "block"), "exact: one global permutation per (group, repeat), identical to a "
                    + "single-machine run for any partitioning. block: permute within blocks of rows assigned by a "
                    + "hash of (seed, row id), without exact mode's sort and shuffle of every row.");
    public static final Knob<Integer> IMPORTANCE_BLOCKS = knob("importance.blocks", Type.INT, 0, atLeast(0),
            "Number of blocks in block mode. 0: Spark's default parallelism.");
    public static final Knob<List<String>> IMPORTANCE_METRICS = knob("importance.metrics", Type.STRING_LIST,
            List.of(), any("metrics of the task"), "Metrics to report. Empty: every metric of the task "
                    + "(accuracy, log_loss, macro_f1, auc | rmse, mae, r2).");
    public static final Knob<Integer> IMPORTANCE_SAMPLE_ROWS = knob("importance.sample-rows", Type.INT, 0, atLeast(0),
            "Evaluate a seeded sample of this many rows instead of the whole split. 0: every row.");
    public static final Knob<Long> IMPORTANCE_BATCH_VALUES = knob("importance.batch-values", Type.LONG, 1_000_000L,
            atLeast(1000L), "Doubles per network call: rows x permutations are batched into matrices of this size.");
    public static final Knob<List<String>> IMPORTANCE_VARIANTS = knob("importance.variants", Type.STRING_LIST,
            List.of(), any("variant names"), "Variants to explain (directories under <output.root>/models/<model>/). "
                    + "Empty: every variant present.");
    public static final Knob<Map<String, List<String>>> IMPORTANCE_GROUPS = knob("importance.groups", Type.SECTION,
            Map.of(), any("name = [columns]"), "Feature groups permuted together, replacing the default groups (a "
                    + "numeric column alone, a categorical column's one-hot slots together) for the columns they "
                    + "name, e.g. size = [mean_radius, mean_area].");

    public static final Knob<String> SHAPLEY_SPLIT = knob("shapley.split", Type.STRING, "test",
            oneOf("test", "train", "all"), "Rows to explain: test, train or all.");
    public static final Knob<Integer> SHAPLEY_SAMPLE_ROWS = knob("shapley.sample-rows", Type.INT, 0, atLeast(0),
            "Explain a seeded sample of this many rows instead of the whole split. 0: every row.");
    public static final Knob<String> SHAPLEY_ESTIMATOR = knob("shapley.estimator", Type.STRING, "kernel",
            oneOf("kernel", "sampling"),
            "kernel (KernelSHAP, Lundberg and Lee 2017) or sampling (antithetic permutations, Castro et al. 2009).");
    public static final Knob<List<Integer>> SHAPLEY_OUTPUTS = knob("shapley.outputs", Type.INT_LIST, List.of(),
            eachAtLeast(0, "an output index (expected integers >= 0)"),
            "Output indices (classes) to explain. Empty: every output.");
    public static final Knob<Integer> SHAPLEY_MAX_COALITIONS = knob("shapley.max-coalitions", Type.INT, 2048,
            atLeast(4), "KernelSHAP: coalitions per row; every coalition is enumerated when all 2^M fit. "
                    + "At least 2M + 2.");
    public static final Knob<Integer> SHAPLEY_PERMUTATION_PAIRS = knob("shapley.permutation-pairs", Type.INT, 64,
            atLeast(2), "Sampling estimator: antithetic permutation pairs per row.");
    public static final Knob<Double> SHAPLEY_CONVERGENCE_THRESHOLD = knob("shapley.convergence-threshold",
            Type.DOUBLE, 0.01, in(0.0, 1e9, false), "A row is \"converged\" when its largest standard error is at "
                    + "most this fraction of the range of its values.");
    public static final Knob<String> SHAPLEY_BACKGROUND_METHOD = knob("shapley.background.method", Type.STRING,
            "kmeans", oneOf("kmeans", "sample"), "kmeans (k-means over the whole training split, deterministic; "
                    + "centres weighted by cluster size) or sample (seeded rows).");
    public static final Knob<Integer> SHAPLEY_BACKGROUND_SIZE = knob("shapley.background.size", Type.INT, 20,
            atLeast(1), "Background rows: KMeans clusters, or sampled rows.");
    public static final Knob<Integer> SHAPLEY_SAGE_ROWS = knob("shapley.sage.rows", Type.INT, 2000, atLeast(1),
            "Rows SAGE averages over: a seeded sample of at most this many rows of the split, held by the driver.");
    public static final Knob<Integer> SHAPLEY_SAGE_MAX_PERMUTATION_PAIRS = knob("shapley.sage.max-permutation-pairs",
            Type.INT, 2048, atLeast(2), "Most antithetic permutation pairs SAGE draws.");
    public static final Knob<Double> SHAPLEY_SAGE_CONVERGENCE_FRACTION = knob("shapley.sage.convergence-fraction",
            Type.DOUBLE, 0.025, in(0.0, 1.0, true),
            "Stop once the largest standard error is at most this fraction of the range of the values.");
    public static final Knob<Long> SHAPLEY_BATCH_VALUES = knob("shapley.batch-values", Type.LONG, 1_000_000L,
            atLeast(1000L), "Doubles per network call: rows x coalitions x background rows are batched into one "
                    + "matrix of this size.");
    public static final Knob<List<String>> SHAPLEY_VARIANTS = knob("shapley.variants", Type.STRING_LIST, List.of(),
            any("variant names"), "Variants to explain. Empty: every variant present.");

    public static final Knob<Boolean> AUDIT_QAT = knob("audit.qat", Type.BOOLEAN, true, any("true or false"),
            "Quantize the teacher (qat section) into teacher-int<qat.bits>, and the student into "
                    + "student-int<distill.bits>.");
    public static final Knob<Boolean> AUDIT_DISTILL = knob("audit.distill", Type.BOOLEAN, true, any("true or false"),
            "Distill a student (distill section) into student-fp32.");
    public static final Knob<Integer> AUDIT_TOP_K = knob("audit.top-k", Type.INT, 5, atLeast(1),
            "Features compared in top-k overlaps, and watched for entering or leaving the top k between nights.");
    public static final Knob<Integer> AUDIT_HISTORY = knob("audit.history", Type.INT, 14, atLeast(1),
            "Audit dates, this one included, in the report's drift chart.");
    public static final Knob<Double> AUDIT_MAX_QUANTIZED_METRIC_DROP = knob(
            "audit.thresholds.max-quantized-metric-drop", Type.DOUBLE, 0.01, in(-1.0, 1e9, true),
            "Primary-metric drop of each integer variant against the fp32 model it came from.");
    public static final Knob<Double> AUDIT_MAX_STUDENT_METRIC_DROP = knob("audit.thresholds.max-student-metric-drop",
            Type.DOUBLE, 0.02, in(-1.0, 1e9, true), "Primary-metric drop of student-fp32 against teacher-fp32.");
    public static final Knob<Double> AUDIT_MIN_RANK_CORRELATION = knob("audit.thresholds.min-rank-correlation",
            Type.DOUBLE, 0.5, in(-1.0, 1.0, true),
            "Minimum rank correlation of every variant's importances with teacher-fp32's.");
    public static final Knob<Double> AUDIT_MAX_METRIC_DRIFT = knob("audit.thresholds.max-metric-drift", Type.DOUBLE,
            0.02, in(-1.0, 1e9, true), "Primary-metric drop of a variant against the previous audit date.");
    public static final Knob<Double> AUDIT_MIN_DRIFT_RANK_CORRELATION = knob(
            "audit.thresholds.min-drift-rank-correlation", Type.DOUBLE, 0.5, in(-1.0, 1.0, true),
            "Minimum rank correlation of a variant's importances with the previous audit date's.");

    /** Every knob, in the order of {@code conf/application.conf}. */
    public static final List<Knob<?>> ALL = List.copyOf(DECLARED);
    private static final Map<String, Knob<?>> BY_KEY = index(ALL);

    private Knobs() {
    }

    /** The knob of {@code key}, if one is declared. */
    public static Optional<Knob<?>> byKey(String key) {
        return Optional.ofNullable(BY_KEY.get(key));
    }

    /** Whether {@code key} names a section, i.e. a strict prefix of declared keys (e.g. {@code train}). */
    public static boolean isSection(String key) {
        return ALL.stream().anyMatch(k -> k.key().startsWith(key + "."));
    }

    /**
     * The README's configuration table: key, type, what a value must be, default ("(required)" when the default
     * does not pass the key's rule, i.e. the job conf must set it) and doc of every knob. Pipes and angle brackets
     * in text are escaped so that each knob stays one table row and {@code <root>} is not read as HTML.
     */
    public static String markdownTable() {
        StringBuilder s = new StringBuilder("| key | type | accepts | default | doc |\n|---|---|---|---|---|\n");
        for (Knob<?> k : ALL) {
            s.append("| `").append(k.key()).append("` | ").append(k.type().label()).append(" | ")
                    .append(cell(k.rule().accepts())).append(" | ")
                    .append(passes(k) ? "`" + k.defaultText() + "`" : "(required)").append(" | ")
                    .append(cell(k.doc())).append(" |\n");
        }
        return s.toString();
    }

    private static <T> boolean passes(Knob<T> knob) {
        return knob.problem(knob.defaultValue()) == null;
    }

    private static String cell(String text) {
        return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;");
    }

    private static <T> Knob<T> knob(String key, Type type, T defaultValue, Rule<T> rule, String doc) {
        Knob<T> knob = new Knob<>(key, type, defaultValue, rule, doc);
        DECLARED.add(knob);
        return knob;
    }

    private static Map<String, Knob<?>> index(List<Knob<?>> knobs) {
        Map<String, Knob<?>> byKey = new LinkedHashMap<>();
        for (Knob<?> k : knobs) {
            if (byKey.put(k.key(), k) != null) {
                throw new IllegalStateException("knob " + k.key() + " is declared twice");
            }
        }
        return Map.copyOf(byKey);
    }
}
