package dev.cnfarm.models.arch;

/**
 * The size a graph is checked and costed at: batch (2 with classifier-free guidance) and latent
 * height and width (the image is 8 times larger). The ONNX graphs keep these dimensions dynamic.
 */
public record RefSize(int batch, int latentHeight, int latentWidth) {
    /** 512x512 images with classifier-free guidance. */
    public static RefSize sd15Default() {
        return new RefSize(2, 64, 64);
    }

    public static RefSize ofImage(int batch, int width, int height) {
        if (width % 8 != 0 || height % 8 != 0) {
            throw new IllegalArgumentException("image size " + width + "x" + height + " must be a multiple of 8");
        }
        return new RefSize(batch, height / 8, width / 8);
    }

    public int imageHeight() {
        return latentHeight * 8;
    }

    public int imageWidth() {
        return latentWidth * 8;
    }
}
