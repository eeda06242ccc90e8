package dev.cnfarm.loadtests.report;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/** Charts for benchmark reports, drawn with JFreeChart into PNG files. */
public final class Charts {
    private Charts() {}

    /** A horizontal bar chart of one value per label. */
    public static void bars(Path png, String title, String valueAxis, Map<String, Double> values) throws IOException {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        values.forEach((label, v) -> data.addValue(v, valueAxis, label));
        JFreeChart chart = ChartFactory.createBarChart(title, null, valueAxis, data, PlotOrientation.HORIZONTAL, false, false, false);
        chart.setBackgroundPaint(Color.WHITE);
        CategoryPlot plot = chart.getCategoryPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        BarRenderer r = (BarRenderer) plot.getRenderer();
        r.setBarPainter(new StandardBarPainter());
        r.setSeriesPaint(0, new Color(0x3b6ea5));
        r.setDefaultItemLabelsVisible(true);
        r.setDefaultItemLabelGenerator(new org.jfree.chart.labels.StandardCategoryItemLabelGenerator("{2}",
                new java.text.DecimalFormat("#,##0.0")));
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 120 + 60 * values.size());
    }

    /** Lines through (x, y) points, one per series, e.g. a scaling curve. */
    public static void lines(Path png, String title, String xAxis, String yAxis, Map<String, Map<Double, Double>> series)
            throws IOException {
        lines(png, title, xAxis, yAxis, series, Map.of());
    }

    /**
     * Lines with vertical markers at some x values, e.g. the faults of a soak over its timeline:
     * red for labels starting with "coordinator", orange for the rest; an empty label draws none.
     */
    public static void lines(Path png, String title, String xAxis, String yAxis, Map<String, Map<Double, Double>> series,
                             Map<Double, String> markers) throws IOException {
        org.jfree.data.xy.XYSeriesCollection data = new org.jfree.data.xy.XYSeriesCollection();
        series.forEach((name, points) -> {
            org.jfree.data.xy.XYSeries s = new org.jfree.data.xy.XYSeries(name);
            points.forEach(s::add);
            data.addSeries(s);
        });
        JFreeChart chart = ChartFactory.createXYLineChart(title, xAxis, yAxis, data, PlotOrientation.VERTICAL, true, false, false);
        chart.setBackgroundPaint(Color.WHITE);
        org.jfree.chart.plot.XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        org.jfree.chart.renderer.xy.XYLineAndShapeRenderer r = new org.jfree.chart.renderer.xy.XYLineAndShapeRenderer(true, markers.isEmpty());
        plot.setRenderer(r);
        markers.forEach((x, label) -> {
            org.jfree.chart.plot.ValueMarker m = new org.jfree.chart.plot.ValueMarker(x);
            m.setPaint(label.startsWith("coordinator") ? new Color(0xc0392b) : new Color(0xe67e22));
            m.setStroke(new java.awt.BasicStroke(1.2f));
            if (label.isEmpty()) {
                plot.addDomainMarker(m);
                return; // unlabelled: many close together would print over each other
            }
            m.setLabel(label);
            m.setLabelFont(new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.PLAIN, 10));
            m.setLabelAnchor(org.jfree.chart.ui.RectangleAnchor.TOP_LEFT);
            m.setLabelTextAnchor(org.jfree.chart.ui.TextAnchor.TOP_RIGHT);
            plot.addDomainMarker(m);
        });
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 1000, 500);
    }
}
