package dev.cnfarm.cli.commands.models;

import dev.cnfarm.models.bundle.BundleBuilder;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A progress bar over the parameters a bundle build writes (millions of values). */
final class BundleProgress implements BundleBuilder.Progress, AutoCloseable {
    private ProgressBar bar;

    @Override
    public void update(long done, long total, String graph) {
        if (bar == null) {
            bar = new ProgressBarBuilder().setTaskName("weights").setInitialMax(Math.max(1, total / 1_000_000))
                    .setUnit(" M", 1).setStyle(ProgressBarStyle.UNICODE_BLOCK).setUpdateIntervalMillis(250).build();
        }
        bar.stepTo(done / 1_000_000);
        bar.setExtraMessage(graph);
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
        }
    }
}
