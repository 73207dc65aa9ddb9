package io.candor.store;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

import java.util.List;

/**
 * Writes result tables as Parquet under {@code <root>/<table>/}, partitioned as {@link Table} says. Partition
 * replacement uses Spark's dynamic partition overwrite: the job writes to a staging directory and swaps in only the
 * partitions it produced, so a re-run of a date replaces that date and a failed run leaves earlier ones as they were.
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

    /** Writes {@code rows} (in the table's schema order) and returns the table's path. */
    public String write(Table table, List<Row> rows) {
        Dataset<Row> frame = spark.createDataFrame(rows, table.schema()).coalesce(1);
        String path = path(table);
        var writer = frame.write().format("parquet")
                .partitionBy(table.partitionColumns().toArray(new String[0]));
        if (table.mode() == Table.Mode.APPEND) {
            writer.mode(SaveMode.Append).save(path);
        } else {
            writer.mode(SaveMode.Overwrite).option("partitionOverwriteMode", "dynamic").save(path);
        }
        return path;
    }

    public Dataset<Row> read(Table table) {
        return spark.read().parquet(path(table));
    }
}
