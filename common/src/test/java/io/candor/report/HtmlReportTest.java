package io.candor.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.candor.report.ReportModel.Breach;
import io.candor.report.ReportModel.Comparison;
import io.candor.report.ReportModel.DriftRow;
import io.candor.report.ReportModel.GlobalShapley;
import io.candor.report.ReportModel.HistoryPoint;
import io.candor.report.ReportModel.Importance;
import io.candor.report.ReportModel.Metric;
import io.candor.report.ReportModel.ShapPoint;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The report is one file that opens with no network, draws every chart and survives hostile feature names. */
class HtmlReportTest {
    static final List<String> VARIANTS = List.of("teacher-fp32", "teacher-int8", "student-fp32", "student-int8");
    /** Names a naive embedding would break on: quotes, a script end tag, a comment opener, markup and ampersands. */
    static final List<String> FEATURES = List.of("sepal_length", "petal \"width\"", "</script><!-- x", "a & b <c>",
            "age", "income", "o'clock", "region", "tenure", "clicks");
    static final String REGION = "region"; // categorical: its SHAP points carry no numeric value
    static final int ROWS = 20; // beeswarm points per variant: ROWS x FEATURES = 200

    @TempDir
    Path dir;

    @Test
    void embeddedJsonHasNoMarkupAndRoundTrips() throws Exception {
        ReportModel model = fullNight();
        String json = HtmlReport.embeddedJson(model);
        assertFalse(json.contains("<") || json.contains(">") || json.contains("&"), json);

        // A Map, not a JsonNode: readTree needs a newer jackson-core than the one Maven resolves beside Spark's databind.
        Map<?, ?> back = new ObjectMapper().readValue(json, Map.class);
        List<?> importance = (List<?>) back.get("importance");
        assertEquals("</script><!-- x", ((Map<?, ?>) importance.get(4)).get("feature"));
        assertEquals("petal \"width\"", ((Map<?, ?>) importance.get(2)).get("feature"));
        // NaN has no JSON spelling; it travels as null and the page shows "n/a".
        assertTrue(((List<?>) back.get("metrics")).stream().anyMatch(m -> ((Map<?, ?>) m).get("value") == null));
        assertFalse(json.contains("NaN"), "NaN written as a JSON token or string");

        String html = HtmlReport.render(model);
        assertEquals(2, count(html.toLowerCase(Locale.ROOT), "</script"), "only the two script elements end scripts");
        assertEquals(0, count(html, "<!--"));
    }

    @Test
    void reportIsSelfContained() throws Exception {
        Path file = dir.resolve("report.html");
        HtmlReport.write(fullNight(), file);
        String html = Files.readString(file);
        for (String banned : List.of("http://", "https://", "src=", "<link", "@import", "url(")) {
            assertFalse(html.contains(banned), "report refers to an outside resource: " + banned);
        }
        assertTrue(html.contains("default-src 'none'"), "CSP forbidding every fetch is missing");
    }

    @Test
    @Tag("browser")
    void consoleDetectorCatchesErrorsAndUncaughtExceptions() throws Exception {
        Path page = dir.resolve("broken.html");
        Files.writeString(page, "<!DOCTYPE html><html><body><script>\n"
                + "console.error('deliberate error\\nsecond line');\n"
                + "setTimeout(function () { throw new Error('thrown later'); }, 10);\n"
                + "null.boom;\n</script></body></html>\n");
        List<HeadlessChromium.ConsoleMessage> console = HeadlessChromium.open(page).console();
        assertEquals(3, console.size(), console.toString());
        assertTrue(console.stream().anyMatch(m -> m.text().equals("deliberate error\nsecond line") && m.line() == 2),
                console.toString());
        assertEquals(2, console.stream().filter(HeadlessChromium.ConsoleMessage::uncaughtException).count(),
                console.toString());
    }

