package dev.cnfarm.models.onnx;

import com.google.protobuf.ByteString;
import dev.cnfarm.models.onnx.proto.Onnx.GraphProto;
import dev.cnfarm.models.onnx.proto.Onnx.ModelProto;
import dev.cnfarm.models.onnx.proto.Onnx.NodeProto;
import dev.cnfarm.models.onnx.proto.Onnx.OperatorSetIdProto;
import dev.cnfarm.models.onnx.proto.Onnx.StringStringEntryProto;
import dev.cnfarm.models.onnx.proto.Onnx.TensorProto;
import dev.cnfarm.models.onnx.proto.Onnx.TensorProto.DataType;
import dev.cnfarm.models.onnx.proto.Onnx.TensorShapeProto;
import dev.cnfarm.models.onnx.proto.Onnx.TypeProto;
import dev.cnfarm.models.onnx.proto.Onnx.ValueInfoProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds an ONNX graph node by node while tracking every value's shape at a reference size.
 *
 * <p>Checks happen as the graph is built: a node may only read values that exist, and the layer
 * operations of the ONNX backend ({@code dev.cnfarm.models.nn.OnnxNn}) check shapes against each other, so a miswired
 * model fails here with the layer's name instead of inside ONNX Runtime. Parameters are recorded
 * as {@link ParamSpec}s and only materialised when the model is written ({@link #build}), so the
 * full SD1.5 graphs can be described (parameter counts, FLOPs) without allocating their weights.
 */
public final class GraphBuilder {
    /** ONNX opset the farm's graphs are written against (LayerNormalization needs 17). */
    public static final int OPSET = 17;
    /** IR version matching opset 17. */
    public static final int IR_VERSION = 8;

    /** How parameters are stored in the file; computation is float32 either way. */
    public enum Storage { FP32, FP16 }

    private final String name;
    private final Storage storage;
    private final Map<String, Value> values = new LinkedHashMap<>();
    private final List<ValueInfoProto> inputs = new ArrayList<>();
    private final List<ValueInfoProto> outputs = new ArrayList<>();
    private final Map<String, long[]> outputShapes = new LinkedHashMap<>();
    private final List<IoSpec> inputSpecs = new ArrayList<>();
    private final List<IoSpec> outputSpecs = new ArrayList<>();
    private final List<NodeProto> nodes = new ArrayList<>();
    private final List<TensorProto> constants = new ArrayList<>();
    private final List<ParamSpec> params = new ArrayList<>();
    private final Map<String, Integer> opCounts = new TreeMap<>();
    private final List<String> scopes = new ArrayList<>();
    private long macs;
    private int counter;

    public GraphBuilder(String name) {
        this(name, Storage.FP32);
    }

    public GraphBuilder(String name, Storage storage) {
        this.name = name;
        this.storage = storage;
    }

    // ---------------------------------------------------------------- naming scopes

    /** A naming scope, closed with try-with-resources. */
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    /** Names nodes and values after the layer being built, for readable graphs and error messages. */
    public Scope scope(String scopeName) {
        scopes.add(scopeName);
        return () -> scopes.remove(scopes.size() - 1);
    }

    private String freshName(String op) {
        String prefix = scopes.isEmpty() ? "" : String.join("/", scopes) + "/";
        return prefix + op + "_" + counter++;
    }

    // ---------------------------------------------------------------- inputs, outputs, parameters

    /**
     * Declares a graph input.
     *
     * @param refShape the shape used for checks and FLOP counts
     * @param dims     the declared ONNX shape, each a {@link Number} (fixed) or a {@link String} (dynamic)
     */
    public Value input(String inputName, DataType type, long[] refShape, Object... dims) {
        if (dims.length != refShape.length) {
            throw new IllegalArgumentException("input " + inputName + ": " + dims.length + " declared dims for a rank-" + refShape.length + " reference shape");
        }
        Value v = declare(inputName, refShape, type);
        inputs.add(valueInfo(inputName, type, dims));
        inputSpecs.add(new IoSpec(inputName, type, dimNames(dims)));
        return v;
    }

    /** Declares a graph output under {@code outputName} (adding an Identity when the value has another name). */
    public void output(Value v, String outputName, Object... dims) {
        requireKnown(v, "graph output");
        Value out = v;
        if (!v.name().equals(outputName)) {
            out = declare(outputName, v.shape(), v.type());
            nodes.add(NodeProto.newBuilder().setOpType("Identity").setName(freshName("Identity"))
                    .addInput(v.name()).addOutput(outputName).build());
        }
        outputs.add(valueInfo(out.name(), out.type(), dims));
        outputShapes.put(outputName, out.shape().clone());
        outputSpecs.add(new IoSpec(outputName, out.type(), dimNames(dims)));
    }

    /** A graph input or output as declared: name, element type, dimensions (numbers or names). */
    public record IoSpec(String name, DataType type, List<String> dims) {}

    public List<IoSpec> inputSpecs() {
        return Collections.unmodifiableList(inputSpecs);
    }

    public List<IoSpec> outputSpecs() {
        return Collections.unmodifiableList(outputSpecs);
    }

    private static List<String> dimNames(Object... dims) {
        List<String> out = new ArrayList<>();
        for (Object d : dims) {
            out.add(String.valueOf(d));
        }
        return out;
    }

    /** Graph outputs by name, with their reference shapes. */
    public Map<String, long[]> outputShapes() {
        return Collections.unmodifiableMap(outputShapes);
    }

    /**
     * A trainable parameter, float32 in the graph's computation. With FP16 storage it is stored as
     * float16 and cast on load (ONNX Runtime folds the cast into the initializer).
     */
    public Value param(String component, String key, long[] shape, Init init, long fanIn) {
        String onnxName = component + "." + key;
        ParamSpec spec = new ParamSpec(onnxName, component, key, shape.clone(), init, fanIn);
        params.add(spec);
        if (storage == Storage.FP32) {
            return declare(onnxName, shape, DataType.FLOAT);
        }
        Value stored = declare(onnxName, shape, DataType.FLOAT16);
        return node("Cast", List.of(stored), shape, DataType.FLOAT, Attr.i("to", DataType.FLOAT_VALUE));
    }

    /** A float32 constant stored in the graph (not a parameter: shapes, norm ones, masks). */
    public Value constant(String hint, float[] data, long... dims) {
        checkCount(hint, data.length, dims);
        ByteBuffer raw = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(data);
        return constantTensor(hint, DataType.FLOAT, ByteString.copyFrom(raw.array()), dims);
    }

    /** An int64 constant stored in the graph (shapes, axes, indices). */
    public Value constantInt64(String hint, long[] data, long... dims) {
        checkCount(hint, data.length, dims);
        ByteBuffer raw = ByteBuffer.allocate(data.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        raw.asLongBuffer().put(data);
        return constantTensor(hint, DataType.INT64, ByteString.copyFrom(raw.array()), dims);
    }

    private Value constantTensor(String hint, DataType type, ByteString raw, long... dims) {
        String constName = freshName(hint);
        TensorProto.Builder t = TensorProto.newBuilder().setName(constName).setDataType(type.getNumber()).setRawData(raw);
        for (long d : dims) {
            t.addDims(d);
        }
        constants.add(t.build());
        return declare(constName, dims, type);
    }

    private static void checkCount(String hint, long count, long... dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        if (n != count) {
            throw new IllegalArgumentException("constant " + hint + ": shape " + Arrays.toString(dims) + " holds " + n + " values, data has " + count);
        }
    }

    // ---------------------------------------------------------------- nodes

    /** A node with one float32 output of the given reference shape. */
    public Value node(String opType, List<Value> in, long[] outShape, Attr... attrs) {
        return node(opType, in, outShape, DataType.FLOAT, attrs);
    }

    public Value node(String opType, List<Value> in, long[] outShape, DataType outType, Attr... attrs) {
        return nodeMulti(opType, in, List.of(outShape), outType, attrs).get(0);
    }

    /** A node with several outputs (Split). Inputs may contain null for an omitted optional input. */
    public List<Value> nodeMulti(String opType, List<Value> in, List<long[]> outShapes, DataType outType, Attr... attrs) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(opType).setName(freshName(opType));
        for (Value v : in) {
            if (v == null) {
                n.addInput("");
            } else {
                requireKnown(v, opType + " input");
                n.addInput(v.name());
            }
        }
        List<Value> outs = new ArrayList<>();
        for (long[] shape : outShapes) {
            Value out = declare(freshName(opType.toLowerCase()), shape, outType);
            n.addOutput(out.name());
            outs.add(out);
        }
        for (Attr a : attrs) {
            n.addAttribute(a.proto());
        }
        nodes.add(n.build());
        opCounts.merge(opType, 1, Integer::sum);
        return outs;
    }

    /** Multiply-accumulates of a layer at the reference size (convolutions and matrix products). */
    public void addMacs(long n) {
        macs += n;
    }

    // ---------------------------------------------------------------- results

    public String name() {
        return name;
    }

    public List<ParamSpec> params() {
        return Collections.unmodifiableList(params);
    }

    public long paramCount() {
        return params.stream().mapToLong(ParamSpec::count).sum();
    }

    public long macs() {
        return macs;
    }

    /** Operators by type, as built (before ONNX Runtime fuses anything). */
    public Map<String, Integer> opCounts() {
        return Collections.unmodifiableMap(opCounts);
    }

    public Storage storage() {
        return storage;
    }

    /**
     * The finished model. Each parameter's initializer comes from {@code writer} (values inline,
     * or a reference into an external data file).
     */
    public ModelProto build(ParamWriter writer, String docString, Map<String, String> metadata) {
        GraphProto.Builder graph = GraphProto.newBuilder().setName(name)
                .addAllInput(inputs).addAllOutput(outputs).addAllNode(nodes).addAllInitializer(constants);
        for (ParamSpec p : params) {
            TensorProto t = writer.tensor(p);
            if (!t.getName().equals(p.onnxName())) {
                throw new IllegalStateException("parameter writer named " + p.onnxName() + " as " + t.getName());
            }
            graph.addInitializer(t);
        }
        ModelProto.Builder model = ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .setProducerName("cnfarm")
                .setDocString(docString)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setGraph(graph);
        metadata.forEach((k, v) -> model.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return model.build();
    }

    private Value declare(String valueName, long[] shape, DataType type) {
        if (values.containsKey(valueName)) {
            throw new IllegalArgumentException("value '" + valueName + "' is defined twice in graph " + name);
        }
        Value v = new Value(valueName, shape.clone(), type);
        values.put(valueName, v);
        return v;
    }

    private void requireKnown(Value v, String where) {
        if (values.get(v.name()) != v) {
            throw new IllegalArgumentException(where + " '" + v.name() + "' is not defined in graph " + name);
        }
    }

    private static ValueInfoProto valueInfo(String valueName, DataType type, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Number n) {
                dim.setDimValue(n.longValue());
            } else if (d instanceof String s) {
                dim.setDimParam(s);
            } else {
                throw new IllegalArgumentException("dimension of " + valueName + " must be a number or a name, got " + d);
            }
            shape.addDim(dim);
        }
        return ValueInfoProto.newBuilder().setName(valueName)
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
                        .setElemType(type.getNumber()).setShape(shape)))
                .build();
    }
}
