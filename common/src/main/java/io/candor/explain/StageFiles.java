package io.candor.explain;

import io.candor.util.InputException;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkContext;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import scala.Option;

import java.io.IOException;
import java.io.UncheckedIOException;

/** How the explainer stages that hold a network save it: Spark ML metadata, and {@code network.zip} beside it. */
final class StageFiles {
    static final String NETWORK_FILE = "network.zip";

    private StageFiles() {
    }

    /** Writes the stage's metadata (Params) and, when it has one, its network. */
    static void save(Params stage, String path, SparkContext sc, byte[] networkZip) {
        DefaultParamsWriter$.MODULE$.saveMetadata(stage, path, sc, Option.empty(), Option.empty());
        if (networkZip != null) {
            writeBytes(sc, new Path(path, NETWORK_FILE), networkZip);
        }
    }

    /** The network saved with a stage, or null when it was saved without one. */
    static byte[] networkIfSaved(SparkContext sc, String path) {
        Path network = new Path(path, NETWORK_FILE);
        try {
            FileSystem fs = network.getFileSystem(sc.hadoopConfiguration());
            return fs.exists(network) ? readBytes(sc, network) : null;
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + network + " failed", e);
        }
    }

    static void writeBytes(SparkContext sc, Path file, byte[] bytes) {
        try {
            FileSystem fs = file.getFileSystem(sc.hadoopConfiguration());
            try (FSDataOutputStream out = fs.create(file, true)) {
                out.write(bytes);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + file + " failed", e);
        }
    }

    static byte[] readBytes(SparkContext sc, Path file) {
        try {
            FileSystem fs = file.getFileSystem(sc.hadoopConfiguration());
            try (FSDataInputStream in = fs.open(file)) {
                return in.readAllBytes();
            }
        } catch (IOException e) {
            throw new InputException("cannot read " + file + " (" + e.getMessage() + "; expected a directory written "
                    + "by the save of a Candor explainer stage)", e);
        }
    }
}
