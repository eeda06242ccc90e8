package dev.cnfarm.models.onnx;

import ai.onnxruntime.platform.Fp16Conversions;
import com.google.protobuf.ByteString;
import dev.cnfarm.models.onnx.proto.Onnx.StringStringEntryProto;
import dev.cnfarm.models.onnx.proto.Onnx.TensorProto;
import dev.cnfarm.models.weights.WeightSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/** The two ways parameters go into a model file: inline, or in an external data file. */
public final class ParamWriters {
    private ParamWriters() {}

    /** Values inside the ONNX file (models under the 2 GB protobuf limit). */
    public static ParamWriter inline(WeightSource weights, GraphBuilder.Storage storage) {
        return spec -> header(spec, storage).setRawData(ByteString.copyFrom(encode(weights.values(spec), storage))).build();
    }

    /**
     * Values in a data file next to the ONNX file (ONNX external data: location, offset, length),
     * for models over 2 GB. One store can serve several graphs of a bundle: a parameter that two
     * graphs share (the UNet's, in the plain and the controlled graph) is written once.
     */
    public static final class ExternalData implements AutoCloseable {
        private final Path dir;
        private final WeightSource weights;
        private final GraphBuilder.Storage storage;
        private final Map<String, FileChannel> files = new HashMap<>();
        private final Map<String, long[]> written = new HashMap<>();
        private long bytesWritten;

        /** @param dir the folder of the ONNX files; data files are created in it */
        public ExternalData(Path dir, WeightSource weights, GraphBuilder.Storage storage) {
            this.dir = dir;
            this.weights = weights;
            this.storage = storage;
        }

        /** Writes each component's parameters to {@code <component>.weights}. */
        public ParamWriter writer() {
            return spec -> {
                String location = spec.component() + ".weights";
                String id = location + "\u0000" + spec.onnxName();
                long[] at = written.get(id);
                if (at == null) {
                    at = append(location, encode(weights.values(spec), storage));
                    written.put(id, at);
                }
                return header(spec, storage)
                        .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                        .addExternalData(entry("location", location))
                        .addExternalData(entry("offset", Long.toString(at[0])))
                        .addExternalData(entry("length", Long.toString(at[1])))
                        .build();
            };
        }

        private long[] append(String location, byte[] data) {
            try {
                FileChannel ch = files.get(location);
                if (ch == null) {
                    ch = FileChannel.open(dir.resolve(location), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                            StandardOpenOption.TRUNCATE_EXISTING);
                    files.put(location, ch);
                }
                // 64-byte alignment lets a runtime map tensors straight from the file
                long offset = (ch.size() + 63) / 64 * 64;
                ByteBuffer buf = ByteBuffer.wrap(data);
                long pos = offset;
                while (buf.hasRemaining()) {
                    pos += ch.write(buf, pos);
                }
                bytesWritten += data.length;
                return new long[] {offset, data.length};
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write weights to " + dir.resolve(location), e);
            }
        }

        /** The data files written so far. */
        public java.util.Set<String> fileNames() {
            return files.keySet();
        }

        public long bytesWritten() {
            return bytesWritten;
        }

        @Override
        public void close() {
            for (FileChannel ch : files.values()) {
                try {
                    ch.close();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
    }

    private static TensorProto.Builder header(ParamSpec spec, GraphBuilder.Storage storage) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(spec.onnxName())
                .setDataType(storage == GraphBuilder.Storage.FP16 ? TensorProto.DataType.FLOAT16_VALUE : TensorProto.DataType.FLOAT_VALUE);
        for (long d : spec.shape()) {
            t.addDims(d);
        }
        return t;
    }

    private static StringStringEntryProto entry(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    /** Little-endian float32 or float16 bytes. */
    public static byte[] encode(float[] values, GraphBuilder.Storage storage) {
        if (storage == GraphBuilder.Storage.FP32) {
            ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(values);
            return b.array();
        }
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putShort(Fp16Conversions.floatToFp16(v));
        }
        return b.array();
    }
}
