package dev.cnfarm.worker.render;

/** What a renderer needs for one image: the decoded control image and the sampling parameters. */
public record RenderRequest(float[] controlChw, int width, int height, long seed, int steps, String prompt,
                            float guidanceScale, float controlScale) {}
