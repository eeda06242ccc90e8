package dev.cnfarm.cli.eval;

import dev.cnfarm.trainer.data.HeldOutPairs;
import dev.cnfarm.trainer.data.NamedColour;
import dev.cnfarm.trainer.data.ShapeKind;
import dev.cnfarm.trainer.data.ShapeScene;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The captions an evaluation asks for: colour/shape/background combinations drawn from a seed, a
 * quarter of them colour/shape pairs the model never saw in training (the held-out pairs), so
 * composing what it learned apart is measured too.
 */
public final class EvalCaptions {
    /** One caption and what its image should show. */
    public record Case(int index, ShapeKind kind, NamedColour colour, NamedColour background, boolean heldOut, long seed) {
        public String caption() {
            return ShapeScene.caption(kind, colour, background);
        }
    }

    private EvalCaptions() {}

    public static List<Case> draw(int count, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Case> out = new ArrayList<>();
        ShapeKind[] kinds = ShapeKind.values();
        NamedColour[] colours = NamedColour.values();
        while (out.size() < count) {
            boolean wantHeldOut = out.size() % 4 == 3;
            ShapeKind k = kinds[rnd.nextInt(kinds.length)];
            NamedColour c = colours[rnd.nextInt(colours.length)];
            NamedColour bg = colours[rnd.nextInt(colours.length)];
            if (bg == c || HeldOutPairs.heldOut(c, k) != wantHeldOut) {
                continue;
            }
            out.add(new Case(out.size(), k, c, bg, wantHeldOut, seed * 1000 + out.size()));
        }
        return out;
    }
}
