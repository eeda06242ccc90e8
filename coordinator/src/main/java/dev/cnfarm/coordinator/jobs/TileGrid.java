package dev.cnfarm.coordinator.jobs;

import dev.cnfarm.proto.v1.JobSpec;
import dev.cnfarm.proto.v1.TiledUpscale;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a tiled upscale's tiles lie on the enlarged image: along each side, tiles of {@code tile}
 * pixels starting every {@code tile - overlap} pixels, the last one moved back to end at the edge
 * (so every tile has the full size and neighbours overlap by at least {@code overlap}).
 *
 * @param fullWidth  the enlarged image's width
 * @param fullHeight its height
 * @param tileWidth  each tile's width (the tile size, or the whole width when that is smaller)
 * @param tileHeight each tile's height
 * @param xs         the tiles' left edges
 * @param ys         the tiles' top edges
 */
public record TileGrid(int fullWidth, int fullHeight, int tileWidth, int tileHeight, List<Integer> xs, List<Integer> ys) {

    /** The grid of a job's upscale, for its base image size. */
    public static TileGrid of(JobSpec spec) {
        TiledUpscale u = spec.getUpscale();
        return of(JobExpander.hiresSide(spec.getWidth(), u.getScale()), JobExpander.hiresSide(spec.getHeight(), u.getScale()), u.getTile(),
                u.getOverlap());
    }

    public static TileGrid of(int fullWidth, int fullHeight, int tile, int overlap) {
        return new TileGrid(fullWidth, fullHeight, Math.min(tile, fullWidth), Math.min(tile, fullHeight), starts(fullWidth, tile, overlap),
                starts(fullHeight, tile, overlap));
    }

    private static List<Integer> starts(int full, int tile, int overlap) {
        List<Integer> out = new ArrayList<>();
        if (full <= tile) {
            out.add(0);
            return out;
        }
        int step = tile - overlap;
        for (int x = 0; ; x += step) {
            if (x + tile >= full) {
                out.add(full - tile);
                return out;
            }
            out.add(x);
        }
    }

    /** Tiles per image. */
    public int count() {
        return xs.size() * ys.size();
    }

    /** Tile {@code t}'s left edge (tiles go row by row). */
    public int x(int t) {
        return xs.get(t % xs.size());
    }

    public int y(int t) {
        return ys.get(t / xs.size());
    }
}
