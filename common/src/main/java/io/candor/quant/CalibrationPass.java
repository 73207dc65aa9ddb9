package io.candor.quant;

import io.candor.data.Featurizer;
import io.candor.model.ExecutorNetworks;
import io.candor.model.Network;
import io.candor.util.Hashing;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Calibration of activation ranges as a Spark aggregation over the whole dataset (DESIGN §2.4): every executor
 * runs its rows through the network in batches and records, per layer output, the minimum and maximum (and for
 * the percentile method, a histogram over that range in a second pass); the driver merges them. Every worker of
 * quantisation-aware training then uses the same global ranges, instead of per-worker ranges that parameter
 * averaging would blur. The percentile method clips outliers (Krishnamoorthi 2018, §3.5): the range is the
 * {@code (100 − p)}-th to {@code p}-th percentile, resolved to one histogram bin.
 */
public final class CalibrationPass {
    private CalibrationPass() {
    }

    public enum Method { MIN_MAX, PERCENTILE }

    /**
     * @param percentile for PERCENTILE, e.g. 99.99 (the range keeps that share of values at each end's side)
     * @param bins histogram bins per layer for PERCENTILE
     */
    public record Options(Method method, double percentile, int bins, int batchRows) implements Serializable {
        public Options {
            if (method == Method.PERCENTILE && !(percentile > 50 && percentile <= 100)) {
                throw new IllegalArgumentException("percentile: " + percentile + " is outside (50, 100]");
            }
            if (bins < 2 || batchRows < 1) {
                throw new IllegalArgumentException("bins: " + bins + ", batchRows: " + batchRows
                        + " (expected bins >= 2 and batchRows >= 1)");
            }
        }
    }

    /** The calibrated range of one layer's output, and how many values it summarises. */
    public record LayerRange(int layer, String type, double min, double max, long values) implements Serializable {
        public QuantParams params() {
            return QuantParams.asymmetricUint8(min, max);
        }
    }

    /** The calibrated range of the network input, and of every layer's output in layer order. */
    public record Ranges(LayerRange input, List<LayerRange> layers) implements Serializable {
        public Ranges {
            layers = List.copyOf(layers);
        }
    }