    @Test
    @Tag("browser")
    void fullNightDrawsEveryChartWithoutConsoleMessages() throws Exception {
        ReportModel model = fullNight();
        String dom = openClean(model);

        int n = VARIANTS.size();
        assertEquals(n * FEATURES.size(), count(chart(dom, "importance"), "class=\"bar\""), "importance bars");
        assertEquals(n * FEATURES.size(), count(chart(dom, "importance"), "class=\"err\""), "importance error bars");
        assertEquals(n * FEATURES.size(), count(chart(dom, "sage"), "class=\"bar\""), "SAGE bars");
        assertEquals(model.shap().size(), count(chart(dom, "beeswarm"), "<circle"), "one dot per SHAP value");
        assertTrue(count(chart(dom, "beeswarm"), "<circle") >= ROWS * FEATURES.size());
        assertEquals(2 * n * n, count(chart(dom, "rank-agreement"), "class=\"cell\""), "Spearman and Kendall, n x n");
        assertEquals(n, count(chart(dom, "history"), "class=\"line\""), "one line per variant");
        assertEquals(model.history().size(), count(chart(dom, "history"), "<circle"), "one point per night");

        String banner = section(dom, "summary");
        assertTrue(banner.contains("FAIL") && banner.contains("max_accuracy_drop") && banner.contains("student-int8")
                && banner.contains("0.0310") && banner.contains("0.0200"), banner);
        assertTrue(section(dom, "metrics").contains("n/a"), "NaN metric not shown as n/a");
        assertTrue(section(dom, "rank-agreement").contains("n/a"), "NaN Kendall not shown as n/a");
        assertTrue(dom.contains("&lt;/script&gt;&lt;!-- x"), "hostile feature name not shown as text");
        assertTrue(section(dom, "drift").contains("age, clicks"), "entered top-k not listed");
    }

    @Test
    @Tag("browser")
    void firstNightShowsNoDataNotes() throws Exception {
        ReportModel full = fullNight();
        ReportModel first = new ReportModel(full.model(), full.auditDate(), full.runId(), full.generatedAt(),
                full.task(), full.variants(), full.metrics(), full.importance(), full.globalShapley(), full.shap(),
                full.comparisons(), List.of(), List.of(), List.of());
        String dom = openClean(first);

        assertTrue(section(dom, "summary").contains("PASS"));
        assertTrue(chart(dom, "history").contains("No data yet"));
        assertEquals(0, marks(chart(dom, "history")));
        assertTrue(section(dom, "drift").contains("No data yet"));
        for (String name : List.of("importance", "sage", "beeswarm", "rank-agreement")) {
            assertTrue(marks(chart(dom, name)) > 0, name + " drew nothing");
        }
    }

    @Test
    @Tag("browser")
    void emptyModelRendersNotesInsteadOfFailing() throws Exception {
        ReportModel empty = new ReportModel("nothing", "2024-05-01", "run-0", "2024-05-01T02:00:00Z",
                ReportModel.REGRESSION, List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(),
                List.of(), List.of());
        String dom = openClean(empty);
        for (String name : List.of("importance", "sage", "beeswarm", "rank-agreement", "history")) {
            assertTrue(chart(dom, name).contains("No data yet"), name);
        }
    }

    // ---- the browser -----------------------------------------------------------------------------------------

    /** Opens the rendered report and requires that the script finished and the console stayed silent. */
    private String openClean(ReportModel model) throws Exception {
        Path file = dir.resolve(model.model() + "-" + model.breaches().size() + ".html");
        HtmlReport.write(model, file);
        HeadlessChromium.Page page = HeadlessChromium.open(file);
        assertEquals(List.of(), page.console(), "console messages while rendering " + file);
        assertTrue(page.dom().contains("data-rendered=\"ok\""), "renderer did not finish:\n" + page.stderr());
        // The script source is in the DOM too (and says NaN); only what the renderer drew counts.
        assertFalse(element(page.dom(), "<main id=\"report\">", "main").contains("NaN"), "a number rendered as NaN");
        return page.dom();
    }

    /** The markup inside {@code <div class="chart" data-chart=NAME>}, up to its matching end tag. */
    static String chart(String dom, String name) {
        return element(dom, "<div class=\"chart\" data-chart=\"" + name + "\">", "div");
    }

    static String section(String dom, String id) {
        String open = id.equals("summary") ? "<header id=\"summary\">" : "<section id=\"" + id + "\">";
        return element(dom, open, id.equals("summary") ? "header" : "section");
    }

    /** Balanced-tag scan: the page escapes all text, so a literal {@code <div} in the DOM is always a tag. */
    private static String element(String dom, String openTag, String name) {
        int start = dom.indexOf(openTag);
        assertTrue(start >= 0, "no " + openTag + " in the rendered page");
        Matcher m = Pattern.compile("<(/?)" + name + "[\\s>]").matcher(dom);
        int depth = 0;
        for (m.region(start, dom.length()); m.find(); ) {
            depth += m.group(1).isEmpty() ? 1 : -1;
            if (depth == 0) {
                return dom.substring(start, m.end());
            }
        }
        throw new AssertionError(openTag + " is never closed");
    }

