package dev.cnfarm.trainer.train;

import java.nio.file.Path;

/**
 * Samples rendered during a training run: a grid of held-out rows (control map, sample, the data
 * set's image) and how closely the samples follow their maps.
 *
 * @param step           the optimiser step whose weights rendered them
 * @param edgeF1         mean edge F1 of the samples against their rows' edges (2-pixel tolerance)
 * @param baselineEdgeF1 the same rows at control scale 0 (the base model alone): what the ControlNet adds is the difference
 * @param grid           the grid as a PNG file
 * @param seconds        time taken to build the model and render the samples
 */
public record SampleGrid(long step, double edgeF1, double baselineEdgeF1, Path grid, double seconds) {}
