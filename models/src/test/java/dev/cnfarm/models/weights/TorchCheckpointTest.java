package dev.cnfarm.models.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code .ckpt} / {@code .pth} files as {@code torch.save} writes them (a zip of a protocol-2 pickle
 * and raw storages), assembled here instruction by instruction: tensors of each float type, a view
 * with strides, a state dict inside {@code {'state_dict': ...}}, and files that must be refused: a
 * pickle that would run {@code os.system}, one that names {@code builtins.eval}, and damaged files.
 */
class TorchCheckpointTest {
    @TempDir
    Path dir;

    /** A protocol-2 pickle, written the way Python's pickler writes a state dict. */
    private static final class Pickle {
        final ByteArrayOutputStream b = new ByteArrayOutputStream();

        Pickle op(int... bytes) {
            for (int x : bytes) {
                b.write(x);
            }
            return this;
        }

        Pickle str(String s) {
            byte[] t = s.getBytes(StandardCharsets.UTF_8);
            op('X');
            b.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(t.length).array());
            b.writeBytes(t);
            return this;
        }

        Pickle global(String module, String name) {
            op('c');
            b.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        Pickle int1(int v) {
            return op('K', v);
        }

        Pickle tuple(int... values) {
            op('(');
            for (int v : values) {
                int1(v);
            }
            return op('t');
        }

        /** torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()) */
        Pickle tensor(String storageType, String key, int numel, int offset, int[] size, int[] stride) {
            global("torch._utils", "_rebuild_tensor_v2").op('(');
            op('(').str("storage").global("torch", storageType).str(key).str("cpu").int1(numel).op('t').op('Q');
            int1(offset).tuple(size).tuple(stride).op(0x89);
            global("collections", "OrderedDict").op(')').op('R');
            return op('t').op('R');
        }

        byte[] bytes() {
            return b.toByteArray();
        }
    }

