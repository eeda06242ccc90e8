package dev.cnfarm.models.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reader against files assembled byte by byte from the format description. */
class SafetensorsFileTest {
    @TempDir
    Path dir;

    /** 8-byte little-endian header length, the JSON header, then the data. */
    static byte[] file(String header, byte[] data) {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json).put(data);
        return b.array();
    }

    static byte[] f32(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return b.array();
    }

    private Path write(byte[] bytes) throws Exception {
        Path p = dir.resolve("t" + System.nanoTime() + ".safetensors");
        Files.write(p, bytes);
        return p;
    }

    @Test
    void theFormatsOwnExampleReads() throws Exception {
        String header = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
        assertThat(header.length()).isEqualTo(64);
        byte[] bytes = file(header, f32(0, 1, 2, 3, 4, 5));
        assertThat(bytes[0]).isEqualTo((byte) 0x40);
        try (SafetensorsFile f = SafetensorsFile.open(write(bytes))) {
            assertThat(f.tensors()).containsOnlyKeys("attn.0");
            assertThat(f.tensors().get("attn.0").shape()).containsExactly(1, 2, 3);
            assertThat(f.readFloats("attn.0")).containsExactly(0, 1, 2, 3, 4, 5);
        }
    }

    @Test
    void halfPrecisionAndBfloat16AreWidened() throws Exception {
        // 1.5 in F16 is 0x3E00; -2.0 in BF16 is 0xC000; metadata is kept; header padded with spaces
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        data.write(new byte[] {0x00, 0x3E, 0x00, 0x3C});             // F16 [1.5, 1.0]
        data.write(new byte[] {0x00, (byte) 0xC0, (byte) 0x80, 0x3F}); // BF16 [-2.0, 1.0]
        String header = "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]}}    ";
        try (SafetensorsFile f = SafetensorsFile.open(write(file(header, data.toByteArray())))) {
            assertThat(f.readFloats("a")).containsExactly(1.5f, 1.0f);
            assertThat(f.readFloats("b")).containsExactly(-2.0f, 1.0f);
            assertThat(f.metadata()).containsEntry("format", "pt");
        }
    }

    @Test
    void malformedFilesAreRefusedWithTheReason() throws Exception {
        String ok = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        assertThatThrownBy(() -> SafetensorsFile.open(write(file(ok, f32(1)))))
                .hasMessageContaining("truncated");
        assertThatThrownBy(() -> SafetensorsFile.open(write(file(
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", f32(1, 2)))))
                .hasMessageContaining("'w'").hasMessageContaining("needs 12");
        assertThatThrownBy(() -> SafetensorsFile.open(write(file(
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", f32(1, 2)))))
                .hasMessageContaining("starts at 4, expected 0");
        assertThatThrownBy(() -> SafetensorsFile.open(write(file("[1, 2]", new byte[0]))))
                .hasMessageContaining("'{'");
        assertThatThrownBy(() -> SafetensorsFile.open(write(file("{\"w\": nope}", new byte[0]))))
                .hasMessageContaining("not valid JSON");
        byte[] huge = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array();
        assertThatThrownBy(() -> SafetensorsFile.open(write(huge))).hasMessageContaining("header length");
        assertThatThrownBy(() -> SafetensorsFile.open(write(new byte[3]))).hasMessageContaining("8-byte");
        assertThatThrownBy(() -> SafetensorsFile.open(write(file(
                "{\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1]))))
                .hasMessageContaining("unknown dtype Q4");
    }

    @Test
    void writerOutputReadsBackAligned() throws Exception {
        Path p = dir.resolve("w.safetensors");
        SafetensorsWriter.write(p, Map.of("x.weight", new SafetensorsWriter.Tensor(new long[] {2, 2}, new float[] {1, 2, 3, 4}),
                "x.bias", new SafetensorsWriter.Tensor(new long[] {2}, new float[] {-1, 0.5f})), "F32", Map.of("format", "pt"));
        byte[] bytes = Files.readAllBytes(p);
        long headerLen = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(headerLen % 8).isZero();
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertThat(f.readFloats("x.weight")).containsExactly(1, 2, 3, 4);
            assertThat(f.readFloats("x.bias")).containsExactly(-1, 0.5f);
        }
    }
}
