package io.candor.report;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Renders a {@link ReportModel} as one self-contained HTML file: inline CSS, the model embedded as JSON in a
 * {@code <script type="application/json">} block, and an inline renderer ({@code report.js}) that draws the charts
 * as SVG. Nothing is fetched when the file is opened; a Content-Security-Policy of {@code default-src 'none'}
 * makes that a property of the page rather than a promise of this class.
 */
public final class HtmlReport {
    private static final String CSS = resource("report.css");
    private static final String JS = resource("report.js");

    /** Non-finite numbers become JSON {@code null}, which the page shows as "n/a". */
    private static final ObjectMapper JSON = new ObjectMapper().registerModule(new SimpleModule()
            .addSerializer(Double.class, new FiniteOrNull())
            .addSerializer(double.class, new FiniteOrNull()));

    private HtmlReport() {}

    /** Writes the report to {@code file}, replacing any previous one only once the new file is complete. */
    public static void write(ReportModel model, Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        // Beside the target, so the move is a rename; not createTempFile, whose owner-only mode would stick.
        Path tmp = dir.resolve("." + file.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        try {
            Files.writeString(tmp, render(model), StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    public static String render(ReportModel model) {
        String title = "Candor audit \u00b7 " + model.model() + " \u00b7 " + model.auditDate();
        return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                + "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                + "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
                + "<title>" + escapeHtml(title) + "</title>\n"
                + "<style>\n" + CSS + "</style>\n</head>\n<body>\n"
                + "<main id=\"report\"><noscript>This report draws its tables and charts with JavaScript.</noscript></main>\n"
                + "<script type=\"application/json\" id=\"report-data\">" + embeddedJson(model) + "</script>\n"
                + "<script>\n" + JS + "</script>\n</body>\n</html>\n";
    }

    /**
     * The model as JSON that is safe inside a {@code <script>} element: the HTML tokenizer ends script data at
     * {@code </script} and changes state at {@code <!--}, so every {@code <} (and, for good measure, {@code >} and
     * {@code &}) is written as a JSON unicode escape. Outside string literals JSON never contains these characters,
     * so the replacement leaves the value unchanged for {@code JSON.parse}.
     */
    static String embeddedJson(ReportModel model) {
        try {
            return JSON.writeValueAsString(model)
                    .replace("<", "\\u003c")
                    .replace(">", "\\u003e")
                    .replace("&", "\\u0026");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("report model for " + model.model() + " could not be written as JSON", e);
        }
    }

    static String escapeHtml(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                .replace("\"", "&quot;").replace("'", "&#39;");
    }

    private static String resource(String name) {
        try (InputStream in = HtmlReport.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("resource io/candor/report/" + name + " is missing from the classpath");
            }
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            // Inlined verbatim, so it must not close its own element early.
            if (text.toLowerCase().contains("</script") || text.toLowerCase().contains("</style")) {
                throw new IllegalStateException("resource io/candor/report/" + name + " contains a closing tag");
            }
            return text;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static final class FiniteOrNull extends StdSerializer<Double> {
        FiniteOrNull() {
            super(Double.class);
        }

        @Override
        public void serialize(Double value, JsonGenerator gen, SerializerProvider provider) throws IOException {
            if (Double.isFinite(value)) {
                gen.writeNumber(value);
            } else {
                gen.writeNull();
            }
        }
    }
}
