package io.candor.train;

import io.candor.config.CandorConf;
import io.candor.config.ConfLoader;
import io.candor.testing.TestSpark;
import org.apache.spark.api.java.JavaRDD;
import scala.Tuple3;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Sample confs pointed at the bundled data and a test's own output root, with two workers. */
public final class TrainWorkflowTestSupport {
    private TrainWorkflowTestSupport() {
    }

    public static CandorConf conf(String dataset, Path out, String... extra) {
        List<String> overrides = new ArrayList<>(List.of(
                "dataset.path=" + TestSpark.sample(dataset + ".csv"),
                "output.root=" + out.toAbsolutePath(),
                "train.workers=2",
                "run.date=2026-11-23"));
        overrides.addAll(List.of(extra));
        return new ConfLoader().load(TestSpark.sampleConf(dataset), overrides);
    }

    /** A test's look at scored rows: all of them on the driver, ordered by row id. */
    public static List<Tuple3<Long, Double, double[]>> byRowId(JavaRDD<Tuple3<Long, Double, double[]>> scored) {
        return scored.collect().stream().sorted(Comparator.comparingLong(Tuple3::_1)).toList();
    }
}
