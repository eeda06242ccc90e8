package dev.cnfarm.models.onnx;

import dev.cnfarm.models.onnx.proto.Onnx.AttributeProto;
import dev.cnfarm.models.onnx.proto.Onnx.AttributeProto.AttributeType;
import com.google.protobuf.ByteString;

/** A node attribute, as ONNX stores it. */
public record Attr(AttributeProto proto) {

    public static Attr i(String name, long value) {
        return new Attr(AttributeProto.newBuilder().setName(name).setType(AttributeType.INT).setI(value).build());
    }

    public static Attr f(String name, float value) {
        return new Attr(AttributeProto.newBuilder().setName(name).setType(AttributeType.FLOAT).setF(value).build());
    }

    public static Attr s(String name, String value) {
        return new Attr(AttributeProto.newBuilder().setName(name).setType(AttributeType.STRING)
                .setS(ByteString.copyFromUtf8(value)).build());
    }

    public static Attr ints(String name, long... values) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeType.INTS);
        for (long v : values) {
            b.addInts(v);
        }
        return new Attr(b.build());
    }
}
