package dev.cnfarm.worker.preprocess;

/** How large an input image may be, in bytes and in pixels, before it is refused unread. */
public record ImageLimits(long maxBytes, long maxPixels) {
    /** 50 MB and 64 megapixels: far above any control image, far below what exhausts a worker. */
    public static ImageLimits defaults() {
        return new ImageLimits(50L * 1024 * 1024, 64L * 1024 * 1024);
    }
}
