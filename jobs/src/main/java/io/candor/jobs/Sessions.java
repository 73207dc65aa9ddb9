package io.candor.jobs;

import io.candor.config.CandorConf;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

import java.util.function.Function;

/**
 * Opens the SparkSession a job runs in. A master set by spark-submit wins over {@code spark.master} of the conf. A
 * session that already exists (an application embedding Candor, or the tests) is reused and left open.
 */
final class Sessions {
    private Sessions() {
    }

    static <T> T withSession(CandorConf conf, Function<SparkSession, T> job) {
        boolean existing = SparkSession.getActiveSession().isDefined() || SparkSession.getDefaultSession().isDefined();
        SparkConf sparkConf = new SparkConf();
        SparkSession.Builder builder = SparkSession.builder().appName(conf.appName());
        if (!sparkConf.contains("spark.master")) {
            builder.master(conf.sparkMaster());
        }
        SparkSession spark = builder.getOrCreate();
        try {
            return job.apply(spark);
        } finally {
            if (!existing) {
                spark.stop();
            }
        }
    }
}
