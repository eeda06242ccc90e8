package dev.cnfarm.models.weights;

import ai.onnxruntime.platform.Fp16Conversions;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Reads the tensors of a PyTorch {@code .ckpt} / {@code .pth} file (what {@code torch.save} writes:
 * a zip archive of a pickle, {@code data.pkl}, and one raw little-endian blob per storage under
 * {@code data/}) without running anything from it.
 *
 * <p>A pickle is a small program: its {@code GLOBAL} and {@code REDUCE} instructions call any
 * function the file names, which is how a malicious checkpoint runs code on load. This reader
 * interprets only the instructions a state dict needs (dicts, lists, tuples, strings, numbers,
 * the memo, persistent storage ids) and resolves only the globals that rebuild tensors and ordered
 * dicts; any other global is refused by name before anything is called, as PyTorch's own
 * {@code weights_only=True} loader does.
 */
public final class TorchCheckpoint {
    /** A float tensor read from the file (integer buffers such as position ids are listed in {@link Result#skipped}). */
    public record Tensor(long[] shape, String dtype, float[] values) {}

    /** What a file held: its float tensors by name (a {@code state_dict} entry unwrapped), and what was passed over. */
    public record Result(Map<String, Tensor> tensors, List<String> skipped) {}

    /** The globals a state dict may name, and nothing else. */
    private static final Set<String> ALLOWED = Set.of("collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
            "torch._utils._rebuild_parameter", "torch.FloatStorage", "torch.HalfStorage", "torch.BFloat16Storage", "torch.DoubleStorage",
            "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage", "torch.ByteStorage", "torch.BoolStorage");

    private record Global(String name) {}

    private record StorageRef(String type, String key, long numel) {}

    private record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {}

    private TorchCheckpoint() {}

