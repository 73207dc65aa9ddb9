package io.candor.store;

import io.candor.config.CandorConf;
import io.candor.util.CandorVersion;
import io.candor.util.Hashing;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;

import java.sql.Timestamp;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** One row of the {@code runs} table: provenance of a run attempt. */
public record RunRecord(String runId, String job, String model, String variant, Instant startedAt, Instant finishedAt,
                        String status, CandorConf conf, long rows, String dataFingerprint, SparkSession spark) {

    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss").withZone(ZoneOffset.UTC);

    /** A readable, unique id: job, UTC start time, and a hash of the start instant and JVM identity. */
    public static String newRunId(String job, Instant started) {
        String salt = started.toString() + System.nanoTime() + ProcessHandle.current().pid();
        return job + "-" + STAMP.format(started) + "-" + Hashing.sha256(salt).substring(0, 8);
    }

    /** The ND4J backend the run computed on (CPU or CUDA). */
    public static String backend() {
        return org.nd4j.linalg.factory.Nd4j.getBackend().getClass().getSimpleName();
    }

    public Row toRow() {
        return RowFactory.create(runId, job, model, variant, Timestamp.from(startedAt), Timestamp.from(finishedAt), status,
                conf.rendered(), conf.sha256(), conf.dataset().path(), rows, dataFingerprint, conf.seed(),
                spark.sparkContext().applicationId(), spark.sparkContext().master(), CandorVersion.VERSION, backend(),
                conf.date().toString());
    }
}
