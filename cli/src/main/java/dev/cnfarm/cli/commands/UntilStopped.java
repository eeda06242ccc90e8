package dev.cnfarm.cli.commands;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import sun.misc.Signal;

/**
 * Keeps a long-running command (up, infra, coordinator, worker) alive until the process is asked
 * to stop (Ctrl-C, SIGTERM), then closes what it runs: a worker drains, the servers shut down.
 *
 * <p>SIGTERM and SIGINT are handled here, before the JVM begins to shut down, and the process
 * exits only once the service has closed. A shutdown hook would not do for a worker: the JVM runs
 * all shutdown hooks at once, and ONNX Runtime's own hook frees its native environment while the
 * drain is still rendering, which crashes the process (seen as SIGSEGV in libonnxruntime).
 */
final class UntilStopped {
    private UntilStopped() {}

    static void run(AutoCloseable service) {
        CountDownLatch stopped = new CountDownLatch(1);
        AtomicBoolean closing = new AtomicBoolean();
        Runnable close = () -> {
            if (!closing.compareAndSet(false, true)) {
                return;
            }
            try {
                service.close();
            } catch (Exception e) {
                System.err.println("shutdown: " + e);
            } finally {
                stopped.countDown();
            }
        };
        for (String name : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(name), sig -> new Thread(close, "farm-stop-" + name).start());
        }
        // other ways out (System.exit elsewhere, SIGHUP) still close the service, as well as they can
        Runtime.getRuntime().addShutdownHook(new Thread(close, "farm-shutdown"));
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
