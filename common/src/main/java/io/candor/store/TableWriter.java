package io.candor.store;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

import java.util.List;
import java.util.UUID;

/**
 * Writes result tables as Parquet under {@code <root>/<table>/}, partitioned as {@link Table} says. Partition
 * replacement uses Spark's dynamic partition overwrite: the job writes to a staging directory and swaps in only the
 * partitions it produced, so a re-run of a date replaces that date and a failed run leaves earlier ones as they were.
 * Appends are written to a private directory first and their files renamed in, so processes appending to one table at
 * once neither lose nor duplicate rows.
 */
public final class TableWriter {
    private final SparkSession spark;
    private final String root;

    public TableWriter(SparkSession spark, String root) {
        this.spark = spark;
        this.root = root;
    }

    public String path(Table table) {
        return new Path(root, table.tableName()).toString();
    }

    /** Writes {@code rows} (in the table's schema order, few: one file per partition) and returns the table's path. */
    public String write(Table table, List<Row> rows) {
        return write(table, spark.createDataFrame(rows, table.schema()).coalesce(1));
    }

    /**
     * Writes {@code frame} (the table's columns, by name) from the executors, one file per task and partition, with
     * the same commit as {@link #write(Table, List)}; returns the table's path. Readers sort: file order says nothing.
     */
    public String write(Table table, Dataset<Row> frame) {
        String[] columns = table.schema().fieldNames();
        frame = frame.select(columns[0], java.util.Arrays.copyOfRange(columns, 1, columns.length));
        String path = path(table);
        var writer = frame.write().format("parquet")
                .partitionBy(table.partitionColumns().toArray(new String[0]));
        if (table.mode() == Table.Mode.APPEND) {
            Path privateDir = new Path(new Path(root, StagedCommit.STAGING),
                    StagedCommit.APPEND_PREFIX + UUID.randomUUID());
            Path staged = new Path(privateDir, table.tableName());
            writer.mode(SaveMode.ErrorIfExists).save(staged.toString());
            StagedCommit.appendStaged(spark, root, staged, table);
        } else {
            writer.mode(SaveMode.Overwrite).option("partitionOverwriteMode", "dynamic").save(path);
        }
        return path;
    }

    public Dataset<Row> read(Table table) {
        return spark.read().parquet(path(table));
    }
}
