package dev.cnfarm.cli.eval;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * A grid of images with a label under each and an optional coloured frame (green: scored right,
 * red: wrong), as one PNG: how a person looks at a whole job or an evaluation at once.
 */
public final class ContactSheet {
    /** One cell: the image, up to two lines of label, and a frame colour (null for none). */
    public record Cell(BufferedImage image, String line1, String line2, Color frame) {}

    private ContactSheet() {}

    public static void write(Path png, String title, List<Cell> cells, int columns, int tile) throws IOException {
        int cols = Math.max(1, Math.min(columns, cells.size()));
        int rows = (cells.size() + cols - 1) / cols;
        int labelH = 28;
        int pad = 6;
        int titleH = title == null ? 0 : 26;
        int w = cols * (tile + pad) + pad;
        int h = titleH + rows * (tile + labelH + pad) + pad;
        BufferedImage sheet = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = sheet.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, h);
            g.setColor(Color.BLACK);
            if (title != null) {
                g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
                g.drawString(title, pad, 18);
            }
            Font small = new Font(Font.SANS_SERIF, Font.PLAIN, 10);
            for (int i = 0; i < cells.size(); i++) {
                Cell c = cells.get(i);
                int x = pad + (i % cols) * (tile + pad);
                int y = titleH + pad + (i / cols) * (tile + labelH + pad);
                g.drawImage(c.image(), x, y, tile, tile, null);
                if (c.frame() != null) {
                    g.setColor(c.frame());
                    g.setStroke(new BasicStroke(3));
                    g.drawRect(x - 1, y - 1, tile + 1, tile + 1);
                }
                g.setColor(Color.BLACK);
                g.setFont(small);
                g.drawString(fit(g, c.line1(), tile), x, y + tile + 11);
                if (c.line2() != null) {
                    g.setColor(new Color(90, 90, 90));
                    g.drawString(fit(g, c.line2(), tile), x, y + tile + 23);
                }
            }
        } finally {
            g.dispose();
        }
        ImageIO.write(sheet, "png", png.toFile());
    }

    private static String fit(Graphics2D g, String s, int width) {
        if (s == null) {
            return "";
        }
        String t = s;
        while (t.length() > 3 && g.getFontMetrics().stringWidth(t) > width) {
            t = t.substring(0, t.length() - 2);
        }
        return t.equals(s) ? s : t + "…";
    }
}
