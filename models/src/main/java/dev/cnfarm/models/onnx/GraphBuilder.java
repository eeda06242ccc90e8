package dev.cnfarm.models.onnx;

import com.google.protobuf.ByteString;
import dev.cnfarm.models.onnx.proto.Onnx.GraphProto;
import dev.cnfarm.models.onnx.proto.Onnx.ModelProto;
import dev.cnfarm.models.onnx.proto.Onnx.NodeProto;
import dev.cnfarm.models.onnx.proto.Onnx.OperatorSetIdProto;
import dev.cnfarm.models.onnx.proto.Onnx.TensorProto;
import dev.cnfarm.models.onnx.proto.Onnx.TensorShapeProto;
import dev.cnfarm.models.onnx.proto.Onnx.TypeProto;
import dev.cnfarm.models.onnx.proto.Onnx.ValueInfoProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Builds an ONNX graph node by node. Every value a node reads must exist already (a graph input,
 * an initializer or an earlier node's output), so a miswired graph fails here, with the value's
 * name, instead of later inside ONNX Runtime.
 */
public final class GraphBuilder {
    /** ONNX opset the farm's graphs are written against. */
    public static final int OPSET = 17;
    /** IR version matching opset 17. */
    public static final int IR_VERSION = 8;

    private final GraphProto.Builder graph;
    private final Set<String> values = new HashSet<>();
    private int nodeCount;

    public GraphBuilder(String name) {
        this.graph = GraphProto.newBuilder().setName(name);
    }

    /**
     * Declares a graph input.
     *
     * @param dims each a {@link Number} (fixed size) or a {@link String} (named, dynamic size)
     */
    public String input(String name, TensorProto.DataType type, Object... dims) {
        declare(name);
        graph.addInput(valueInfo(name, type, dims));
        return name;
    }

    /** Declares an existing value as a graph output. */
    public void output(String name, TensorProto.DataType type, Object... dims) {
        requireKnown(name, "graph output");
        graph.addOutput(valueInfo(name, type, dims));
    }

    /** A float32 constant tensor stored in the graph. */
    public String initializer(String name, float[] data, long... dims) {
        long count = 1;
        for (long d : dims) {
            count *= d;
        }
        if (count != data.length) {
            throw new IllegalArgumentException("initializer " + name + ": shape holds " + count + " values, data has " + data.length);
        }
        declare(name);
        ByteBuffer raw = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(data);
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .setRawData(ByteString.copyFrom(raw.array()));
        for (long d : dims) {
            t.addDims(d);
        }
        graph.addInitializer(t.build());
        return name;
    }

    /** An int64 constant tensor stored in the graph (shapes, axes). */
    public String initializerInt64(String name, long[] data, long... dims) {
        declare(name);
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE);
        for (long v : data) {
            t.addInt64Data(v);
        }
        for (long d : dims) {
            t.addDims(d);
        }
        graph.addInitializer(t.build());
        return name;
    }

    /** Adds a node with one output and returns the output's (generated) name. */
    public String node(String opType, List<String> inputs, Attr... attrs) {
        String out = opType.toLowerCase() + "_" + nodeCount;
        node(opType, inputs, List.of(out), attrs);
        return out;
    }

    /** Adds a node with named outputs. */
    public void node(String opType, List<String> inputs, List<String> outputs, Attr... attrs) {
        for (String in : inputs) {
            if (!in.isEmpty()) {
                requireKnown(in, opType + " node input");
            }
        }
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(opType).setName(opType + "_" + nodeCount++)
                .addAllInput(inputs).addAllOutput(outputs);
        for (Attr a : attrs) {
            n.addAttribute(a.proto());
        }
        for (String out : outputs) {
            declare(out);
        }
        graph.addNode(n.build());
    }

    public ModelProto build(String producer, String docString) {
        return ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .setProducerName(producer)
                .setDocString(docString)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setGraph(graph.build())
                .build();
    }

    private void declare(String name) {
        if (!values.add(name)) {
            throw new IllegalArgumentException("value '" + name + "' is defined twice in graph " + graph.getName());
        }
    }

    private void requireKnown(String name, String where) {
        if (!values.contains(name)) {
            throw new IllegalArgumentException(where + " '" + name + "' is not defined in graph " + graph.getName()
                    + " (declare inputs and initializers before the nodes that read them)");
        }
    }

    private static ValueInfoProto valueInfo(String name, TensorProto.DataType type, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Number n) {
                dim.setDimValue(n.longValue());
            } else if (d instanceof String s) {
                dim.setDimParam(s);
            } else {
                throw new IllegalArgumentException("dimension of " + name + " must be a number or a name, got " + d);
            }
            shape.addDim(dim);
        }
        return ValueInfoProto.newBuilder().setName(name)
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
                        .setElemType(type.getNumber()).setShape(shape)))
                .build();
    }
}
