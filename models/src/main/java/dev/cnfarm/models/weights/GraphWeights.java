package dev.cnfarm.models.weights;

import ai.onnxruntime.platform.Fp16Conversions;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.ParamSpec;
import dev.cnfarm.models.onnx.ParamWriters;
import dev.cnfarm.models.onnx.proto.Onnx.GraphProto;
import dev.cnfarm.models.onnx.proto.Onnx.ModelProto;
import dev.cnfarm.models.onnx.proto.Onnx.StringStringEntryProto;
import dev.cnfarm.models.onnx.proto.Onnx.TensorProto;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The weights a built model carries in its ONNX graphs, read back as a {@link WeightSource}, and
 * copies of the graphs with some weights replaced: how a worker merges a LoRA into a model without
 * the files it was built from. A graph file is mapped, not
 * read onto the heap (its initializers' bytes stay in the mapping until a value is asked for), and
 * initializers in external data files are read from their offset. Float32 and float16 initializers
 * are read; each is found by its ONNX name ({@code component.key}, as {@link ParamSpec#onnxName()}).
 */
public final class GraphWeights implements WeightSource {
    /** One initializer: its tensor header (the bytes aliased in the mapping) and the folder its external data is relative to. */
    private record Entry(TensorProto tensor, Path dir) {}

    private final Map<String, Entry> entries = new LinkedHashMap<>();

    private GraphWeights() {}

    /** Indexes the initializers of these graph files; a name in two files (the UNet's weights in both UNet graphs) is read from the first. */
    public static GraphWeights of(List<Path> graphs) {
        GraphWeights w = new GraphWeights();
        for (Path g : graphs) {
            ModelProto model = map(g);
            for (TensorProto t : model.getGraph().getInitializerList()) {
                if (t.getDataType() == TensorProto.DataType.FLOAT_VALUE || t.getDataType() == TensorProto.DataType.FLOAT16_VALUE) {
                    w.entries.putIfAbsent(t.getName(), new Entry(t, g.toAbsolutePath().getParent()));
                }
            }
        }
        return w;
    }

    /**
     * Writes a copy of a graph with some of its weights replaced (a LoRA merged into them), each
     * stored as the graph stores it (float16 or float32) in the copy itself; the external data
     * files of the weights left alone are linked beside the copy (copied where links fail).
     *
     * @param values new values by ONNX name, null for a weight kept as it is; asked once per
     *               initializer as it is written, so only one new value need be in memory at a time
     *               (besides the copy's encoded bytes)
     * @return how many weights were replaced
     */
    public static int copyWith(Path graph, java.util.function.Function<String, float[]> values, Path target) {
        ModelProto model = map(graph);
        GraphProto.Builder g = model.getGraph().toBuilder();
        Path from = graph.toAbsolutePath().getParent();
        Path to = target.toAbsolutePath().getParent();
        int replaced = 0;
        try {
            java.nio.file.Files.createDirectories(to);
            for (int i = 0; i < g.getInitializerCount(); i++) {
                TensorProto t = g.getInitializer(i);
                float[] v = values.apply(t.getName());
                if (v != null) {
                    long count = t.getDimsList().stream().mapToLong(Long::longValue).reduce(1, (a, b) -> a * b);
                    if (v.length != count) {
                        throw new SafetensorsException(t.getName() + " has " + count + " values in " + graph.getFileName() + ", given " + v.length);
                    }
                    GraphBuilder.Storage storage = t.getDataType() == TensorProto.DataType.FLOAT16_VALUE ? GraphBuilder.Storage.FP16
                            : GraphBuilder.Storage.FP32;
                    g.setInitializer(i, t.toBuilder().clearExternalData().clearDataLocation().clearFloatData().clearInt32Data()
                            .setRawData(ByteString.copyFrom(ParamWriters.encode(v, storage))));
                    replaced++;
                } else if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
                    for (StringStringEntryProto kv : t.getExternalDataList()) {
                        if (kv.getKey().equals("location") && !kv.getValue().contains("..")) {
                            dev.cnfarm.models.interop.OnnxGraphs.linkOrCopy(from.resolve(kv.getValue()), to.resolve(kv.getValue()));
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a copy of " + graph + " to " + target, e);
        }
        dev.cnfarm.models.interop.OnnxGraphs.write(model.toBuilder().setGraph(g).build(), target);
        return replaced;
    }

    /** Parses a graph with its tensors' bytes left in a read-only mapping of the file (a protobuf file is below 2 GiB). */
    private static ModelProto map(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
            CodedInputStream in = CodedInputStream.newInstance(mapped);
            in.enableAliasing(true);
            in.setSizeLimit(Integer.MAX_VALUE);
            return ModelProto.parseFrom(in);
        } catch (IOException e) {
            throw new SafetensorsException(file + " is not a readable ONNX graph: " + e.getMessage());
        }
    }

    /**
     * Every float initializer as a parameter: component the name up to its first dot, key the rest.
     * Constants of the graph without a dot in their name are left out.
     */
    public List<ParamSpec> params() {
        List<ParamSpec> out = new ArrayList<>();
        entries.forEach((name, e) -> {
            int dot = name.indexOf('.');
            if (dot > 0) {
                long[] shape = e.tensor().getDimsList().stream().mapToLong(Long::longValue).toArray();
                out.add(new ParamSpec(name, name.substring(0, dot), name.substring(dot + 1), shape, null, shape.length > 1 ? shape[1] : 1));
            }
        });
        return out;
    }

    /** Whether the graph stores this parameter as float16 (a merged value must be given back in the same type). */
    public boolean storedAsFp16(String onnxName) {
        return entry(onnxName).tensor().getDataType() == TensorProto.DataType.FLOAT16_VALUE;
    }

    @Override
    public float[] values(ParamSpec spec) {
        Entry e = entry(spec.onnxName());
        TensorProto t = e.tensor();
        boolean half = t.getDataType() == TensorProto.DataType.FLOAT16_VALUE;
        ByteBuffer raw = (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL ? external(t, e.dir()) : bytes(t, half))
                .order(ByteOrder.LITTLE_ENDIAN);
        int n = raw.remaining() / (half ? 2 : 4);
        if (n != spec.count()) {
            throw new SafetensorsException(spec.onnxName() + " holds " + n + " values in the graph, its shape needs " + spec.count());
        }
        float[] out = new float[n];
        if (half) {
            for (int i = 0; i < n; i++) {
                out[i] = Fp16Conversions.fp16ToFloat(raw.getShort());
            }
        } else {
            raw.asFloatBuffer().get(out);
        }
        return out;
    }

    private Entry entry(String onnxName) {
        Entry e = entries.get(onnxName);
        if (e == null) {
            throw new SafetensorsException("the model's graphs have no weight named " + onnxName);
        }
        return e;
    }

    /** Inline values: raw bytes, or the typed field an exporter may have used instead. */
    private static ByteBuffer bytes(TensorProto t, boolean half) {
        ByteString raw = t.getRawData();
        if (!raw.isEmpty()) {
            return raw.asReadOnlyByteBuffer();
        }
        if (half) { // float16 values kept one per int32 field
            ByteBuffer b = ByteBuffer.allocate(t.getInt32DataCount() * 2).order(ByteOrder.LITTLE_ENDIAN);
            t.getInt32DataList().forEach(v -> b.putShort((short) (int) v));
            return b.flip();
        }
        ByteBuffer b = ByteBuffer.allocate(t.getFloatDataCount() * 4).order(ByteOrder.LITTLE_ENDIAN);
        t.getFloatDataList().forEach(b::putFloat);
        return b.flip();
    }

    /** Values in an external data file: location (relative to the graph's folder), offset, length. */
    private static ByteBuffer external(TensorProto t, Path dir) {
        String location = null;
        long offset = 0;
        long length = -1;
        for (StringStringEntryProto kv : t.getExternalDataList()) {
            switch (kv.getKey()) {
                case "location" -> location = kv.getValue();
                case "offset" -> offset = Long.parseLong(kv.getValue());
                case "length" -> length = Long.parseLong(kv.getValue());
                default -> { }
            }
        }
        if (location == null || location.contains("..")) {
            throw new SafetensorsException(t.getName() + " names no usable external data file (" + location + ")");
        }
        try (FileChannel ch = FileChannel.open(dir.resolve(location), StandardOpenOption.READ)) {
            long n = length >= 0 ? length : ch.size() - offset;
            ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(n));
            while (b.hasRemaining()) {
                if (ch.read(b, offset + b.position()) < 0) {
                    throw new SafetensorsException(location + " ends before " + t.getName() + "'s " + n + " bytes at " + offset);
                }
            }
            return b.flip();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + t.getName() + " from " + location, e);
        }
    }
}