    static int marks(String markup) {
        return count(markup, "<rect") + count(markup, "<circle") + count(markup, "<path") + count(markup, "<line");
    }

    static int count(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length())) {
            n++;
        }
        return n;
    }

    // ---- a realistic night ------------------------------------------------------------------------------------

    /** Four variants, ten features, two splits, 200 SHAP points per variant, three nights, one breach. */
    static ReportModel fullNight() {
        List<Metric> metrics = new ArrayList<>();
        List<Importance> importance = new ArrayList<>();
        List<GlobalShapley> shapley = new ArrayList<>();
        List<ShapPoint> shap = new ArrayList<>();
        List<HistoryPoint> history = new ArrayList<>();
        List<DriftRow> drift = new ArrayList<>();
        long[] sizes = {412_000, 104_500, 96_000, 25_100};
        double[] accuracy = {0.952, 0.949, 0.934, 0.921};
        for (int v = 0; v < VARIANTS.size(); v++) {
            String variant = VARIANTS.get(v);
            int bits = variant.endsWith("int8") ? 8 : 32;
            long params = variant.startsWith("teacher") ? 103_000 : 24_000;
            for (String split : List.of("validation", "test")) {
                double shift = split.equals("test") ? 0 : 0.01;
                metrics.add(new Metric(variant, split, "accuracy", accuracy[v] + shift, sizes[v], params, bits));
                metrics.add(new Metric(variant, split, "f1", v == 3 && split.equals("validation") ? Double.NaN
                        : accuracy[v] - 0.02 + shift, sizes[v], params, bits));
            }
            for (int f = 0; f < FEATURES.size(); f++) {
                String feature = FEATURES.get(f);
                double mean = 0.2 / (f + 1) + 0.004 * v;
                importance.add(new Importance(variant, feature, "accuracy", mean, mean - 0.01, mean + 0.012, f + 1));
                importance.add(new Importance(variant, feature, "f1", mean * 0.9, mean * 0.8, mean, f + 1));
                shapley.add(new GlobalShapley(variant, feature, "sage", 0, 0.1 / (f + 1), 0.004));
                shapley.add(new GlobalShapley(variant, feature, "mean_abs_shap", 0, 0.3 / (f + 1), Double.NaN));
                for (long row = 0; row < ROWS; row++) {
                    double x = Math.sin(row * 1.3 + f);
                    shap.add(new ShapPoint(variant, feature, row, x * 0.4 / (f + 1) + 0.01 * v,
                            feature.equals(REGION) ? Double.NaN : 50 + 10 * x));
                }
            }
            for (int night = 0; night < 3; night++) {
                history.add(new HistoryPoint("2024-05-0" + (night + 1), variant, "accuracy",
                        accuracy[v] + 0.004 * (2 - night) * (v == 3 ? 3 : 1)));
            }
            drift.add(new DriftRow(variant, "2024-05-02", "accuracy", accuracy[v] + 0.004 * (v == 3 ? 3 : 1),
                    accuracy[v], -0.004 * (v == 3 ? 3 : 1), 0.97 - 0.05 * v,
                    v == 3 ? List.of("age", "clicks") : List.of(), v == 3 ? List.of("income", "tenure") : List.of()));
        }
        List<Comparison> comparisons = new ArrayList<>();
        for (int a = 0; a < VARIANTS.size(); a++) {
            for (int b = a + 1; b < VARIANTS.size(); b++) {
                double rho = 1 - 0.08 * (b - a) - 0.03 * a;
                comparisons.add(new Comparison(VARIANTS.get(a), VARIANTS.get(b), 0.99 - 0.01 * b,
                        accuracy[b] - accuracy[a], rho, a == 1 && b == 2 ? Double.NaN : rho - 0.1, 0.8, 0.95,
                        "permutation"));
            }
        }
        List<Breach> breaches = List.of(new Breach("max_accuracy_drop", "student-int8", 0.031, 0.02,
                "student-int8 test accuracy is 0.031 below teacher-fp32; the limit is 0.02"));
        return new ReportModel("iris-mlp", "2024-05-03", "run-20240503-0200", "2024-05-03T02:14:07Z",
                ReportModel.CLASSIFICATION, VARIANTS, metrics, importance, shapley, shap, comparisons, drift, history,
                breaches);
    }
}
