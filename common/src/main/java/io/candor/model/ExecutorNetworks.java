package io.candor.model;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Networks (and views built from them) rebuilt on executors from broadcast bytes, cached so each is restored once
 * per task thread and reused by every task that thread runs. One instance per thread because DL4J networks are not
 * thread-safe.
 */
public final class ExecutorNetworks {
    private static final ThreadLocal<Map<String, Object>> CACHE = ThreadLocal.withInitial(HashMap::new);
    private static final int MAX_PER_THREAD = 8;

    private ExecutorNetworks() {
    }

    /** The thread's network for {@code key} (a content hash of the bytes), restored on first use. */
    public static Network get(String key, Supplier<byte[]> zip) {
        return cached(key, () -> Network.fromBytes(zip.get(), "broadcast " + key));
    }

    /** The thread's instance for {@code key}, made on first use. */
    @SuppressWarnings("unchecked")
    public static <T> T cached(String key, Supplier<T> factory) {
        Map<String, Object> cache = CACHE.get();
        Object value = cache.get(key);
        if (value == null) {
            if (cache.size() >= MAX_PER_THREAD) {
                cache.clear(); // a long-lived executor serves many runs; bound what each thread holds
            }
            value = factory.get();
            cache.put(key, value);
        }
        return (T) value;
    }
}
