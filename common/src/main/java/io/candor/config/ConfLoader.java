package io.candor.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;
import io.candor.audit.AuditSpec;
import io.candor.data.DatasetSpec;
import io.candor.explain.ImportanceSpec;
import io.candor.distill.DistillSpec;
import io.candor.explain.ShapleySpec;
import io.candor.quant.CalibrationPass;
import io.candor.quant.QatSpec;
import io.candor.model.ModelSpec;
import io.candor.train.TrainSpec;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * The one parser from HOCON to {@link CandorConf}. Layers, later winning: the packaged defaults
 * ({@code conf/application.conf}), the job conf file, then {@code --set key=value} overrides. Everything is checked
 * before any work starts against the declarations of {@link Knobs}: an undeclared key, a value of the wrong type, or a
 * value out of range is a {@link ConfigException} naming the key and where it was set.
 */
public final class ConfLoader {
    static final String DEFAULTS_RESOURCE = "candor/application.conf";
    /** Sections whose keys the user names (each a list of column names). */
    static final List<String> FREE_FORM = Knobs.ALL.stream().filter(k -> k.type() == Knob.Type.SECTION)
            .map(Knob::key).toList();

    private final Config defaults;

    public ConfLoader() {
        this.defaults = ConfigFactory.parseResources(ConfLoader.class.getClassLoader(), DEFAULTS_RESOURCE,
                ConfigParseOptions.defaults().setAllowMissing(false).setOriginDescription("defaults"));
    }

    /** Loads {@code confFile} with the given {@code key=value} overrides, validated. */
    public CandorConf load(Path confFile, List<String> overrides) {
        Config job = parseFile(confFile);
        for (String override : overrides) {
            job = parseOverride(override).withFallback(job);
        }
        checkKeysAndTypes(job, confFile);
        Config merged = job.withFallback(defaults).resolve();
        String rendered = job.root().render(ConfigRenderOptions.concise().setFormatted(true).setJson(false));
        return new Reader(merged, confFile.toString()).read(rendered);
    }

    /**
     * {@code base} with more overrides: its rendered job layer is parsed again, so the result is what loading the same
     * file with the extra {@code --set}s gives. Used to derive the conf of each stage of an audit.
     */
    public CandorConf derive(CandorConf base, List<String> overrides) {
        Config job = ConfigFactory.parseString(base.rendered(),
                ConfigParseOptions.defaults().setOriginDescription(base.source()));
        for (String override : overrides) {
            job = parseOverride(override).withFallback(job);
        }
        checkKeysAndTypes(job, Path.of(base.source()));
        Config merged = job.withFallback(defaults).resolve();
        String rendered = job.root().render(ConfigRenderOptions.concise().setFormatted(true).setJson(false));
        return new Reader(merged, base.source()).read(rendered);
    }

    private static Config parseFile(Path confFile) {
        if (!Files.isRegularFile(confFile)) {
            throw new ConfigException("conf file " + confFile + ": does not exist or is not a file (expected a HOCON job conf)");
        }
        try {
            return ConfigFactory.parseFile(confFile.toFile(),
                    ConfigParseOptions.defaults().setSyntax(ConfigSyntax.CONF).setAllowMissing(false));
        } catch (com.typesafe.config.ConfigException e) {
            throw new ConfigException("conf file " + confFile + ": cannot be parsed: " + e.getMessage());
        }
    }

    /**
     * Parses one {@code key=value}. String-typed keys take the text verbatim (so paths like {@code hdfs://x} need no
     * quoting); other keys parse the value as HOCON.
     */
    private Config parseOverride(String override) {
        int eq = override.indexOf('=');
        if (eq <= 0) {
            throw new ConfigException("--set " + override + ": expected key=value");
        }
        String key = override.substring(0, eq).trim();
        String raw = override.substring(eq + 1).trim();
        String origin = "--set " + override;
        boolean freeForm = FREE_FORM.stream().anyMatch(f -> key.startsWith(f + "."));
        if (!freeForm && Knobs.byKey(key).isEmpty() && !Knobs.isSection(key)) {
            throw new ConfigException("conf key " + key + ": unknown key (" + origin + ")" + suggestion(key));
        }
        ConfigValueType expected = freeForm ? ConfigValueType.LIST
                : Knobs.byKey(key).map(k -> k.type().hocon()).orElse(ConfigValueType.OBJECT);
        try {
            if (expected == ConfigValueType.STRING) {
                return ConfigFactory.empty(origin).withValue(key, ConfigValueFactory.fromAnyRef(raw, origin));
            }
            return ConfigFactory.parseString(key + " = " + raw,
                    ConfigParseOptions.defaults().setOriginDescription(origin));
        } catch (com.typesafe.config.ConfigException e) {
            throw new ConfigException("conf key " + key + ": cannot parse '" + raw + "' (" + origin + ")");
        }
    }

