package dev.cnfarm.models.interop;

import dev.cnfarm.models.onnx.proto.Onnx.AttributeProto;
import dev.cnfarm.models.onnx.proto.Onnx.GraphProto;
import dev.cnfarm.models.onnx.proto.Onnx.ModelProto;
import dev.cnfarm.models.onnx.proto.Onnx.NodeProto;
import dev.cnfarm.models.onnx.proto.Onnx.StringStringEntryProto;
import dev.cnfarm.models.onnx.proto.Onnx.TensorProto;
import dev.cnfarm.models.onnx.proto.Onnx.TensorShapeProto;
import dev.cnfarm.models.onnx.proto.Onnx.TypeProto;
import dev.cnfarm.models.onnx.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Reading, describing and adapting ONNX graphs as protobuf, without ONNX Runtime: what a graph
 * declares as its inputs and outputs, and small rewrites at its edges (an input of another type or
 * rank converted in the graph, an output renamed or cast). The nodes in between are left alone,
 * so the rewritten graph computes the same function.
 */
public final class OnnxGraphs {
    private OnnxGraphs() {}

    public static ModelProto read(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return ModelProto.parseFrom(in);
        } catch (IOException e) {
            throw new LayoutException(file + " is not a readable ONNX model: " + e.getMessage(), e);
        }
    }

    public static void write(ModelProto model, Path file) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            try (OutputStream out = Files.newOutputStream(file)) {
                model.writeTo(out);
            }
        } catch (IOException e) {
            throw new LayoutException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** The graph's inputs that are fed at run time (initializers listed as inputs by old exporters are left out). */
    public static List<GraphIo> inputs(ModelProto model) {
        Set<String> initializers = new java.util.HashSet<>();
        model.getGraph().getInitializerList().forEach(t -> initializers.add(t.getName()));
        return model.getGraph().getInputList().stream().filter(v -> !initializers.contains(v.getName())).map(OnnxGraphs::io).toList();
    }

    public static List<GraphIo> outputs(ModelProto model) {
        return model.getGraph().getOutputList().stream().map(OnnxGraphs::io).toList();
    }

    private static GraphIo io(ValueInfoProto v) {
        List<String> dims = new ArrayList<>();
        TypeProto.Tensor t = v.getType().getTensorType();
        for (TensorShapeProto.Dimension d : t.getShape().getDimList()) {
            dims.add(d.hasDimValue() ? Long.toString(d.getDimValue()) : d.getDimParam().isEmpty() ? "?" : d.getDimParam());
        }
        return new GraphIo(v.getName(), t.getElemType(), dims);
    }

    /** The external data files the graph's initializers point at, relative to the model file's folder. */
    public static Set<String> externalFiles(ModelProto model) {
        Set<String> files = new LinkedHashSet<>();
        for (TensorProto t : model.getGraph().getInitializerList()) {
            if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
                for (StringStringEntryProto e : t.getExternalDataList()) {
                    if (e.getKey().equals("location")) {
                        files.add(e.getValue());
                    }
                }
            }
        }
        return files;
    }

    /**
     * Places a weight file beside a graph: a hard link where the file system allows (the UNet's
     * weights are gigabytes), a copy otherwise; a file already there is kept.
     */
    public static void linkOrCopy(Path source, Path target) throws IOException {
        if (Files.exists(target)) {
            return;
        }
        try {
            Files.createLink(target, source);
        } catch (IOException | UnsupportedOperationException e) {
            Files.copy(source, target);
        }
    }

    /** The same graph with its external data files named by another path (relative to where it will be saved). */
    public static ModelProto relocateExternalData(ModelProto model, java.util.function.UnaryOperator<String> location) {
        ModelProto.Builder m = model.toBuilder();
        GraphProto.Builder g = m.getGraphBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) {
                continue;
            }
            TensorProto.Builder tb = t.toBuilder().clearExternalData();
            for (StringStringEntryProto e : t.getExternalDataList()) {
                tb.addExternalData(e.getKey().equals("location") ? e.toBuilder().setValue(location.apply(e.getValue())).build() : e);
            }
            g.setInitializer(i, tb);
        }
        return m.build();
    }

    /**
     * Replaces the input {@code name} with an input of the same name but another element type and
     * shape, converted inside the graph to what the rest of it expects: a Cast when the type differs,
     * a Reshape to one element when a scalar stands for a [1] tensor.
     *
     * @param dims the new input's dimensions: numbers or names; empty for a scalar
     */
    public static ModelProto adaptInput(ModelProto model, String name, TensorType type, List<String> dims) {
        GraphProto graph = model.getGraph();
        ValueInfoProto old = graph.getInputList().stream().filter(v -> v.getName().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("graph has no input '" + name + "'"));
        int oldType = old.getType().getTensorType().getElemType();
        int oldRank = old.getType().getTensorType().getShape().getDimCount();
        String inner = name + "__farm_adapted";
        GraphProto.Builder g = renameUses(graph.toBuilder(), name, inner);
        List<NodeProto> prologue = new ArrayList<>();
        String current = name;
        if (type.onnx().getNumber() != oldType) {
            String cast = dims.size() == oldRank ? inner : name + "__farm_cast";
            prologue.add(NodeProto.newBuilder().setOpType("Cast").setName(name + "/farm_cast").addInput(current).addOutput(cast)
                    .addAttribute(AttributeProto.newBuilder().setName("to").setType(AttributeProto.AttributeType.INT).setI(oldType)).build());
            current = cast;
        }
        if (dims.size() != oldRank) {
            if (!(dims.isEmpty() && oldRank == 1)) {
                throw new IllegalArgumentException("input '" + name + "' of rank " + oldRank + " cannot be fed with rank " + dims.size());
            }
            String shapeName = name + "__farm_shape";
            g.addInitializer(TensorProto.newBuilder().setName(shapeName).setDataType(TensorProto.DataType.INT64_VALUE).addDims(1)
                    .addInt64Data(1));
            prologue.add(NodeProto.newBuilder().setOpType("Reshape").setName(name + "/farm_reshape").addInput(current).addInput(shapeName)
                    .addOutput(inner).build());
            current = inner;
        }
        if (!current.equals(inner)) {
            prologue.add(NodeProto.newBuilder().setOpType("Identity").setName(name + "/farm_identity").addInput(current).addOutput(inner).build());
        }
        List<NodeProto> nodes = new ArrayList<>(prologue);
        nodes.addAll(g.getNodeList());
        g.clearNode().addAllNode(nodes);
        for (int i = 0; i < g.getInputCount(); i++) {
            if (g.getInput(i).getName().equals(inner)) {
                g.setInput(i, valueInfo(name, type, dims));
            }
        }
        return model.toBuilder().setGraph(g).build();
    }

    /** Renames an output (and casts it when {@code type} differs from what the graph computes). */
    public static ModelProto adaptOutput(ModelProto model, String name, String newName, TensorType type) {
        GraphProto.Builder g = model.getGraph().toBuilder();
        int index = -1;
        for (int i = 0; i < g.getOutputCount(); i++) {
            if (g.getOutput(i).getName().equals(name)) {
                index = i;
            }
        }
        if (index < 0) {
            throw new IllegalArgumentException("graph has no output '" + name + "'");
        }
        ValueInfoProto old = g.getOutput(index);
        int oldType = old.getType().getTensorType().getElemType();
        if (oldType == type.onnx().getNumber() && name.equals(newName)) {
            return model;
        }
        String source = name;
        if (name.equals(newName)) {
            // the value keeps its name as the output: what the graph computes is renamed inside it first
            source = name + "__farm_inner";
            for (int i = 0; i < g.getNodeCount(); i++) {
                NodeProto node = g.getNode(i);
                if (node.getInputList().contains(name) || node.getOutputList().contains(name)) {
                    NodeProto.Builder b = node.toBuilder().clearInput().clearOutput();
                    String inner = source;
                    node.getInputList().forEach(v -> b.addInput(v.equals(name) ? inner : v));
                    node.getOutputList().forEach(v -> b.addOutput(v.equals(name) ? inner : v));
                    g.setNode(i, b);
                }
            }
        }
        NodeProto.Builder n = NodeProto.newBuilder().setName(newName + "/farm_output").addInput(source).addOutput(newName);
        if (oldType != type.onnx().getNumber()) {
            n.setOpType("Cast").addAttribute(AttributeProto.newBuilder().setName("to").setType(AttributeProto.AttributeType.INT)
                    .setI(type.onnx().getNumber()));
        } else {
            n.setOpType("Identity");
        }
        g.addNode(n);
        TypeProto.Tensor.Builder t = old.getType().getTensorType().toBuilder().setElemType(type.onnx().getNumber());
        g.setOutput(index, old.toBuilder().setName(newName).setType(TypeProto.newBuilder().setTensorType(t)));
        return model.toBuilder().setGraph(g).build();
    }

    /** An input named {@code name} is now read as {@code inner} by every node (and listed under it). */
    private static GraphProto.Builder renameUses(GraphProto.Builder g, String name, String inner) {
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto n = g.getNode(i);
            if (n.getInputList().contains(name)) {
                NodeProto.Builder b = n.toBuilder().clearInput();
                n.getInputList().forEach(in -> b.addInput(in.equals(name) ? inner : in));
                g.setNode(i, b);
            }
        }
        for (int i = 0; i < g.getInputCount(); i++) {
            if (g.getInput(i).getName().equals(name)) {
                g.setInput(i, g.getInput(i).toBuilder().setName(inner));
            }
        }
        for (int i = 0; i < g.getOutputCount(); i++) {
            if (g.getOutput(i).getName().equals(name)) {
                throw new IllegalArgumentException("input '" + name + "' is also an output; it cannot be adapted");
            }
        }
        return g;
    }

    public static ValueInfoProto valueInfo(String name, TensorType type, List<String> dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (String d : dims) {
            TensorShapeProto.Dimension.Builder db = TensorShapeProto.Dimension.newBuilder();
            if (d.chars().allMatch(Character::isDigit) && !d.isEmpty()) {
                db.setDimValue(Long.parseLong(d));
            } else {
                db.setDimParam(d);
            }
            shape.addDim(db);
        }
        return ValueInfoProto.newBuilder().setName(name)
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(type.onnx().getNumber()).setShape(shape)))
                .build();
    }
}
