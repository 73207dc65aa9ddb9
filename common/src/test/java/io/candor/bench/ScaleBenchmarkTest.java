package io.candor.bench;

import io.candor.config.CandorConf;
import io.candor.config.ConfLoader;
import io.candor.testing.TestSpark;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ScaleBenchmarkTest {
    private static ScaleBenchmark.Size size(long rows, double seconds, long live) {
        Map<String, Double> s = new LinkedHashMap<>();
        s.put("generate", seconds / 2);
        s.put("train", seconds / 2);
        return new ScaleBenchmark.Size(rows, s, live, 2 * live);
    }

    @Test
    void slopeAndRatiosComeFromTheMeasuredSizes() {
        // 10 s + 3 s per million rows, exactly: the fit returns the 3, the time per row at 16M over 4M is
        // (58 / 16) / (22 / 4).
        ScaleBenchmark.Result r = new ScaleBenchmark.Result(20, List.of(size(1_000_000, 13, 100),
                size(4_000_000, 22, 110), size(16_000_000, 58, 160)), 512);
        assertEquals(3.0, r.secondsPerMillionRows(), 1e-12);
        assertEquals((58.0 / 16) / (22.0 / 4), r.timePerRowRatio(), 1e-12);
        assertEquals(1.6, r.heapRatio(), 1e-12);
    }

    @Test
    void theBenchmarkConfLoadsAndRejectsBadSizes() {
        CandorConf conf = new ConfLoader().load(TestSpark.projectRoot().resolve("conf/bench/scale.conf"), List.of());
        assertEquals(1, conf.train().epochs());
        assertThrows(IllegalArgumentException.class, () -> ScaleBenchmark.run(TestSpark.session(), conf,
                List.of(1_000L), 20, "unused", false, s -> { }));
        assertThrows(IllegalArgumentException.class, () -> ScaleBenchmark.run(TestSpark.session(), conf,
                List.of(4_000L, 1_000L), 20, "unused", false, s -> { }));
    }
}
