package dev.cnfarm.worker.engine;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.common.config.WorkerSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the execution provider a worker was configured for. CUDA needs the GPU build of ONNX
 * Runtime (Maven profile {@code cuda}) and the CUDA 12 / cuDNN 9 libraries on the host; when it
 * cannot be used the worker says why and falls back to the CPU, or refuses to start when
 * {@code worker.require-cuda} is set.
 */
public final class ExecutionProviders {
    private static final Logger LOG = LoggerFactory.getLogger(ExecutionProviders.class);

    private ExecutionProviders() {}

    public static ExecutionProvider cpu() {
        return new ExecutionProvider() {
            @Override
            public String name() {
                return "CPU";
            }

            @Override
            public void configure(OrtSession.SessionOptions options) {
                // the CPU provider is always there
            }
        };
    }

    public static ExecutionProvider select(WorkerSettings settings) {
        if (!settings.executionProvider().equals("cuda")) {
            return cpu();
        }
        String problem = cudaProblem(settings.cudaDevice());
        if (problem == null) {
            int device = settings.cudaDevice();
            return new ExecutionProvider() {
                @Override
                public String name() {
                    return "CUDA";
                }

                @Override
                public void configure(OrtSession.SessionOptions options) throws OrtException {
                    options.addCUDA(device);
                }
            };
        }
        if (settings.requireCuda()) {
            throw new IllegalStateException("worker.require-cuda is set but CUDA cannot be used: " + problem);
        }
        LOG.warn("CUDA was asked for but cannot be used ({}); running on the CPU", problem);
        return cpu();
    }

    /** Why CUDA cannot be used, or null when a session can be given the CUDA provider. */
    static String cudaProblem(int device) {
        if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
            return "this build of ONNX Runtime has no CUDA provider (build the worker with -Pcuda)";
        }
        try (OrtSession.SessionOptions probe = new OrtSession.SessionOptions()) {
            probe.addCUDA(device);
            return null;
        } catch (OrtException e) {
            return "the CUDA provider did not load: " + e.getMessage()
                    + " (it needs CUDA 12 and cuDNN 9 libraries: libcudart.so.12, libcublas.so.12, libcudnn.so.9)";
        }
    }
}
