import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.File;
import javax.imageio.ImageIO;

/**
 * Draws the sample control images of the demo job: white lines on black, like the edge and pose
 * maps ControlNet models take. Run from this folder with `java MakeControlImages.java`; the PNGs
 * are committed, so nobody needs to run it to use the demo.
 */
public class MakeControlImages {
    static final int S = 256;

    public static void main(String[] args) throws Exception {
        write("house", g -> {
            g.drawRect(60, 120, 136, 100);
            g.drawPolyline(new int[] {50, 128, 206}, new int[] {125, 50, 125}, 3);
            g.drawRect(110, 165, 36, 55);
            g.drawRect(75, 140, 25, 25);
            g.drawRect(156, 140, 25, 25);
        });
        write("face", g -> {
            g.drawOval(58, 38, 140, 180);
            g.drawOval(90, 100, 25, 15);
            g.drawOval(141, 100, 25, 15);
            g.drawLine(128, 115, 120, 150);
            g.drawArc(95, 140, 66, 40, 200, 140);
        });
        write("pose", g -> {
            int[][] joints = {{128, 50}, {128, 85}, {95, 90}, {75, 130}, {65, 170}, {161, 90}, {185, 125}, {205, 95},
                              {110, 150}, {105, 195}, {100, 235}, {146, 150}, {155, 195}, {165, 235}};
            int[][] limbs = {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {1, 5}, {5, 6}, {6, 7}, {1, 8}, {8, 9}, {9, 10}, {1, 11}, {11, 12}, {12, 13}};
            for (int[] l : limbs) {
                g.drawLine(joints[l[0]][0], joints[l[0]][1], joints[l[1]][0], joints[l[1]][1]);
            }
            for (int[] j : joints) {
                g.fillOval(j[0] - 5, j[1] - 5, 10, 10);
            }
        });
        write("mountains", g -> {
            g.drawPolyline(new int[] {0, 50, 90, 130, 180, 220, 256}, new int[] {200, 110, 160, 70, 150, 100, 170}, 7);
            g.drawOval(185, 25, 40, 40);
            g.drawLine(0, 230, 256, 225);
        });
    }

    interface Drawing {
        void draw(Graphics2D g);
    }

    static void write(String name, Drawing d) throws Exception {
        BufferedImage img = new BufferedImage(S, S, BufferedImage.TYPE_BYTE_GRAY);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.BLACK);
        g.fillRect(0, 0, S, S);
        g.setColor(Color.WHITE);
        g.setStroke(new BasicStroke(3f));
        d.draw(g);
        g.dispose();
        ImageIO.write(img, "png", new File("control/" + name + ".png"));
    }
}