    public static Result read(Path file) {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            ZipEntry pkl = zip.stream().filter(e -> e.getName().endsWith("data.pkl")).findFirst().orElseThrow(() -> new SafetensorsException(
                    file + " is a zip archive without a data.pkl: not a checkpoint torch.save wrote"));
            String root = pkl.getName().substring(0, pkl.getName().length() - "data.pkl".length());
            byte[] program;
            try (InputStream in = zip.getInputStream(pkl)) {
                program = in.readAllBytes();
            }
            Object top = new Unpickler(program, file).run();
            Map<?, ?> dict = top instanceof Map<?, ?> m ? m : null;
            if (dict == null) {
                throw new SafetensorsException(file + " holds a " + describe(top) + ", not a state dict");
            }
            if (dict.get("state_dict") instanceof Map<?, ?> inner) {
                dict = inner; // A1111-era checkpoints: {'state_dict': ..., 'global_step': ...}
            }
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            List<String> skipped = new ArrayList<>();
            Map<String, byte[]> blobs = new HashMap<>();
            for (Map.Entry<?, ?> e : dict.entrySet()) {
                String name = String.valueOf(e.getKey());
                if (!(e.getValue() instanceof TensorRef t)) {
                    skipped.add(name + " (" + describe(e.getValue()) + ")");
                    continue;
                }
                String dtype = dtype(t.storage().type());
                if (dtype == null) {
                    skipped.add(name + " (" + t.storage().type() + ": not floating point)");
                    continue;
                }
                byte[] blob = blobs.computeIfAbsent(t.storage().key(), k -> entry(zip, root + "data/" + k, file));
                tensors.put(name, new Tensor(t.size(), dtype, values(blob, dtype, t, name, file)));
            }
            return new Result(tensors, skipped);
        } catch (ZipException e) {
            throw new SafetensorsException(file + " is not a PyTorch checkpoint (a .ckpt or .pth is a zip archive; this one does not open: "
                    + e.getMessage() + "). Truncated, or another format?", e);
        } catch (IOException e) {
            throw new SafetensorsException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Whether a file's name says it is a PyTorch pickle checkpoint ({@code .ckpt}, {@code .pth}, {@code .pt}). */
    public static boolean isTorchFile(Path file) {
        String n = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        return n.endsWith(".ckpt") || n.endsWith(".pth") || n.endsWith(".pt");
    }

    /**
     * Writes a checkpoint's float tensors as {@code .safetensors} with the same names: fp16 or bf16
     * when every tensor is, else fp32 (no precision is lost).
     *
     * @return what was read (the skipped entries included)
     */
    public static Result toSafetensors(Path checkpoint, Path out) {
        Result r = read(checkpoint);
        if (r.tensors().isEmpty()) {
            throw new SafetensorsException(checkpoint + " holds no floating-point tensors (" + r.skipped().size() + " other entries)");
        }
        java.util.Set<String> dtypes = new java.util.HashSet<>();
        Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        r.tensors().forEach((k, v) -> {
            dtypes.add(v.dtype());
            t.put(k, new SafetensorsWriter.Tensor(v.shape(), v.values()));
        });
        String dtype = dtypes.size() == 1 && !dtypes.contains("F64") ? dtypes.iterator().next() : "F32";
        SafetensorsWriter.write(out, t, dtype, Map.of("format", "pt", "converted_from", String.valueOf(checkpoint.getFileName())));
        return r;
    }

    private static byte[] entry(ZipFile zip, String name, Path file) {
        ZipEntry e = zip.getEntry(name);
        if (e == null) {
            throw new SafetensorsException(file + " names a storage " + name + " that the archive does not hold: the file is damaged");
        }
        try (InputStream in = zip.getInputStream(e)) {
            return in.readAllBytes();
        } catch (IOException x) {
            throw new SafetensorsException("cannot read " + name + " of " + file + ": " + x.getMessage(), x);
        }
    }

    private static String dtype(String storageType) {
        return switch (storageType) {
            case "torch.FloatStorage" -> "F32";
            case "torch.HalfStorage" -> "F16";
            case "torch.BFloat16Storage" -> "BF16";
            case "torch.DoubleStorage" -> "F64";
            default -> null;
        };
    }

    /** The tensor's values in row-major order, read through its offset and strides. */
    private static float[] values(byte[] blob, String dtype, TensorRef t, String name, Path file) {
        int width = switch (dtype) {
            case "F32" -> 4;
            case "F64" -> 8;
            default -> 2;
        };
        long count = 1;
        for (long d : t.size()) {
            count *= d;
        }
        if (count > Integer.MAX_VALUE) {
            throw new SafetensorsException(name + " in " + file + " has too many values for one array: " + count);
        }
        ByteBuffer b = ByteBuffer.wrap(blob).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[(int) count];
        long[] index = new long[t.size().length];
        for (int i = 0; i < out.length; i++) {
            long at = t.offset();
            for (int d = 0; d < index.length; d++) {
                at += index[d] * t.stride()[d];
            }
            if (at < 0 || (at + 1) * width > blob.length) {
                throw new SafetensorsException(name + " in " + file + " reaches past its storage (" + blob.length / width + " values): the file is damaged");
            }
            int pos = (int) (at * width);
            out[i] = switch (dtype) {
                case "F32" -> b.getFloat(pos);
                case "F64" -> (float) b.getDouble(pos);
                case "F16" -> Fp16Conversions.fp16ToFloat(b.getShort(pos));
                default -> Float.intBitsToFloat((b.getShort(pos) & 0xffff) << 16); // BF16
            };
            for (int d = index.length - 1; d >= 0; d--) {
                if (++index[d] < t.size()[d]) {
                    break;
                }
                index[d] = 0;
            }
        }
        return out;
    }

    private static String describe(Object o) {
        return o == null ? "None" : o instanceof Map ? "dict" : o instanceof List ? "list" : o.getClass().getSimpleName();
    }

    /** The instructions of pickle protocols 2 to 4 that state dicts use; everything else refused. */
    private static final class Unpickler {
        private static final Object MARK = new Object();
        private final ByteBuffer in;
        private final Path file;
        private final Deque<Object> stack = new ArrayDeque<>();
        private final Map<Long, Object> memo = new HashMap<>();

        Unpickler(byte[] program, Path file) {
            this.in = ByteBuffer.wrap(program).order(ByteOrder.LITTLE_ENDIAN);
            this.file = file;
        }

        Object run() {
            try {
                while (true) {
                    int at = in.position();
                    int op = in.get() & 0xff;
                    switch (op) {
                        case 0x80 -> in.get(); // PROTO
                        case 0x95 -> in.getLong(); // FRAME: its length only
                        case '}' -> stack.push(new LinkedHashMap<>());
                        case ']' -> stack.push(new ArrayList<>());
                        case ')' -> stack.push(List.of());
                        case '(' -> stack.push(MARK);
                        case 'X' -> stack.push(text(in.getInt()));
                        case 0x8c -> stack.push(text(in.get() & 0xff)); // SHORT_BINUNICODE
                        case 'U' -> stack.push(text(in.get() & 0xff)); // SHORT_BINSTRING
                        case 'T' -> stack.push(text(in.getInt())); // BINSTRING
                        case 'J' -> stack.push((long) in.getInt());
                        case 'K' -> stack.push((long) (in.get() & 0xff));
                        case 'M' -> stack.push((long) (in.getShort() & 0xffff));
                        case 0x8a -> stack.push(long1(in.get() & 0xff));
                        case 'G' -> stack.push(Double.longBitsToDouble(Long.reverseBytes(in.getLong()))); // BINFLOAT: big-endian
                        case 0x88 -> stack.push(Boolean.TRUE);
                        case 0x89 -> stack.push(Boolean.FALSE);
                        case 'N' -> stack.push(NONE);
                        case 'c' -> stack.push(global(line() + "." + line(), at));
                        case 0x93 -> { // STACK_GLOBAL
                            String name = String.valueOf(stack.pop());
                            String module = String.valueOf(stack.pop());
                            stack.push(global(module + "." + name, at));
                        }
                        case 't' -> stack.push(List.copyOf(popToMark()));
                        case 0x85 -> stack.push(List.of(stack.pop()));
                        case 0x86 -> {
                            Object b = stack.pop();
                            stack.push(List.of(stack.pop(), b));
                        }
                        case 0x87 -> {
                            Object c = stack.pop();
                            Object b = stack.pop();
                            stack.push(List.of(stack.pop(), b, c));
                        }
                        case 'Q' -> stack.push(storage(stack.pop(), at));
                        case 'R' -> {
                            Object args = stack.pop();
                            stack.push(call(stack.pop(), args, at));
                        }
                        case 'b' -> stack.pop(); // BUILD: an OrderedDict's attributes (its _metadata): not needed
                        case 's' -> {
                            Object v = stack.pop();
                            Object k = stack.pop();
                            map(stack.peek(), at).put(k, v);
                        }
                        case 'u' -> {
                            List<Object> items = popToMark();
                            Map<Object, Object> m = map(stack.peek(), at);
                            for (int i = 0; i + 1 < items.size(); i += 2) {
                                m.put(items.get(i), items.get(i + 1));
                            }
                        }
                        case 'a' -> {
                            Object v = stack.pop();
                            list(stack.peek(), at).add(v);
                        }
                        case 'e' -> {
                            List<Object> items = popToMark();
                            list(stack.peek(), at).addAll(items);
                        }
                        case 'q' -> memo.put((long) (in.get() & 0xff), stack.peek());
                        case 'r' -> memo.put(in.getInt() & 0xffffffffL, stack.peek());
                        case 0x94 -> memo.put((long) memo.size(), stack.peek()); // MEMOIZE
                        case 'h' -> stack.push(memo(in.get() & 0xff, at));
                        case 'j' -> stack.push(memo(in.getInt() & 0xffffffffL, at));
                        case '.' -> {
                            return stack.pop();
                        }
                        default -> throw refuse(String.format("instruction 0x%02x ('%c') at byte %d, which a state dict never needs", op,
                                op >= 32 && op < 127 ? (char) op : '?', at));
                    }
                }
            } catch (java.nio.BufferUnderflowException | java.util.NoSuchElementException e) {
                throw new SafetensorsException(file + ": the pickle data.pkl ends early or is malformed (" + e + "): the file is truncated "
                        + "or damaged");
            }
        }

        private static final Object NONE = new Object() {
            @Override
            public String toString() {
                return "None";
            }
        };

        private Object global(String name, int at) {
            if (!ALLOWED.contains(name)) {
                throw refuse("the global " + name + " (at byte " + at + "); loading would call it. Only state dicts are read: tensors, "
                        + "storages and ordered dicts");
            }
            return new Global(name);
        }

        private Object call(Object f, Object args, int at) {
            if (!(f instanceof Global g)) {
                throw refuse("a call of " + describe(f) + " at byte " + at);
            }
            List<?> a = args instanceof List<?> l ? l : List.of();
            return switch (g.name()) {
                case "collections.OrderedDict" -> new LinkedHashMap<>();
                case "torch._utils._rebuild_tensor_v2" -> {
                    if (a.size() < 4 || !(a.get(0) instanceof StorageRef s)) {
                        throw refuse("a tensor rebuilt from " + a + " at byte " + at);
                    }
                    yield new TensorRef(s, ((Number) a.get(1)).longValue(), longs(a.get(2)), longs(a.get(3)));
                }
                case "torch._utils._rebuild_parameter" -> a.isEmpty() ? NONE : a.get(0);
                default -> throw refuse("a call of " + g.name() + " at byte " + at);
            };
        }

        private Object storage(Object pid, int at) {
            if (pid instanceof List<?> l && l.size() >= 5 && "storage".equals(l.get(0)) && l.get(1) instanceof Global type) {
                return new StorageRef(type.name(), String.valueOf(l.get(2)), ((Number) l.get(4)).longValue());
            }
            throw refuse("a persistent id " + pid + " at byte " + at + " that is no tensor storage");
        }

        private List<Object> popToMark() {
            List<Object> items = new ArrayList<>();
            while (stack.peek() != MARK) {
                items.add(0, stack.pop());
            }
            stack.pop();
            return items;
        }

        @SuppressWarnings("unchecked")
        private Map<Object, Object> map(Object o, int at) {
            if (o instanceof Map<?, ?> m) {
                return (Map<Object, Object>) m;
            }
            throw refuse("setting items on a " + describe(o) + " at byte " + at);
        }

        @SuppressWarnings("unchecked")
        private List<Object> list(Object o, int at) {
            if (o instanceof ArrayList<?> l) {
                return (List<Object>) l;
            }
            throw refuse("appending to a " + describe(o) + " at byte " + at);
        }

        private Object memo(long i, int at) {
            Object o = memo.get(i);
            if (o == null) {
                throw new SafetensorsException(file + ": the pickle reads memo " + i + " at byte " + at + " before writing it: the file is damaged");
            }
            return o;
        }

        private String text(int length) {
            byte[] b = new byte[length];
            in.get(b);
            return new String(b, StandardCharsets.UTF_8);
        }

        private String line() {
            StringBuilder s = new StringBuilder();
            byte c;
            while ((c = in.get()) != '\n') {
                s.append((char) c);
            }
            return s.toString();
        }

        private long long1(int n) {
            long v = 0;
            for (int i = 0; i < n; i++) {
                v |= (in.get() & 0xffL) << (8 * i);
            }
            if (n > 0 && n < 8 && (v & (1L << (8 * n - 1))) != 0) {
                v -= 1L << (8 * n); // two's complement
            }
            return v;
        }

        private static long[] longs(Object o) {
            List<?> l = (List<?>) o;
            long[] out = new long[l.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = ((Number) l.get(i)).longValue();
            }
            return out;
        }

        private SafetensorsException refuse(String what) {
            return new SafetensorsException(file + " was refused: its pickle asks for " + what + ". Convert the file to .safetensors "
                    + "with the tool that made it, or check where it came from.");
        }
    }
}