    private void checkKeysAndTypes(Config job, Path confFile) {
        for (Map.Entry<String, ConfigValue> entry : job.entrySet()) {
            String key = entry.getKey();
            ConfigValue value = entry.getValue();
            String freeForm = FREE_FORM.stream().filter(f -> key.startsWith(f + ".")).findFirst().orElse(null);
            if (freeForm != null) {
                if (value.valueType() != ConfigValueType.LIST || ((ConfigList) value).stream()
                        .anyMatch(v -> v.valueType() != ConfigValueType.STRING)) {
                    throw new ConfigException("conf key " + key + ": " + value.render(ConfigRenderOptions.concise())
                            + " is not a list of column names (expected e.g. [a, b]; " + where(value.origin()) + ")");
                }
                continue;
            }
            Knob<?> knob = Knobs.byKey(key).orElse(null);
            if (knob == null) {
                if (Knobs.isSection(key)) {
                    throw typeError(key, ConfigValueType.OBJECT, value);
                }
                String parent = key.contains(".") ? key.substring(0, key.lastIndexOf('.')) : "";
                Knob<?> parentKnob = Knobs.byKey(parent).orElse(null);
                if (parentKnob != null) {
                    throw typeError(parent, parentKnob.type().hocon(), value);
                }
                throw new ConfigException("conf key " + key + ": unknown key (" + where(value.origin()) + ")"
                        + suggestion(key));
            }
            if (!compatible(knob.type().hocon(), value)) {
                throw typeError(key, knob.type().hocon(), value);
            }
            if (knob.type().hocon() == ConfigValueType.LIST) {
                ConfigValueType elementType = knob.type().element();
                for (ConfigValue element : (ConfigList) value) {
                    if (element.valueType() != elementType
                            && !(elementType == ConfigValueType.STRING && element.valueType() == ConfigValueType.NUMBER)) {
                        throw new ConfigException("conf key " + key + ": list element " + element.render()
                                + " is a " + describe(element.valueType()) + " (expected a list of "
                                + describe(elementType) + "s; " + where(element.origin()) + ")");
                    }
                }
            }
        }
    }

    private static boolean compatible(ConfigValueType e, ConfigValue actual) {
        ConfigValueType a = actual.valueType();
        if (e == a) {
            return true; // integer keys are checked for integrality where they are read
        }
        // HOCON lets "20" stand for 20 and 20 for "20"; accept both directions where the value reads cleanly.
        if (e == ConfigValueType.NUMBER && a == ConfigValueType.STRING) {
            try {
                Double.parseDouble(actual.unwrapped().toString());
                return true;
            } catch (NumberFormatException ex) {
                return false;
            }
        }
        if (e == ConfigValueType.BOOLEAN && a == ConfigValueType.STRING) {
            String s = actual.unwrapped().toString().toLowerCase(Locale.ROOT);
            return s.equals("true") || s.equals("false");
        }
        return e == ConfigValueType.STRING && (a == ConfigValueType.NUMBER || a == ConfigValueType.BOOLEAN);
    }

    private static ConfigException typeError(String key, ConfigValueType expected, ConfigValue actual) {
        return new ConfigException("conf key " + key + ": " + actual.render(ConfigRenderOptions.concise())
                + " is a " + describe(actual.valueType()) + " (expected " + article(describe(expected)) + "; "
                + where(actual.origin()) + ")");
    }

    private static String describe(ConfigValueType t) {
        return switch (t) {
            case OBJECT -> "section";
            case LIST -> "list";
            case NUMBER -> "number";
            case BOOLEAN -> "boolean";
            case NULL -> "null";
            case STRING -> "string";
        };
    }

    private static String article(String noun) {
        return ("aeiou".indexOf(noun.charAt(0)) >= 0 ? "an " : "a ") + noun;
    }

    static String where(ConfigOrigin origin) {
        if (origin.filename() != null) {
            return "file " + origin.filename() + (origin.lineNumber() > 0 ? ", line " + origin.lineNumber() : "");
        }
        String description = origin.description();
        // An override's origin reads "--set k=v: 1"; the line number of a one-line string says nothing.
        return description.startsWith("--set ") ? description.replaceFirst(": \\d+$", "") : description;
    }

