package dev.cnfarm.models.weights;

import ai.onnxruntime.platform.Fp16Conversions;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes {@code .safetensors} files (F32, F16 or BF16), for exporting bundles' weights in the
 * form other tools load. The header is padded with spaces to a multiple of 8, as the reference
 * writer does, so the data is aligned.
 */
public final class SafetensorsWriter {
    /** One tensor to write: values in row-major order. */
    public record Tensor(long[] shape, float[] values) {}

    private SafetensorsWriter() {}

    public static void write(Path file, Map<String, Tensor> tensors, String dtype, Map<String, String> metadata) {
        int size = switch (dtype) {
            case "F32" -> 4;
            case "F16", "BF16" -> 2;
            default -> throw new IllegalArgumentException("dtype must be F32, F16 or BF16, not " + dtype);
        };
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode header = mapper.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        Map<String, Tensor> sorted = new TreeMap<>(tensors);
        long offset = 0;
        for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
            long bytes = (long) e.getValue().values().length * size;
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", dtype);
            ArrayNode shape = t.putArray("shape");
            for (long d : e.getValue().shape()) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        try (OutputStream out = Files.newOutputStream(file)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(json);
            for (int i = json.length; i < padded; i++) {
                out.write(' ');
            }
            for (Tensor t : sorted.values()) {
                ByteBuffer b = ByteBuffer.allocate(t.values().length * size).order(ByteOrder.LITTLE_ENDIAN);
                for (float v : t.values()) {
                    switch (dtype) {
                        case "F32" -> b.putFloat(v);
                        case "F16" -> b.putShort(Fp16Conversions.floatToFp16(v));
                        default -> b.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
                    }
                }
                out.write(b.array());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
