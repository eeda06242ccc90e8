package dev.cnfarm.trainer.torch;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Moving data between Java arrays and libtorch tensors, and the process-wide settings the trainer
 * relies on. Tensors made here own their memory (copied out of the Java array), so they outlive the
 * array and can be released with their {@link org.bytedeco.javacpp.PointerScope}.
 */
public final class Torch {
    private Torch() {}

    /**
     * Checks the process-wide settings training relies on. OpenBLAS, under libtorch's matrix
     * products, starts its own threads beside libtorch's OpenMP ones; on a small machine they fight
     * over the cores and small products (the ones a small model is made of) run 5 to 15 times
     * slower. OpenBLAS reads its thread count only from the environment at load, so the launchers
     * ({@code farm}, the test configuration) set {@code OPENBLAS_NUM_THREADS=1}; this warns when it
     * is missing.
     */
    public static void configure() {
        if (!"1".equals(System.getenv("OPENBLAS_NUM_THREADS"))) {
            System.err.println("warning: OPENBLAS_NUM_THREADS is not 1; training runs several times slower "
                    + "(the farm command sets it; set it yourself when starting the JVM another way)");
        }
    }

    /**
     * Intra-op threads of libtorch. Training is reproducible to the bit for a given thread count
     * (CPU reductions split their work by thread), so the trainer fixes it.
     */
    public static void threads(int n) {
        torch.set_num_threads(n);
    }

    /** A float32 tensor holding a copy of {@code data} with the given shape. */
    public static Tensor floats(float[] data, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape) + " holds " + n + " values, got " + data.length);
        }
        try (FloatPointer p = new FloatPointer(data)) {
            return torch.from_blob(p, shape).clone();
        }
    }

    /** An int64 tensor holding a copy of {@code data} with the given shape. */
    public static Tensor longs(long[] data, long... shape) {
        try (LongPointer p = new LongPointer(data)) {
            return torch.from_blob(p, shape, new org.bytedeco.pytorch.TensorOptions(torch.ScalarType.Long)).clone();
        }
    }

    /** The values of a float tensor, in row-major order. */
    public static float[] toFloats(Tensor t) {
        Tensor c = t.detach().contiguous();
        if (c.scalar_type() != torch.ScalarType.Float) {
            c = c.to(torch.ScalarType.Float);
        }
        float[] out = new float[(int) c.numel()];
        c.data_ptr_float().get(out);
        return out;
    }

    public static long[] shape(Tensor t) {
        return t.sizes().vec().get();
    }

    public static double scalar(Tensor t) {
        return t.item_double();
    }
}
