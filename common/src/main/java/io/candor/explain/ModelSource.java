package io.candor.explain;

import java.io.Serializable;

/** Where a Spark task gets its {@link BatchModel}: shipped in the closure, opened on the executor. */
@FunctionalInterface
public interface ModelSource extends Serializable {
    BatchModel open();
}
