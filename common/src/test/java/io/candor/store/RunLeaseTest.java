package io.candor.store;

import io.candor.util.InputException;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One holder per key at a time; a lease whose owner is gone is taken over, one whose owner lives is not. */
class RunLeaseTest {
    private static final String KEY = "audit/m/2026-01-01";
    private final Configuration hadoop = new Configuration();

    @TempDir
    Path root;

    private Path generation(long g) {
        return root.resolve(RunLease.LEASES).resolve(KEY).resolve(Long.toString(g));
    }

    private void writeLease(long g, RunLease.Owner owner) throws Exception {
        Files.createDirectories(generation(g).getParent());
        Files.write(generation(g), owner.toBytes());
    }

    private static RunLease.Owner thisProcess(String runId) {
        return RunLease.Owner.current(runId);
    }

    @Test
    void exactlyOneOfManyConcurrentAcquirersWins() throws Exception {
        int contenders = 8;
        ExecutorService pool = Executors.newFixedThreadPool(contenders);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Optional<RunLease>>> results = new ArrayList<>();
        for (int i = 0; i < contenders; i++) {
            String runId = "r" + i;
            results.add(pool.submit(() -> {
                start.await();
                return RunLease.tryAcquire(hadoop, root.toString(), KEY, runId);
            }));
        }
        start.countDown();
        List<RunLease> winners = new ArrayList<>();
        for (Future<Optional<RunLease>> f : results) {
            f.get().ifPresent(winners::add);
        }
        pool.shutdown();
        assertEquals(1, winners.size(), "holders of one key");
        assertEquals(winners.get(0).owner().runId(), RunLease.holder(hadoop, root.toString(), KEY).orElseThrow().runId());
        winners.get(0).close();
        assertTrue(RunLease.holder(hadoop, root.toString(), KEY).isEmpty(), "released");
        try (RunLease again = RunLease.acquire(hadoop, root.toString(), KEY, "next")) {
            assertEquals("next", again.owner().runId());
        }
    }

    @Test
    void aLiveHolderIsNamedInOneLineAndKeepsItsLease() {
        try (RunLease held = RunLease.acquire(hadoop, root.toString(), KEY, "first")) {
            InputException e = assertThrows(InputException.class,
                    () -> RunLease.acquire(hadoop, root.toString(), KEY, "second"));
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            assertTrue(e.getMessage().contains(KEY) && e.getMessage().contains("run first")
                    && e.getMessage().contains("pid " + ProcessHandle.current().pid()), e.getMessage());
            held.checkHeld();
        }
    }

    @Test
    void aLeaseWhoseProcessIsGoneIsTakenOver() throws Exception {
        RunLease.Owner me = thisProcess("dead");
        // This pid with another start time: the process that wrote it is gone and its pid was reused.
        writeLease(3, new RunLease.Owner("dead", me.host(), me.pid(), me.processStart() - 1, Instant.now()));
        try (RunLease taken = RunLease.acquire(hadoop, root.toString(), KEY, "alive")) {
            assertTrue(Files.exists(generation(4)), "the next generation");
            assertFalse(Files.exists(generation(3)), "the stale generation is removed by the new holder");
            taken.checkHeld();
        }
    }

    @Test
    void aLeaseFromAnotherHostIsStaleOnlyOnceItsHeartbeatIsOlderThanTheTtl() throws Exception {
        writeLease(1, new RunLease.Owner("remote", "another-host", 1, 1, Instant.now()));
        assertTrue(RunLease.tryAcquire(hadoop, root.toString(), KEY, "local").isEmpty(), "fresh remote lease");
        Instant expired = Instant.now().minus(RunLease.TTL).minusSeconds(60);
        Files.setLastModifiedTime(generation(1), FileTime.from(expired));
        try (RunLease taken = RunLease.acquire(hadoop, root.toString(), KEY, "local")) {
            assertEquals("local", RunLease.holder(hadoop, root.toString(), KEY).orElseThrow().runId());
        }
    }

    @Test
    void aHolderWhoseLeaseWasTakenOverCannotCommit() throws Exception {
        try (RunLease paused = RunLease.acquire(hadoop, root.toString(), KEY, "paused")) {
            // What a successor that judged the paused holder gone leaves: the next generation.
            writeLease(2, thisProcess("successor"));
            InputException e = assertThrows(InputException.class, paused::checkHeld);
            assertTrue(e.getMessage().contains("run successor"), e.getMessage());
        }
    }

    @Test
    void theHeartbeatRenewsTheLease() throws Exception {
        try (RunLease held = RunLease.acquire(hadoop, root.toString(), KEY, "beating")) {
            Files.setLastModifiedTime(generation(1), FileTime.from(Instant.now().minusSeconds(3600)));
            held.renewNow();
            long age = System.currentTimeMillis() - Files.getLastModifiedTime(generation(1)).toMillis();
            assertTrue(age < 60_000, "renewed " + age + " ms ago");
        }
    }
}
