package dev.cnfarm.models.interop;

import dev.cnfarm.models.onnx.proto.Onnx.TensorProto.DataType;
import java.util.Locale;
import java.util.Optional;

/** The element types a diffusion graph's inputs and outputs come in, by the names the layout files and errors use. */
public enum TensorType {
    FLOAT32(DataType.FLOAT), FLOAT16(DataType.FLOAT16), INT64(DataType.INT64), INT32(DataType.INT32);

    private final DataType onnx;

    TensorType(DataType onnx) {
        this.onnx = onnx;
    }

    public DataType onnx() {
        return onnx;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public boolean isFloat() {
        return this == FLOAT32 || this == FLOAT16;
    }

    public static Optional<TensorType> of(int onnxElemType) {
        for (TensorType t : values()) {
            if (t.onnx.getNumber() == onnxElemType) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /** @throws IllegalArgumentException naming the accepted spellings */
    public static TensorType parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "float32", "float", "fp32" -> FLOAT32;
            case "float16", "half", "fp16" -> FLOAT16;
            case "int64" -> INT64;
            case "int32" -> INT32;
            default -> throw new IllegalArgumentException("'" + s + "' is not a tensor type; use float32, float16, int64 or int32");
        };
    }

    /** A readable name for any ONNX element type, for error messages. */
    public static String describe(int onnxElemType) {
        return of(onnxElemType).map(TensorType::label).orElseGet(() -> {
            DataType d = DataType.forNumber(onnxElemType);
            return d == null ? "type " + onnxElemType : d.name().toLowerCase(Locale.ROOT);
        });
    }
}
