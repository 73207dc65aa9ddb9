package io.candor.model;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.candor.data.Featurizer;
import io.candor.util.InputException;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.util.Map;

/**
 * A model as Candor stores it, one directory per (model, variant) under {@code <root>/models/}:
 * {@code network.zip} (DL4J ModelSerializer, no updater state), {@code candor.json} ({@link ArtifactMetadata}) and
 * {@code featurizer/} (the fitted Spark ML pipeline). Saving is all-or-nothing: files go to a staging directory that
 * replaces the previous artifact only once complete.
 */
public record ModelArtifact(ArtifactMetadata metadata, byte[] networkZip, PipelineModel pipeline,
                            Map<String, byte[]> extraFiles) {
    public static final String NETWORK = "network.zip";
    public static final String METADATA = "candor.json";
    public static final String FEATURIZER = "featurizer";
    /** Upper bound on a network zip read back; larger is treated as corrupt rather than risking the driver's heap. */
    static final long MAX_NETWORK_BYTES = 2L << 30;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public ModelArtifact {
        extraFiles = Map.copyOf(extraFiles);
    }

    public ModelArtifact(ArtifactMetadata metadata, byte[] networkZip, PipelineModel pipeline) {
        this(metadata, networkZip, pipeline, Map.of());
    }

    public Network network() {
        return Network.fromBytes(networkZip, metadata.model() + "/" + metadata.variant());
    }

    public Featurizer featurizer() {
        return new Featurizer(pipeline, metadata.normalizer(), metadata.layout());
    }

    /** The artifact directory of {@code variant} of the conf's model: {@code <modelsRoot>/<model>/<variant>}. */
    public static Path directory(io.candor.config.CandorConf conf, String variant) {
        return new Path(new Path(conf.modelsRoot(), conf.modelName()), variant);
    }

    public void save(SparkSession spark, Path dir, String runId) {
        try {
            FileSystem fs = dir.getFileSystem(spark.sparkContext().hadoopConfiguration());
            Path staging = new Path(dir.getParent(), "." + dir.getName() + ".staging-" + runId);
            fs.delete(staging, true);
            fs.mkdirs(staging);
            try (FSDataOutputStream out = fs.create(new Path(staging, NETWORK))) {
                out.write(networkZip);
            }
            try (FSDataOutputStream out = fs.create(new Path(staging, METADATA))) {
                out.write(JSON.writeValueAsBytes(metadata));
            }
            pipeline.write().overwrite().save(new Path(staging, FEATURIZER).toString());
            for (Map.Entry<String, byte[]> file : extraFiles.entrySet()) {
                try (FSDataOutputStream out = fs.create(new Path(staging, file.getKey()))) {
                    out.write(file.getValue());
                }
            }
            if (fs.exists(dir) && !fs.delete(dir, true)) {
                throw new IOException("cannot replace " + dir);
            }
            if (!fs.rename(staging, dir)) {
                throw new IOException("cannot move " + staging + " to " + dir);
            }
        } catch (IOException e) {
            throw new IllegalStateException("writing model artifact " + dir + " failed: " + e.getMessage(), e);
        }
    }

    public static ModelArtifact load(SparkSession spark, Path dir) {
        try {
            FileSystem fs = dir.getFileSystem(spark.sparkContext().hadoopConfiguration());
            Path networkPath = new Path(dir, NETWORK);
            Path metadataPath = new Path(dir, METADATA);
            if (!fs.exists(networkPath) || !fs.exists(metadataPath)) {
                throw new InputException("model artifact " + dir + ": " + NETWORK + " or " + METADATA
                        + " is missing (expected a directory written by candor train)");
            }
            ArtifactMetadata metadata;
            try (FSDataInputStream in = fs.open(metadataPath)) {
                metadata = JSON.readValue((java.io.InputStream) in, ArtifactMetadata.class);
            }
            if (metadata.formatVersion() != ArtifactMetadata.FORMAT_VERSION) {
                throw new InputException("model artifact " + dir + ": format version " + metadata.formatVersion()
                        + " (expected " + ArtifactMetadata.FORMAT_VERSION + ")");
            }
            long size = fs.getFileStatus(networkPath).getLen();
            if (size > MAX_NETWORK_BYTES) {
                throw new InputException("model artifact " + dir + ": " + NETWORK + " is " + size
                        + " bytes (expected at most " + MAX_NETWORK_BYTES + ")");
            }
            byte[] zip = new byte[(int) size];
            try (FSDataInputStream in = fs.open(networkPath)) {
                in.readFully(zip);
            }
            PipelineModel pipeline = PipelineModel.load(new Path(dir, FEATURIZER).toString());
            return new ModelArtifact(metadata, zip, pipeline);
        } catch (IOException e) {
            throw new InputException("model artifact " + dir + ": cannot be read: " + e.getMessage(), e);
        }
    }

    /** Reads a DL4J zip a user brings (any Hadoop path), bounded in size. */
    public static byte[] readNetworkZip(SparkSession spark, String path) {
        try {
            Path p = new Path(path);
            FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            if (!fs.exists(p)) {
                throw new InputException("model " + path + ": does not exist (expected a DL4J ModelSerializer zip)");
            }
            long size = fs.getFileStatus(p).getLen();
            if (size == 0 || size > MAX_NETWORK_BYTES) {
                throw new InputException("model " + path + ": is " + size + " bytes (expected a DL4J zip of 1 byte to "
                        + MAX_NETWORK_BYTES + " bytes)");
            }
            byte[] zip = new byte[(int) size];
            try (FSDataInputStream in = fs.open(p)) {
                in.readFully(zip);
            }
            return zip;
        } catch (IOException e) {
            throw new InputException("model " + path + ": cannot be read: " + e.getMessage(), e);
        }
    }
}