    private Path checkpoint(String name, byte[] pickle, Map<String, byte[]> storages) throws Exception {
        Path f = dir.resolve(name);
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(f))) {
            z.putNextEntry(new ZipEntry("archive/data.pkl"));
            z.write(pickle);
            for (var e : storages.entrySet()) {
                z.putNextEntry(new ZipEntry("archive/data/" + e.getKey()));
                z.write(e.getValue());
            }
            z.putNextEntry(new ZipEntry("archive/version"));
            z.write("3\n".getBytes(StandardCharsets.US_ASCII));
        }
        return f;
    }

    private static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return b.array();
    }

    private static byte[] halves(float... v) {
        ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putShort(ai.onnxruntime.platform.Fp16Conversions.floatToFp16(x));
        }
        return b.array();
    }

    @Test
    void aStateDictIsReadWithEveryFloatTypeAndStrides() throws Exception {
        Pickle p = new Pickle().op(0x80, 2).op('}').op('q', 0).op('(');
        p.str("state_dict").global("collections", "OrderedDict").op(')').op('R').op('q', 1).op('(');
        p.str("a.weight").tensor("FloatStorage", "0", 6, 0, new int[] {2, 3}, new int[] {3, 1});
        p.str("a.transposed").tensor("FloatStorage", "0", 6, 0, new int[] {3, 2}, new int[] {1, 3}).op('q', 2);
        p.str("b.half").tensor("HalfStorage", "1", 4, 1, new int[] {3}, new int[] {1});
        p.str("position_ids").tensor("LongStorage", "2", 2, 0, new int[] {2}, new int[] {1});
        p.op('u'); // the state dict's items
        p.op('}').op('b'); // its attributes (_metadata): BUILD
        p.str("global_step").op('J', 0xe8, 0x03, 0, 0);
        p.op('u').op('.');
        ByteBuffer longs = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(0).putLong(1);
        Path f = checkpoint("model.ckpt", p.bytes(), Map.of("0", floats(1, 2, 3, 4, 5, 6), "1", halves(9, 0.5f, -2, 8), "2", longs.array()));

        TorchCheckpoint.Result r = TorchCheckpoint.read(f);
        assertThat(r.tensors()).containsOnlyKeys("a.weight", "a.transposed", "b.half");
        assertThat(r.tensors().get("a.weight").values()).containsExactly(1, 2, 3, 4, 5, 6);
        assertThat(r.tensors().get("a.weight").shape()).containsExactly(2, 3);
        assertThat(r.tensors().get("a.transposed").values()).as("read through its strides").containsExactly(1, 4, 2, 5, 3, 6);
        assertThat(r.tensors().get("b.half").values()).as("from storage offset 1").containsExactly(0.5f, -2, 8);
        assertThat(r.tensors().get("b.half").dtype()).isEqualTo("F16");
        // converted for the importer: the same names and values, fp32 since the file mixes fp32 and fp16
        Path st = dir.resolve("model.safetensors");
        TorchCheckpoint.toSafetensors(f, st);
        try (SafetensorsFile sf = SafetensorsFile.open(st)) {
            assertThat(sf.tensors().get("a.transposed").shape()).containsExactly(3, 2);
            assertThat(sf.tensors().get("b.half").dtype()).isEqualTo("F32");
            assertThat(sf.readFloats("a.transposed")).containsExactly(1, 4, 2, 5, 3, 6);
        }
        assertThat(r.skipped()).as("an integer buffer; global_step sits outside the unwrapped state dict").singleElement()
                .satisfies(s -> assertThat(s).startsWith("position_ids"));
    }

    @Test
    void aPickleThatWouldRunCodeIsRefusedByName() throws Exception {
        byte[] system = new Pickle().op(0x80, 2).global("os", "system").str("touch " + dir.resolve("pwned")).op(0x85).op('R').op('.').bytes();
        Path f = checkpoint("evil.ckpt", system, Map.of());
        assertThatThrownBy(() -> TorchCheckpoint.read(f)).isInstanceOf(SafetensorsException.class).hasMessageContaining("the global os.system")
                .hasMessageContaining("refused");
        assertThat(dir.resolve("pwned")).doesNotExist();

        // protocol 4's STACK_GLOBAL naming builtins.eval, hidden inside a state dict's value
        Pickle eval = new Pickle().op(0x80, 4).op('}').op('(').str("a.weight");
        eval.op(0x8c, 8).b.writeBytes("builtins".getBytes(StandardCharsets.US_ASCII));
        eval.op(0x8c, 4).b.writeBytes("eval".getBytes(StandardCharsets.US_ASCII));
        eval.op(0x93).str("1+1").op(0x85).op('R').op('u').op('.');
        Path g = checkpoint("eval.ckpt", eval.bytes(), Map.of());
        assertThatThrownBy(() -> TorchCheckpoint.read(g)).hasMessageContaining("the global builtins.eval");

        // an instruction no state dict needs (INST builds arbitrary objects)
        Path h = checkpoint("inst.ckpt", new Pickle().op(0x80, 2).op('(').op('i').bytes(), Map.of());
        assertThatThrownBy(() -> TorchCheckpoint.read(h)).hasMessageContaining("instruction 0x69");
    }

    @Test
    void damagedFilesAreRefusedClearly() throws Exception {
        Path notZip = dir.resolve("random.ckpt");
        Files.write(notZip, "this is no checkpoint".getBytes(StandardCharsets.US_ASCII));
        assertThatThrownBy(() -> TorchCheckpoint.read(notZip)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining("not a PyTorch checkpoint");

        Pickle p = new Pickle().op(0x80, 2).op('}').op('(').str("a.weight").tensor("FloatStorage", "0", 6, 0, new int[] {2, 3}, new int[] {3, 1})
                .op('u').op('.');
        Path whole = checkpoint("whole.ckpt", p.bytes(), Map.of("0", floats(1, 2, 3, 4, 5, 6)));
        Path truncated = dir.resolve("truncated.ckpt");
        byte[] all = Files.readAllBytes(whole);
        Files.write(truncated, Arrays.copyOf(all, all.length / 2));
        assertThatThrownBy(() -> TorchCheckpoint.read(truncated)).isInstanceOf(SafetensorsException.class);

        Path shortPickle = checkpoint("short.ckpt", Arrays.copyOf(p.bytes(), 20), Map.of());
        assertThatThrownBy(() -> TorchCheckpoint.read(shortPickle)).hasMessageContaining("ends early");

        Path missingStorage = checkpoint("nostorage.ckpt", p.bytes(), Map.of());
        assertThatThrownBy(() -> TorchCheckpoint.read(missingStorage)).hasMessageContaining("archive/data/0");
    }
}
