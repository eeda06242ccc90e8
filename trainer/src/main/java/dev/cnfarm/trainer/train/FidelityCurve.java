package dev.cnfarm.trainer.train;

import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** The samples' edge F1 against training steps, beside the base model's (control scale 0), as a PNG. */
public final class FidelityCurve {
    private FidelityCurve() {}

    public static void write(Path png, String title, List<SampleGrid> samples) {
        XYSeries trained = new XYSeries("edge F1 with the ControlNet");
        XYSeries base = new XYSeries("edge F1 of the base alone (control scale 0)");
        for (SampleGrid g : samples) {
            trained.add(g.step(), g.edgeF1());
            base.add(g.step(), g.baselineEdgeF1());
        }
        XYSeriesCollection data = new XYSeriesCollection();
        data.addSeries(trained);
        data.addSeries(base);
        JFreeChart chart = ChartFactory.createXYLineChart(title, "training step", "edge F1 (2-pixel tolerance)", data,
                PlotOrientation.VERTICAL, true, false, false);
        chart.getXYPlot().setBackgroundPaint(Color.WHITE);
        ((XYLineAndShapeRenderer) chart.getXYPlot().getRenderer()).setDefaultShapesVisible(true);
        chart.getXYPlot().getRenderer().setSeriesPaint(0, new Color(200, 40, 40));
        chart.getXYPlot().getRenderer().setSeriesPaint(1, new Color(120, 120, 120));
        chart.getXYPlot().getRangeAxis().setRange(0, 1);
        try {
            ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 500);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + png + ": " + e.getMessage(), e);
        }
    }
}
