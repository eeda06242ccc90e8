package dev.cnfarm.trainer.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** A training run's loss against its steps, drawn as a PNG: each step's loss and a running mean. */
public final class LossCurve {
    private LossCurve() {}

    /** @param losses [step, loss] pairs */
    public static void write(Path png, String title, List<double[]> losses) {
        XYSeries raw = new XYSeries("loss");
        XYSeries smooth = new XYSeries("running mean (100 steps)");
        double mean = Double.NaN;
        for (double[] l : losses) {
            if (!(l[1] > 0) || Double.isInfinite(l[1])) {
                continue;
            }
            raw.add(l[0], l[1]);
            mean = Double.isNaN(mean) ? l[1] : mean * 0.99 + l[1] * 0.01;
            smooth.add(l[0], mean);
        }
        XYSeriesCollection data = new XYSeriesCollection();
        data.addSeries(raw);
        data.addSeries(smooth);
        JFreeChart chart = ChartFactory.createXYLineChart(title, "step", "loss", data, PlotOrientation.VERTICAL, true, false, false);
        if (raw.getItemCount() > 0) {
            LogAxis y = new LogAxis("loss (log scale)");
            y.setSmallestValue(1e-6);
            // plain numbers at the ticks (0.05, 0.1, ...), not powers of ten with fractional exponents
            y.setNumberFormatOverride(new java.text.DecimalFormat("0.####"));
            chart.getXYPlot().setRangeAxis(y);
        }
        chart.getXYPlot().getRenderer().setSeriesPaint(0, new java.awt.Color(150, 180, 230));
        chart.getXYPlot().getRenderer().setSeriesPaint(1, new java.awt.Color(200, 40, 40));
        chart.getXYPlot().setBackgroundPaint(java.awt.Color.WHITE);
        try {
            ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 500);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + png + ": " + e.getMessage(), e);
        }
    }
}
