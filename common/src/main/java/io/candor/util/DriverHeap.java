package io.candor.util;

import com.sun.management.GarbageCollectionNotificationInfo;

import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * This JVM's heap while a piece of work runs, for benchmarks that show what the driver holds: the peak live heap
 * (the number that grows if something keeps rows) and the peak heap used (garbage included, so it tracks the
 * collector's slack more than the program). The live heap is sampled by a full collection every
 * {@link #SAMPLE_SECONDS} seconds and read after every collection the JVM makes on its own, whose old generation
 * may still hold garbage, so it is an upper bound at the moments it is read. The forced collections pause only this
 * JVM: on a cluster the executors do not wait for them.
 */
public final class DriverHeap implements AutoCloseable {
    static final int SAMPLE_SECONDS = 2;
    private final AtomicLong peakAfterGc = new AtomicLong();
    private final java.util.concurrent.ScheduledExecutorService sampler =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "candor-driver-heap");
                t.setDaemon(true);
                return t;
            });
    private final List<NotificationEmitter> emitters = new ArrayList<>();
    private final NotificationListener listener = this::onGc;
    private final List<MemoryPoolMXBean> heapPools = ManagementFactory.getMemoryPoolMXBeans().stream()
            .filter(p -> p.getType() == MemoryType.HEAP).toList();

    /** Starts watching from a collected heap, so the peaks belong to the work that follows. */
    public static DriverHeap watch() {
        System.gc();
        DriverHeap heap = new DriverHeap();
        heap.heapPools.forEach(MemoryPoolMXBean::resetPeakUsage);
        heap.peakAfterGc.set(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (gc instanceof NotificationEmitter emitter) {
                emitter.addNotificationListener(heap.listener, null, null);
                heap.emitters.add(emitter);
            }
        }
        heap.sampler.scheduleAtFixedRate(System::gc, SAMPLE_SECONDS, SAMPLE_SECONDS,
                java.util.concurrent.TimeUnit.SECONDS);
        return heap;
    }

    /** Largest heap left after a collection since {@link #watch()}, in bytes. */
    public long peakLiveBytes() {
        return peakAfterGc.get();
    }

    /** Sum of the heap pools' peak use since {@link #watch()}, in bytes (an upper bound of the peak heap used). */
    public long peakUsedBytes() {
        return heapPools.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum();
    }

    /** The heap's limit ({@code -Xmx}), in bytes. */
    public static long maxBytes() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getMax();
    }

    private void onGc(Notification notification, Object handback) {
        if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(notification.getType())) {
            return;
        }
        GarbageCollectionNotificationInfo info =
                GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData());
        long after = 0;
        for (MemoryPoolMXBean pool : heapPools) {
            MemoryUsage usage = info.getGcInfo().getMemoryUsageAfterGc().get(pool.getName());
            if (usage != null) {
                after += usage.getUsed();
            }
        }
        peakAfterGc.accumulateAndGet(after, Math::max);
    }

    @Override
    public void close() {
        sampler.shutdownNow();
        for (NotificationEmitter emitter : emitters) {
            try {
                emitter.removeNotificationListener(listener);
            } catch (javax.management.ListenerNotFoundException e) {
                // already gone: nothing to undo
            }
        }
    }
}
