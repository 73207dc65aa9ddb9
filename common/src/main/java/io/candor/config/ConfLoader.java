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
import io.candor.quant.QuantParams;
import io.candor.model.ModelSpec;
import io.candor.train.TrainSpec;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * The one parser from HOCON to {@link CandorConf}. Layers, later winning: the packaged defaults
 * ({@code conf/application.conf}), the job conf file, then {@code --set key=value} overrides. Everything is checked
 * before any work starts: a key the defaults lack, a value of the wrong type, or a value out of range is a
 * {@link ConfigException} naming the key and where it was set.
 */
public final class ConfLoader {
    static final String DEFAULTS_RESOURCE = "candor/application.conf";
    /** Sections whose keys the user names (each a list of column names). */
    static final List<String> FREE_FORM = List.of("importance.groups");

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
        if (!freeForm && !defaults.hasPathOrNull(key)) {
            throw new ConfigException("conf key " + key + ": unknown key (" + origin + ")" + suggestion(key));
        }
        ConfigValueType expected = freeForm ? ConfigValueType.LIST : defaults.getValue(key).valueType();
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
            if (!defaults.hasPathOrNull(key)) {
                String parent = key.contains(".") ? key.substring(0, key.lastIndexOf('.')) : "";
                if (!parent.isEmpty() && defaults.hasPath(parent)
                        && defaults.getValue(parent).valueType() != ConfigValueType.OBJECT) {
                    throw typeError(parent, defaults.getValue(parent).valueType(), value);
                }
                throw new ConfigException("conf key " + key + ": unknown key (" + where(value.origin()) + ")"
                        + suggestion(key));
            }
            ConfigValue expected = defaults.getValue(key);
            if (!compatible(expected, value)) {
                throw typeError(key, expected.valueType(), value);
            }
            if (expected.valueType() == ConfigValueType.LIST) {
                ConfigValueType elementType = listElementType(key, (ConfigList) expected);
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

    private static boolean compatible(ConfigValue expected, ConfigValue actual) {
        ConfigValueType e = expected.valueType();
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

    private static ConfigValueType listElementType(String key, ConfigList defaultList) {
        if (!defaultList.isEmpty()) {
            return defaultList.get(0).valueType();
        }
        return ConfigValueType.STRING; // every empty default list (features, categorical) holds column names
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

    private String suggestion(String key) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (Map.Entry<String, ConfigValue> entry : defaults.entrySet()) {
            int d = editDistance(key, entry.getKey());
            if (d < bestDistance) {
                bestDistance = d;
                best = entry.getKey();
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

    /** Typed reads with range checks; each failure names the key and where its value came from. */
    private static final class Reader {
        private final Config config;
        private final String confFile;

        Reader(Config config, String confFile) {
            this.config = config;
            this.confFile = confFile;
        }

        CandorConf read(String rendered) {
            long seed = config.getLong("run.seed");
            LocalDate date = date("run.date");
            String master = nonEmpty("spark.master", "a Spark master URL such as local[*]");
            String appName = nonEmpty("spark.app-name", "an application name");
            String root = nonEmpty("output.root", "a directory for tables and models");

            int channels = intAtLeast("dataset.image.channels", 0);
            int height = intAtLeast("dataset.image.height", 0);
            int width = intAtLeast("dataset.image.width", 0);
            if ((channels == 0 || height == 0 || width == 0) && channels + height + width != 0) {
                throw error("dataset.image", "channels, height and width must all be set or all be 0");
            }
            DatasetSpec dataset = new DatasetSpec(
                    nonEmpty("dataset.name", "a dataset name"),
                    nonEmpty("dataset.path", "the path of a CSV or Parquet file"),
                    choice("dataset.format", DatasetSpec.Format::valueOf, "auto, csv or parquet"),
                    nonEmpty("dataset.label", "the label column"),
                    choice("dataset.task", DatasetSpec.Task::valueOf, "classification or regression"),
                    config.getStringList("dataset.features"),
                    config.getStringList("dataset.categorical"),
                    config.getString("dataset.id-column"),
                    choice("dataset.missing.policy", DatasetSpec.MissingPolicy::valueOf, "fail, drop or impute"),
                    config.getStringList("dataset.missing.tokens"),
                    doubleIn("dataset.test-fraction", 0.0, 0.9, false),
                    config.getBoolean("dataset.normalize"),
                    new int[] {channels, height, width});

            ModelSpec.Source source = choice("model.source", ModelSpec.Source::valueOf, "train or load");
            ModelSpec.Architecture architecture =
                    choice("model.architecture", ModelSpec.Architecture::valueOf, "dense or conv");
            if (source == ModelSpec.Source.LOAD) {
                nonEmpty("model.path", "the DL4J model zip to load");
            }
            if (architecture == ModelSpec.Architecture.CONV && !dataset.isImage()) {
                throw error("model.architecture", "conv needs dataset.image.channels, height and width");
            }
            List<Integer> hidden = positiveInts("model.hidden");
            String activation = config.getString("model.activation").toLowerCase(Locale.ROOT);
            if (!List.of("relu", "tanh", "leakyrelu", "elu", "sigmoid", "identity").contains(activation)) {
                throw error("model.activation", "'" + activation
                        + "' is not one of relu, tanh, leakyrelu, elu, sigmoid, identity");
            }
            ModelSpec model = new ModelSpec(config.getString("model.name"), source, config.getString("model.path"),
                    architecture, hidden, activation, doubleIn("model.dropout", 0.0, 0.9, true),
                    positiveInts("model.conv.filters"), intAtLeast("model.conv.kernel", 1));

            TrainSpec train = new TrainSpec(
                    intAtLeast("train.epochs", 1),
                    intAtLeast("train.batch-size", 1),
                    doubleIn("train.learning-rate", 0.0, 10.0, false),
                    choice("train.updater", TrainSpec.Updater::valueOf, "adam, sgd or nesterovs"),
                    doubleIn("train.l2", 0.0, 1.0, true),
                    intAtLeast("train.workers", 0),
                    intAtLeast("train.averaging-frequency", 1));

            ImportanceSpec importance = new ImportanceSpec(
                    choice("importance.split", ImportanceSpec.Split::valueOf, "test, train or all"),
                    intAtLeast("importance.n-repeats", 1),
                    choice("importance.mode", ImportanceSpec.Mode::valueOf, "exact or block"),
                    intAtLeast("importance.blocks", 0),
                    metrics("importance.metrics", dataset.task()),
                    intAtLeast("importance.sample-rows", 0),
                    longAtLeast("importance.batch-values", 1000),
                    config.getStringList("importance.variants"),
                    groups("importance.groups"));

            List<Integer> outputs = new ArrayList<>();
            for (Number n : config.getNumberList("shapley.outputs")) {
                if (n.doubleValue() != Math.rint(n.doubleValue()) || n.intValue() < 0) {
                    throw error("shapley.outputs", "element " + n + " is not an output index (expected integers >= 0)");
                }
                outputs.add(n.intValue());
            }
            ShapleySpec shapley = new ShapleySpec(
                    choice("shapley.split", ImportanceSpec.Split::valueOf, "test, train or all"),
                    intAtLeast("shapley.sample-rows", 0),
                    choice("shapley.estimator", ShapleySpec.Estimator::valueOf, "kernel or sampling"),
                    outputs,
                    intAtLeast("shapley.max-coalitions", 4),
                    intAtLeast("shapley.permutation-pairs", 1),
                    doubleIn("shapley.convergence-threshold", 0.0, 1e9, false),
                    choice("shapley.background.method", ShapleySpec.BackgroundMethod::valueOf, "kmeans or sample"),
                    intAtLeast("shapley.background.size", 1),
                    intAtLeast("shapley.sage.rows", 0),
                    intAtLeast("shapley.sage.max-permutation-pairs", 2),
                    doubleIn("shapley.sage.convergence-fraction", 0.0, 1.0, true),
                    longAtLeast("shapley.batch-values", 1000),
                    config.getStringList("shapley.variants"));

            int bits = intAtLeast("qat.bits", QuantParams.MIN_BITS);
            if (bits > QuantParams.MAX_BITS) {
                throw error("qat.bits", bits + " is above " + QuantParams.MAX_BITS + " (expected weight bits "
                        + QuantParams.MIN_BITS + ".." + QuantParams.MAX_BITS + ")");
            }
            QatSpec qat = new QatSpec(
                    choice("qat.mode", QatSpec.Mode::valueOf, "qat or ptq"),
                    bits,
                    intAtLeast("qat.epochs", 1),
                    doubleIn("qat.learning-rate", 0.0, 10.0, false),
                    choice("qat.calibration", s -> CalibrationPass.Method.valueOf(s.replace('-', '_')),
                            "min-max or percentile"),
                    doubleIn("qat.percentile", 50.0, 100.0, false),
                    intAtLeast("qat.calibration-bins", 2),
                    config.getString("qat.source").trim());

            ModelSpec.Architecture studentArchitecture = choice("distill.student.architecture",
                    ModelSpec.Architecture::valueOf, "dense or conv");
            if (studentArchitecture == ModelSpec.Architecture.CONV && dataset.imageShape()[0] == 0) {
                throw error("distill.student.architecture", "conv needs dataset.image.channels, height and width");
            }
            ModelSpec student = new ModelSpec(model.name(), ModelSpec.Source.TRAIN, "", studentArchitecture,
                    positiveInts("distill.student.hidden"), model.activation(), model.dropout(),
                    positiveInts("distill.student.conv.filters"), intAtLeast("distill.student.conv.kernel", 1));
            int distillEpochs = intAtLeast("distill.epochs", 0);
            double distillRate = doubleIn("distill.learning-rate", 0.0, 10.0, true);
            int distillBits = intAtLeast("distill.bits", QuantParams.MIN_BITS);
            if (distillBits > QuantParams.MAX_BITS) {
                throw error("distill.bits", distillBits + " is above " + QuantParams.MAX_BITS
                        + " (expected weight bits " + QuantParams.MIN_BITS + ".." + QuantParams.MAX_BITS + ")");
            }
            DistillSpec distill = new DistillSpec(student,
                    doubleIn("distill.temperature", 0.0, 1000.0, false),
                    doubleIn("distill.alpha", 0.0, 1.0, true),
                    distillEpochs == 0 ? train.epochs() : distillEpochs,
                    distillRate == 0 ? train.learningRate() : distillRate,
                    config.getBoolean("distill.quantize"),
                    distillBits,
                    intAtLeast("distill.qat-epochs", 1),
                    config.getString("distill.teacher").trim(),
                    config.getString("distill.logits-path").trim());

            AuditSpec audit = new AuditSpec(
                    config.getBoolean("audit.qat"),
                    config.getBoolean("audit.distill"),
                    intAtLeast("audit.top-k", 1),
                    intAtLeast("audit.history", 1),
                    new AuditSpec.Thresholds(
                            doubleIn("audit.thresholds.max-quantized-metric-drop", -1.0, 1e9, true),
                            doubleIn("audit.thresholds.max-student-metric-drop", -1.0, 1e9, true),
                            doubleIn("audit.thresholds.min-rank-correlation", -1.0, 1.0, true),
                            doubleIn("audit.thresholds.max-metric-drift", -1.0, 1e9, true),
                            doubleIn("audit.thresholds.min-drift-rank-correlation", -1.0, 1.0, true)));
            String modelsRoot = config.getString("output.models-root").trim();
            return new CandorConf(seed, date, master, appName, root, dataset, model, train, qat, distill, importance,
                    shapley, audit, modelsRoot.isEmpty() ? root + "/models" : modelsRoot,
                    confFile, rendered, io.candor.util.Hashing.sha256(rendered), root);
        }

        private LocalDate date(String key) {
            String text = config.getString(key).trim();
            if (text.isEmpty()) {
                return LocalDate.now(ZoneOffset.UTC);
            }
            try {
                return LocalDate.parse(text);
            } catch (DateTimeParseException e) {
                throw error(key, "'" + text + "' is not a date (expected YYYY-MM-DD)");
            }
        }

        private String nonEmpty(String key, String expected) {
            String value = config.getString(key).trim();
            if (value.isEmpty()) {
                throw error(key, "is empty (expected " + expected + ")");
            }
            return value;
        }

        private <E extends Enum<E>> E choice(String key, Function<String, E> parse, String expected) {
            String value = config.getString(key).trim();
            try {
                return parse.apply(value.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw error(key, "'" + value + "' is not one of " + expected);
            }
        }

        private int intAtLeast(String key, int min) {
            double real = config.getDouble(key);
            if (real != Math.rint(real) || Math.abs(real) > Integer.MAX_VALUE) {
                throw error(key, real + " is not an integer");
            }
            int value = (int) real;
            if (value < min) {
                throw error(key, value + " is below " + min);
            }
            return value;
        }

        private long longAtLeast(String key, long min) {
            long value = config.getLong(key);
            if (value < min) {
                throw error(key, value + " is below " + min);
            }
            return value;
        }

        private List<String> metrics(String key, DatasetSpec.Task task) {
            List<String> allowed = task == DatasetSpec.Task.REGRESSION ? List.of("rmse", "mae", "r2")
                    : List.of("accuracy", "log_loss", "macro_f1", "auc");
            List<String> metrics = config.getStringList(key);
            for (String m : metrics) {
                if (!allowed.contains(m)) {
                    throw error(key, "'" + m + "' does not fit a " + task.name().toLowerCase(Locale.ROOT)
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

        private double doubleIn(String key, double lo, double hi, boolean loInclusive) {
            double value = config.getDouble(key);
            boolean aboveLo = loInclusive ? value >= lo : value > lo;
            if (!aboveLo || value > hi || Double.isNaN(value)) {
                throw error(key, value + " is outside " + (loInclusive ? "[" : "(") + lo + ", " + hi + "]");
            }
            return value;
        }

        private List<Integer> positiveInts(String key) {
            List<Integer> values = new ArrayList<>();
            for (Number n : config.getNumberList(key)) {
                if (n.doubleValue() != Math.rint(n.doubleValue()) || n.intValue() < 1) {
                    throw error(key, "element " + n + " is not a positive integer");
                }
                values.add(n.intValue());
            }
            return values;
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
