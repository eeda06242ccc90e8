package dev.cnfarm.cli.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.common.storage.Sha256;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Downloads a job's images through presigned links, several at a time. A file already there with
 * the right sha256 is skipped, so running it again fetches only what is missing; every download is
 * checked against its recorded sha256 and written atomically.
 */
public final class OutputDownloader {
    /** What a download run did. */
    public record Summary(int downloaded, int skipped, long bytes) {}

    private final FarmClient client;
    private final int parallelism;

    public OutputDownloader(FarmClient client, int parallelism) {
        this.client = client;
        this.parallelism = Math.max(1, parallelism);
    }

    public Summary download(String jobId, Path dir) throws IOException, InterruptedException {
        return download(jobId, dir, false);
    }

    /** @param showProgress draw a progress bar on the console (images checked or fetched) */
    public Summary download(String jobId, Path dir, boolean showProgress) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        JsonNode outputs = client.outputs(jobId).path("outputs");
        me.tongfei.progressbar.ProgressBar bar = showProgress && outputs.size() > 0
                ? new me.tongfei.progressbar.ProgressBarBuilder().setTaskName("downloading").setInitialMax(outputs.size())
                        .setStyle(me.tongfei.progressbar.ProgressBarStyle.UNICODE_BLOCK).setUnit(" images", 1).build()
                : null;
        AtomicInteger downloaded = new AtomicInteger();
        AtomicInteger skipped = new AtomicInteger();
        java.util.concurrent.atomic.AtomicLong bytes = new java.util.concurrent.atomic.AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(parallelism);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (JsonNode o : outputs) {
                futures.add(pool.submit(() -> {
                    Path target = dir.resolve(String.format("%06d.png", o.path("index").asInt()));
                    String sha = o.path("sha256").asText();
                    if (Files.isRegularFile(target) && sha.equals(sha256(target))) {
                        skipped.incrementAndGet();
                        if (bar != null) {
                            bar.step();
                        }
                        return null;
                    }
                    byte[] data = client.fetch(o.path("url").asText());
                    String got = Sha256.of(data);
                    if (!got.equals(sha)) {
                        throw new IOException("image " + o.path("key").asText() + " arrived with sha256 " + got + ", expected " + sha);
                    }
                    Path tmp = dir.resolve(target.getFileName() + ".part");
                    Files.write(tmp, data);
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                    downloaded.incrementAndGet();
                    bytes.addAndGet(data.length);
                    if (bar != null) {
                        bar.step();
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    Throwable c = e.getCause();
                    throw c instanceof IOException io ? io : new IOException(c.getMessage(), c);
                }
            }
        } finally {
            pool.shutdownNow();
            if (bar != null) {
                bar.close();
            }
        }
        return new Summary(downloaded.get(), skipped.get(), bytes.get());
    }

    private static String sha256(Path p) {
        try {
            return Sha256.of(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