    private static String suggestion(String key) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (Knob<?> knob : Knobs.ALL) {
            int d = editDistance(key, knob.key());
            if (d < bestDistance) {
                bestDistance = d;
                best = knob.key();
            }
        }
        return best != null && bestDistance <= Math.max(2, key.length() / 4) ? "; did you mean " + best + "?" : "";
    }

    private static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /**
     * Typed reads of the merged conf, each checked by its {@link Knob}'s rule; each failure names the key and where
     * its value came from. Checks across keys are made here, after the single-key ones.
     */
    private static final class Reader {
        private final Config config;
        private final String confFile;

        Reader(Config config, String confFile) {
            this.config = config;
            this.confFile = confFile;
        }

        CandorConf read(String rendered) {
            long seed = get(Knobs.RUN_SEED);
            String dateText = get(Knobs.RUN_DATE).trim();
            LocalDate date = dateText.isEmpty() ? LocalDate.now(ZoneOffset.UTC) : LocalDate.parse(dateText);
            String master = text(Knobs.SPARK_MASTER);
            String appName = text(Knobs.SPARK_APP_NAME);
            String root = text(Knobs.OUTPUT_ROOT);

            int channels = get(Knobs.DATASET_IMAGE_CHANNELS);
            int height = get(Knobs.DATASET_IMAGE_HEIGHT);
            int width = get(Knobs.DATASET_IMAGE_WIDTH);
            if ((channels == 0 || height == 0 || width == 0) && channels + height + width != 0) {
                throw error("dataset.image", "channels, height and width must all be set or all be 0");
            }
            DatasetSpec dataset = new DatasetSpec(
                    text(Knobs.DATASET_NAME),
                    text(Knobs.DATASET_PATH),
                    choice(Knobs.DATASET_FORMAT, DatasetSpec.Format::valueOf),
                    text(Knobs.DATASET_LABEL),
                    choice(Knobs.DATASET_TASK, DatasetSpec.Task::valueOf),
                    get(Knobs.DATASET_FEATURES),
                    get(Knobs.DATASET_CATEGORICAL),
                    get(Knobs.DATASET_ID_COLUMN),
                    choice(Knobs.DATASET_MISSING_POLICY, DatasetSpec.MissingPolicy::valueOf),
                    get(Knobs.DATASET_MISSING_TOKENS),
                    get(Knobs.DATASET_TEST_FRACTION),
                    get(Knobs.DATASET_NORMALIZE),
                    new int[] {channels, height, width});

            ModelSpec.Source source = choice(Knobs.MODEL_SOURCE, ModelSpec.Source::valueOf);
            ModelSpec.Architecture architecture = choice(Knobs.MODEL_ARCHITECTURE, ModelSpec.Architecture::valueOf);
            if (source == ModelSpec.Source.LOAD && get(Knobs.MODEL_PATH).trim().isEmpty()) {
                throw error(Knobs.MODEL_PATH.key(), "is empty (expected the DL4J model zip to load)");
            }
            if (architecture == ModelSpec.Architecture.CONV && !dataset.isImage()) {
                throw error(Knobs.MODEL_ARCHITECTURE.key(), "conv needs dataset.image.channels, height and width");
            }
            ModelSpec model = new ModelSpec(get(Knobs.MODEL_NAME), source, get(Knobs.MODEL_PATH), architecture,
                    get(Knobs.MODEL_HIDDEN), text(Knobs.MODEL_ACTIVATION).toLowerCase(Locale.ROOT),
                    get(Knobs.MODEL_DROPOUT), get(Knobs.MODEL_CONV_FILTERS), get(Knobs.MODEL_CONV_KERNEL));

            TrainSpec train = new TrainSpec(
                    get(Knobs.TRAIN_EPOCHS),
                    get(Knobs.TRAIN_BATCH_SIZE),
                    get(Knobs.TRAIN_LEARNING_RATE),
                    choice(Knobs.TRAIN_UPDATER, TrainSpec.Updater::valueOf),
                    get(Knobs.TRAIN_L2),
                    get(Knobs.TRAIN_WORKERS),
                    get(Knobs.TRAIN_AVERAGING_FREQUENCY));

            ImportanceSpec importance = new ImportanceSpec(
                    choice(Knobs.IMPORTANCE_SPLIT, ImportanceSpec.Split::valueOf),
                    get(Knobs.IMPORTANCE_N_REPEATS),
                    choice(Knobs.IMPORTANCE_MODE, ImportanceSpec.Mode::valueOf),
                    get(Knobs.IMPORTANCE_BLOCKS),
                    metrics(Knobs.IMPORTANCE_METRICS, dataset.task()),
                    get(Knobs.IMPORTANCE_SAMPLE_ROWS),
                    get(Knobs.IMPORTANCE_BATCH_VALUES),
                    get(Knobs.IMPORTANCE_VARIANTS),
                    groups(Knobs.IMPORTANCE_GROUPS.key()));

            ShapleySpec shapley = new ShapleySpec(
                    choice(Knobs.SHAPLEY_SPLIT, ImportanceSpec.Split::valueOf),
                    get(Knobs.SHAPLEY_SAMPLE_ROWS),
                    choice(Knobs.SHAPLEY_ESTIMATOR, ShapleySpec.Estimator::valueOf),
                    get(Knobs.SHAPLEY_OUTPUTS),
                    get(Knobs.SHAPLEY_MAX_COALITIONS),
                    get(Knobs.SHAPLEY_PERMUTATION_PAIRS),
                    get(Knobs.SHAPLEY_CONVERGENCE_THRESHOLD),
                    choice(Knobs.SHAPLEY_BACKGROUND_METHOD, ShapleySpec.BackgroundMethod::valueOf),
                    get(Knobs.SHAPLEY_BACKGROUND_SIZE),
                    get(Knobs.SHAPLEY_SAGE_ROWS),
                    get(Knobs.SHAPLEY_SAGE_MAX_PERMUTATION_PAIRS),
                    get(Knobs.SHAPLEY_SAGE_CONVERGENCE_FRACTION),
                    get(Knobs.SHAPLEY_BATCH_VALUES),
                    get(Knobs.SHAPLEY_VARIANTS));

            QatSpec qat = new QatSpec(
                    choice(Knobs.QAT_MODE, QatSpec.Mode::valueOf),
                    get(Knobs.QAT_BITS),
                    get(Knobs.QAT_EPOCHS),
                    get(Knobs.QAT_LEARNING_RATE),
                    choice(Knobs.QAT_CALIBRATION, s -> CalibrationPass.Method.valueOf(s.replace('-', '_'))),
                    get(Knobs.QAT_PERCENTILE),
                    get(Knobs.QAT_CALIBRATION_BINS),
                    text(Knobs.QAT_SOURCE));

            ModelSpec.Architecture studentArchitecture =
                    choice(Knobs.DISTILL_STUDENT_ARCHITECTURE, ModelSpec.Architecture::valueOf);
            if (studentArchitecture == ModelSpec.Architecture.CONV && dataset.imageShape()[0] == 0) {
                throw error(Knobs.DISTILL_STUDENT_ARCHITECTURE.key(),
                        "conv needs dataset.image.channels, height and width");
            }
            ModelSpec student = new ModelSpec(model.name(), ModelSpec.Source.TRAIN, "", studentArchitecture,
                    get(Knobs.DISTILL_STUDENT_HIDDEN), model.activation(), model.dropout(),
                    get(Knobs.DISTILL_STUDENT_CONV_FILTERS), get(Knobs.DISTILL_STUDENT_CONV_KERNEL));
            int distillEpochs = get(Knobs.DISTILL_EPOCHS);
            double distillRate = get(Knobs.DISTILL_LEARNING_RATE);
            DistillSpec distill = new DistillSpec(student,
                    get(Knobs.DISTILL_TEMPERATURE),
                    get(Knobs.DISTILL_ALPHA),
                    distillEpochs == 0 ? train.epochs() : distillEpochs,
                    distillRate == 0 ? train.learningRate() : distillRate,
                    get(Knobs.DISTILL_QUANTIZE),
                    get(Knobs.DISTILL_BITS),
                    get(Knobs.DISTILL_QAT_EPOCHS),
                    text(Knobs.DISTILL_TEACHER),
                    text(Knobs.DISTILL_LOGITS_PATH));

            AuditSpec audit = new AuditSpec(
                    get(Knobs.AUDIT_QAT),
                    get(Knobs.AUDIT_DISTILL),
                    get(Knobs.AUDIT_TOP_K),
                    get(Knobs.AUDIT_HISTORY),
                    new AuditSpec.Thresholds(
                            get(Knobs.AUDIT_MAX_QUANTIZED_METRIC_DROP),
                            get(Knobs.AUDIT_MAX_STUDENT_METRIC_DROP),
                            get(Knobs.AUDIT_MIN_RANK_CORRELATION),
                            get(Knobs.AUDIT_MAX_METRIC_DRIFT),
                            get(Knobs.AUDIT_MIN_DRIFT_RANK_CORRELATION)));
            String modelsRoot = text(Knobs.OUTPUT_MODELS_ROOT);
            return new CandorConf(seed, date, master, appName, root, dataset, model, train, qat, distill, importance,
                    shapley, audit, modelsRoot.isEmpty() ? root + "/models" : modelsRoot,
                    confFile, rendered, io.candor.util.Hashing.sha256(rendered), root);
        }

        /** The value of {@code knob}, read as its type and checked by its rule. */
        @SuppressWarnings("unchecked")
        private <T> T get(Knob<T> knob) {
            String key = knob.key();
            Object value = switch (knob.type()) {
                case STRING -> config.getString(key);
                case BOOLEAN -> config.getBoolean(key);
                case INT -> (int) integer(key, config.getNumber(key), Integer.MAX_VALUE, "");
                case LONG -> integer(key, config.getNumber(key), Long.MAX_VALUE, "");
                case DOUBLE -> config.getDouble(key);
                case STRING_LIST -> config.getStringList(key);
                case INT_LIST -> {
                    List<Integer> ints = new ArrayList<>();
                    for (Number n : config.getNumberList(key)) {
                        ints.add((int) integer(key, n, Integer.MAX_VALUE, "element "));
                    }
                    yield List.copyOf(ints);
                }
                case SECTION -> groups(key);
            };
            String problem = knob.problem((T) value);
            if (problem != null) {
                throw error(key, problem);
            }
            return (T) value;
        }

        /** {@code n} as a long, when it is a whole number within {@code ±limit}. */
        private long integer(String key, Number n, long limit, String prefix) {
            if (n instanceof Integer || n instanceof Long) {
                if (Math.abs(n.longValue()) > limit) {
                    throw error(key, prefix + n + " is not an integer");
                }
                return n.longValue();
            }
            double real = n.doubleValue();
            if (real != Math.rint(real) || Math.abs(real) > limit) {
                throw error(key, prefix + real + " is not an integer");
            }
            return (long) real;
        }

        /** A string knob's value, trimmed. */
        private String text(Knob<String> knob) {
            return get(knob).trim();
        }

        /** A one-of knob as its enum constant ({@code parse} takes the upper-cased value). */
        private <E extends Enum<E>> E choice(Knob<String> knob, Function<String, E> parse) {
            return parse.apply(text(knob).toUpperCase(Locale.ROOT));
        }

        private List<String> metrics(Knob<List<String>> knob, DatasetSpec.Task task) {
            List<String> allowed = task == DatasetSpec.Task.REGRESSION ? List.of("rmse", "mae", "r2")
                    : List.of("accuracy", "log_loss", "macro_f1", "auc");
            List<String> metrics = get(knob);
            for (String m : metrics) {
                if (!allowed.contains(m)) {
                    throw error(knob.key(), "'" + m + "' does not fit a " + task.name().toLowerCase(Locale.ROOT)
                            + " task (expected one of " + String.join(", ", allowed) + ")");
                }
            }
            return metrics;
        }

        private java.util.LinkedHashMap<String, List<String>> groups(String key) {
            java.util.LinkedHashMap<String, List<String>> groups = new java.util.LinkedHashMap<>();
            for (Map.Entry<String, ConfigValue> e : config.getConfig(key).root().entrySet()) {
                groups.put(e.getKey(), config.getStringList(key + "." + com.typesafe.config.ConfigUtil.quoteString(e.getKey())));
            }
            return groups;
        }

        private ConfigException error(String key, String problem) {
            ConfigOrigin origin = config.hasPath(key) ? config.getValue(key).origin() : null;
            String from = origin == null || "defaults".equals(origin.description()) || origin.description().startsWith("defaults")
                    ? "not set in " + confFile : where(origin);
            return new ConfigException("conf key " + key + ": " + problem + " (" + from + ")");
        }
    }

    /** The packaged defaults, for {@code --help} output and documentation. */
    public static String defaultsText() {
        try (InputStream in = ConfLoader.class.getClassLoader().getResourceAsStream(DEFAULTS_RESOURCE)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException | NullPointerException e) {
            throw new IllegalStateException("packaged defaults " + DEFAULTS_RESOURCE + " missing from the jar", e);
        }
    }
}
