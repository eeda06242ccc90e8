package dev.cnfarm.models.weights;

import ai.onnxruntime.platform.Fp16Conversions;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a {@code .safetensors} file: an 8-byte little-endian header length N, N bytes of JSON
 * ({@code {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}}),
 * then the tensors' bytes, little-endian and row-major, at offsets relative to the end of the
 * header. The header is validated as the format's reference implementation does: offsets cover
 * the buffer without gaps or overlaps, each tensor's byte size matches its shape and dtype, and
 * the file ends where the last tensor does. Tensors are read on demand, so multi-gigabyte files
 * are never loaded whole.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** The format's limit on the header, against hostile files. */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    /** One tensor's entry in the header. */
    public record TensorInfo(String name, String dtype, long[] shape, long begin, long end) {
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new SafetensorsException("cannot open " + path + ": " + e.getMessage(), e);
        }
        try {
            return parse(path, ch);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static SafetensorsFile parse(Path path, FileChannel ch) {
        try {
            long size = ch.size();
            if (size < 8) {
                throw bad(path, "shorter than the 8-byte header length");
            }
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, 0);
            long n = len.flip().getLong();
            if (n < 2 || n > MAX_HEADER_BYTES || 8 + n > size) {
                throw bad(path, "header length " + Long.toUnsignedString(n) + " does not fit a file of " + size + " bytes");
            }
            ByteBuffer header = ByteBuffer.allocate((int) n);
            readFully(ch, header, 8);
            String json = new String(header.array(), StandardCharsets.UTF_8);
            if (!json.startsWith("{")) {
                throw bad(path, "header does not start with '{'");
            }
            JsonNode root;
            try {
                root = new ObjectMapper().readTree(json.strip());
            } catch (IOException e) {
                throw bad(path, "header is not valid JSON: " + e.getMessage().split("\n")[0]);
            }
            if (root == null || !root.isObject()) {
                throw bad(path, "header is not a JSON object");
            }
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            Iterator<Map.Entry<String, JsonNode>> it = root.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                tensors.put(e.getKey(), tensorInfo(path, e.getKey(), e.getValue()));
            }
            long dataSize = size - 8 - n;
            validateLayout(path, tensors, dataSize);
            return new SafetensorsFile(path, ch, 8 + n, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
        } catch (IOException e) {
            throw new SafetensorsException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    private static TensorInfo tensorInfo(Path path, String name, JsonNode v) {
        JsonNode dtype = v.get("dtype");
        JsonNode shape = v.get("shape");
        JsonNode offsets = v.get("data_offsets");
        if (dtype == null || !dtype.isTextual() || shape == null || !shape.isArray() || offsets == null || !offsets.isArray()
                || offsets.size() != 2) {
            throw bad(path, "tensor '" + name + "' needs dtype, shape and data_offsets [begin, end]");
        }
        long[] dims = new long[shape.size()];
        for (int i = 0; i < dims.length; i++) {
            if (!shape.get(i).canConvertToLong() || shape.get(i).asLong() < 0) {
                throw bad(path, "tensor '" + name + "' has a bad dimension " + shape.get(i));
            }
            dims[i] = shape.get(i).asLong();
        }
        int bytes = dtypeSize(path, name, dtype.asText());
        TensorInfo t = new TensorInfo(name, dtype.asText(), dims, offsets.get(0).asLong(), offsets.get(1).asLong());
        if (t.end() < t.begin() || t.end() - t.begin() != t.elements() * bytes) {
            throw bad(path, "tensor '" + name + "' spans " + (t.end() - t.begin()) + " bytes but " + dtype.asText()
                    + java.util.Arrays.toString(dims) + " needs " + t.elements() * bytes);
        }
        return t;
    }

    /** Offsets must tile the data buffer exactly: sorted, contiguous from 0, ending at the file's end. */
    private static void validateLayout(Path path, Map<String, TensorInfo> tensors, long dataSize) {
        List<TensorInfo> sorted = new ArrayList<>(tensors.values());
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expected = 0;
        for (TensorInfo t : sorted) {
            if (t.begin() != expected) {
                throw bad(path, "tensor '" + t.name() + "' starts at " + t.begin() + ", expected " + expected
                        + " (the data must be contiguous, without gaps or overlaps)");
            }
            expected = t.end();
        }
        if (expected != dataSize) {
            throw bad(path, "tensors cover " + expected + " bytes of a " + dataSize + "-byte data section (truncated or padded file)");
        }
    }

    static int dtypeSize(Path path, String name, String dtype) {
        return switch (dtype) {
            case "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3" -> 1;
            case "I16", "U16", "F16", "BF16" -> 2;
            case "I32", "U32", "F32" -> 4;
            case "I64", "U64", "F64" -> 8;
            default -> throw bad(path, "tensor '" + name + "' has unknown dtype " + dtype);
        };
    }

    public Path path() {
        return path;
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /** A tensor as float32 (converted from F16, BF16 or F64). */
    public float[] readFloats(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new SafetensorsException("tensor '" + name + "' is not in " + path);
        }
        long bytes = t.end() - t.begin();
        if (bytes > Integer.MAX_VALUE) {
            throw new SafetensorsException("tensor '" + name + "' in " + path + " is too large to read at once (" + bytes + " bytes)");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        try {
            readFully(channel, buf, dataStart + t.begin());
        } catch (IOException e) {
            throw new SafetensorsException("cannot read tensor '" + name + "' from " + path + ": " + e.getMessage(), e);
        }
        buf.flip();
        int n = (int) t.elements();
        float[] out = new float[n];
        switch (t.dtype()) {
            case "F32" -> buf.asFloatBuffer().get(out);
            case "F16" -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Fp16Conversions.fp16ToFloat(buf.getShort());
                }
            }
            case "BF16" -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.intBitsToFloat((buf.getShort() & 0xffff) << 16);
                }
            }
            case "F64" -> {
                for (int i = 0; i < n; i++) {
                    out[i] = (float) buf.getDouble();
                }
            }
            default -> throw new SafetensorsException("tensor '" + name + "' in " + path + " is " + t.dtype()
                    + "; model weights must be F32, F16, BF16 or F64");
        }
        return out;
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) {
                throw new IOException("unexpected end of file at " + pos);
            }
            pos += r;
        }
    }

    private static SafetensorsException bad(Path path, String what) {
        return new SafetensorsException(path + " is not a valid safetensors file: " + what);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // already failing
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }
}
