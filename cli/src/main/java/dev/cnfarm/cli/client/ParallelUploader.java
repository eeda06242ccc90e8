package dev.cnfarm.cli.client;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Uploads many control images several at a time (a 1,000-row manifest often names hundreds of
 * files), with a progress bar. Files the farm already has cost one small request each, since
 * uploads are addressed by content.
 */
public final class ParallelUploader {
    private final FarmClient client;
    private final int parallelism;

    public ParallelUploader(FarmClient client, int parallelism) {
        this.client = client;
        this.parallelism = Math.max(1, parallelism);
    }

    /** Uploads every file; returns each file's object key. The first failure stops the run and is thrown. */
    public Map<Path, String> upload(List<Path> files, boolean showProgress) throws InterruptedException {
        Map<Path, String> keys = new LinkedHashMap<>();
        if (files.isEmpty()) {
            return keys;
        }
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(parallelism, files.size()));
        ProgressBar bar = showProgress ? new ProgressBarBuilder().setTaskName("uploading").setInitialMax(files.size())
                .setStyle(ProgressBarStyle.UNICODE_BLOCK).setUnit(" files", 1).build() : null;
        try {
            List<Future<String>> futures = new ArrayList<>();
            for (Path f : files) {
                futures.add(pool.submit(() -> {
                    String key = client.upload(f);
                    if (bar != null) {
                        bar.step();
                    }
                    return key;
                }));
            }
            for (int i = 0; i < files.size(); i++) {
                try {
                    keys.put(files.get(i), futures.get(i).get());
                } catch (ExecutionException e) {
                    Throwable c = e.getCause();
                    throw c instanceof RuntimeException r ? r : new IllegalStateException(c.getMessage(), c);
                }
            }
        } finally {
            pool.shutdownNow();
            if (bar != null) {
                bar.close();
            }
        }
        return keys;
    }
}
