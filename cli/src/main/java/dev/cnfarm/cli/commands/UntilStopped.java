package dev.cnfarm.cli.commands;

import java.util.concurrent.CountDownLatch;

/**
 * Keeps a long-running command (up, infra, coordinator, worker) alive until the process is asked
 * to stop (Ctrl-C, SIGTERM), then closes what it runs: a worker drains, the servers shut down.
 */
final class UntilStopped {
    private UntilStopped() {}

    static void run(AutoCloseable service) {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                service.close();
            } catch (Exception e) {
                System.err.println("shutdown: " + e);
            } finally {
                stopped.countDown();
            }
        }, "farm-shutdown"));
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
