package dev.cnfarm.worker.engine;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

/** Where ONNX Runtime runs a worker's models: it adds itself to each session's options. */
public interface ExecutionProvider {
    /** "CPU" or "CUDA", as reported in heartbeats. */
    String name();

    void configure(OrtSession.SessionOptions options) throws OrtException;
}
