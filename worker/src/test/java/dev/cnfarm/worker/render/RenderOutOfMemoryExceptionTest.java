package dev.cnfarm.worker.render;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.models.interop.OnnxGraphs;
import dev.cnfarm.models.interop.TensorType;
import dev.cnfarm.models.onnx.proto.Onnx.GraphProto;
import dev.cnfarm.models.onnx.proto.Onnx.ModelProto;
import dev.cnfarm.models.onnx.proto.Onnx.NodeProto;
import dev.cnfarm.models.onnx.proto.Onnx.OperatorSetIdProto;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * An allocation ONNX Runtime cannot make is recognised as out of memory (an infrastructure fault,
 * retried smaller or elsewhere), not as the task's bad input, and the message names the size and
 * the buffer the runtime wanted. The failure is a real one: a graph asked for a 1 TiB tensor.
 */
class RenderOutOfMemoryExceptionTest {

    /** One node: a float tensor of the shape given at run time, filled with zeros. */
    private static byte[] constantOfShape() {
        GraphProto g = GraphProto.newBuilder().setName("alloc")
                .addInput(OnnxGraphs.valueInfo("shape", TensorType.INT64, List.of("1")))
                .addNode(NodeProto.newBuilder().setOpType("ConstantOfShape").addInput("shape").addOutput("zeros"))
                .addOutput(OnnxGraphs.valueInfo("zeros", TensorType.FLOAT32, List.of("n")))
                .build();
        return ModelProto.newBuilder().setIrVersion(8).addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .setGraph(g).build().toByteArray();
    }

    @Test
    void onnxRuntimesFailedAllocationIsOutOfMemoryNamingTheSizeAndTheBuffer() throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long elements = 1L << 38; // 1 TiB of floats: more than any machine that runs these tests has
        OrtException e;
        try (OrtSession session = env.createSession(constantOfShape(), new OrtSession.SessionOptions());
             OnnxTensor shape = OnnxTensor.createTensor(env, new long[] {elements})) {
            e = catchThrowableOfType(OrtException.class, () -> {
                try (OrtSession.Result r = session.run(Map.of("shape", shape))) {
                    r.get(0);
                }
            });
        }
        assertThat(e).as("ONNX Runtime refused the allocation").isNotNull();
        assertThat(RenderOutOfMemoryException.isAllocationFailure(e.getMessage())).as("recognised: %s", e.getMessage()).isTrue();

        RenderOutOfMemoryException oom = RenderOutOfMemoryException.of("shapes", 2048, 2048, 2, e.getMessage(), 24L << 30, e);
        assertThat(oom.requestedBytes()).isEqualTo(elements * 4);
        assertThat(oom.getMessage()).startsWith("out of memory rendering 2048x2048 on model shapes (a batch of 2 images)")
                .contains("a buffer of 1024.0 GiB could not be allocated", "this worker has 24.0 GiB of memory",
                        "Render at a smaller size, or on a worker with more memory");
    }

    @Test
    void otherRuntimeErrorsAreNotMistakenForOutOfMemory() {
        assertThat(RenderOutOfMemoryException.isAllocationFailure(
                "[ErrorCode:InvalidArgument] Got invalid dimensions for input: sample for the following indices index: 2 Got: 9 Expected: 8"))
                .isFalse();
        assertThat(RenderOutOfMemoryException.isAllocationFailure(null)).isFalse();
        assertThat(RenderOutOfMemoryException.isAllocationFailure("CUDA failure 2: out of memory ; GPU=0")).isTrue();
    }
}