    /**
     * @param rows rows with the model's {@code features} vector
     * @return the input's range, and one range per layer of the network, in layer order
     */
    public static Ranges run(SparkSession spark, Dataset<Row> rows, byte[] networkZip, Options options) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<byte[]> zip = jsc.broadcast(networkZip);
        String key = Hashing.sha256(networkZip);
        var features = rows.select(Featurizer.FEATURES).javaRDD();
        try {
            // Collected per partition and merged on the driver: an input with no partitions (limit 0) then has no
            // statistics instead of failing inside reduce().
            Extremes extremes = features.mapPartitions(it -> List.of(scan(it, key, zip, options.batchRows(), null))
                    .iterator()).collect().stream().reduce(Extremes::merge).orElse(null);
            if (extremes == null || extremes.count[0] == 0) {
                throw new io.candor.util.InputException("calibration: no rows (expected a non-empty dataset)");
            }
            List<String> types = layerTypes(Network.fromBytes(networkZip, "calibration").multiLayer());
            // Statistic 0 is the input, statistic l + 1 the output of layer l.
            List<LayerRange> ranges = new ArrayList<>();
            Extremes histograms = options.method() == Method.MIN_MAX ? null
                    : features.mapPartitions(it -> List.of(scan(it, key, zip, options.batchRows(),
                            new Histograms(extremes, options.bins()))).iterator()).reduce(Extremes::merge);
            for (int s = 0; s < extremes.min.length; s++) {
                double[] range = histograms == null ? new double[] {extremes.min[s], extremes.max[s]}
                        : histograms.histograms.percentileRange(s, options.percentile());
                ranges.add(new LayerRange(s - 1, s == 0 ? "input" : types.get(s - 1), range[0], range[1],
                        extremes.count[s]));
            }
            return new Ranges(ranges.get(0), ranges.subList(1, ranges.size()));
        } finally {
            zip.destroy();
        }
    }

    /** One partition's pass: batched forward passes, every layer's output folded into the statistics. */
    private static Extremes scan(Iterator<Row> rows, String key, Broadcast<byte[]> zip, int batchRows,
                                 Histograms histograms) {
        MultiLayerNetwork network = ExecutorNetworks.get(key, zip::value).multiLayer();
        int statistics = network.getnLayers() + 1;
        Extremes stats = new Extremes(statistics, histograms);
        List<Row> batch = new ArrayList<>(batchRows);
        while (rows.hasNext()) {
            batch.add(rows.next());
            if (batch.size() == batchRows || !rows.hasNext()) {
                int width = ((Vector) batch.get(0).get(0)).size();
                float[] flat = new float[batch.size() * width];
                for (int i = 0; i < batch.size(); i++) {
                    Vector v = (Vector) batch.get(i).get(0);
                    for (int j = 0; j < width; j++) {
                        flat[i * width + j] = (float) v.apply(j);
                    }
                }
                // feedForward returns the input at 0, then each layer's output.
                List<INDArray> activations = network.feedForward(Nd4j.create(flat, new long[] {batch.size(), width}, 'c'),
                        false);
                for (int s = 0; s < statistics; s++) {
                    stats.add(s, activations.get(s).castTo(DataType.DOUBLE).data().asDouble());
                }
                batch.clear();
            }
        }
        return stats;
    }

    private static List<String> layerTypes(MultiLayerNetwork network) {
        List<String> types = new ArrayList<>();
        for (int l = 0; l < network.getnLayers(); l++) {
            types.add(network.getLayer(l).conf().getLayer().getClass().getSimpleName());
        }
        return types;
    }

    /** Mergeable per-layer minimum, maximum and count, with optional histograms. */
    static final class Extremes implements Serializable {
        final double[] min;
        final double[] max;
        final long[] count;
        final Histograms histograms;

        Extremes(int layers, Histograms histograms) {
            min = new double[layers];
            max = new double[layers];
            count = new long[layers];
            java.util.Arrays.fill(min, Double.POSITIVE_INFINITY);
            java.util.Arrays.fill(max, Double.NEGATIVE_INFINITY);
            this.histograms = histograms;
        }

        void add(int layer, double[] values) {
            for (double v : values) {
                min[layer] = Math.min(min[layer], v);
                max[layer] = Math.max(max[layer], v);
            }
            count[layer] += values.length;
            if (histograms != null) {
                histograms.add(layer, values);
            }
        }

        Extremes merge(Extremes other) {
            for (int l = 0; l < min.length; l++) {
                min[l] = Math.min(min[l], other.min[l]);
                max[l] = Math.max(max[l], other.max[l]);
                count[l] += other.count[l];
            }
            if (histograms != null) {
                histograms.merge(other.histograms);
            }
            return this;
        }
    }

    /** Per-layer histograms over the global [min, max] of the first pass. */
    static final class Histograms implements Serializable {
        final double[] lo;
        final double[] width;
        final long[][] counts;

        Histograms(Extremes range, int bins) {
            int layers = range.min.length;
            lo = range.min.clone();
            width = new double[layers];
            counts = new long[layers][bins];
            for (int l = 0; l < layers; l++) {
                width[l] = (range.max[l] - range.min[l]) / bins;
            }
        }

        void add(int layer, double[] values) {
            long[] c = counts[layer];
            for (double v : values) {
                int bin = width[layer] > 0 ? (int) ((v - lo[layer]) / width[layer]) : 0;
                c[Math.min(c.length - 1, Math.max(0, bin))]++;
            }
        }

        void merge(Histograms other) {
            for (int l = 0; l < counts.length; l++) {
                for (int b = 0; b < counts[l].length; b++) {
                    counts[l][b] += other.counts[l][b];
                }
            }
        }

        /** [lower edge of the bin holding the (100 − p)-th percentile, upper edge of the bin of the p-th]. */
        double[] percentileRange(int layer, double percentile) {
            long[] c = counts[layer];
            long total = 0;
            for (long n : c) {
                total += n;
            }
            long tail = (long) Math.floor(total * (100 - percentile) / 100);
            int low = 0;
            long seen = c[0];
            while (seen <= tail && low < c.length - 1) {
                seen += c[++low];
            }
            int high = c.length - 1;
            seen = c[high];
            while (seen <= tail && high > 0) {
                seen += c[--high];
            }
            return new double[] {lo[layer] + low * width[layer], lo[layer] + (high + 1) * width[layer]};
        }
    }
}
