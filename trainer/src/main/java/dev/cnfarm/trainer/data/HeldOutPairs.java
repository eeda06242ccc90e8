package dev.cnfarm.trainer.data;

import java.util.ArrayList;
import java.util.List;

/**
 * Colour/shape pairs the training split never shows (the shape's colour and kind; backgrounds are
 * free): ten of the sixty, two per kind, so an evaluation can ask whether the model composes a
 * colour and a shape it has only seen apart. A pair (colour i, kind k) is held out when
 * (i + 2k) mod 12 is 0 or 7, with i and k the palette's and the kinds' order.
 */
public final class HeldOutPairs {
    private HeldOutPairs() {}

    public static boolean heldOut(NamedColour colour, ShapeKind kind) {
        int v = (colour.ordinal() + 2 * kind.ordinal()) % NamedColour.values().length;
        return v == 0 || v == 7;
    }

    /** The held-out pairs as captions' words, e.g. {@code red circle}. */
    public static List<String> describe() {
        List<String> out = new ArrayList<>();
        for (ShapeKind k : ShapeKind.values()) {
            for (NamedColour c : NamedColour.values()) {
                if (heldOut(c, k)) {
                    out.add(c.word() + " " + k.word());
                }
            }
        }
        return out;
    }
}
