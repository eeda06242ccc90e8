package dev.cnfarm.models.onnx;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cnfarm.models.onnx.proto.Onnx.TensorProto.DataType;
import java.util.List;
import org.junit.jupiter.api.Test;

class GraphBuilderTest {
    @Test
    void readingAnUndefinedValueFailsWithItsName() {
        GraphBuilder g = new GraphBuilder("g");
        g.input("x", DataType.FLOAT, 1);
        assertThatThrownBy(() -> g.node("Add", List.of("x", "y")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'y'");
    }

    @Test
    void definingAValueTwiceFails() {
        GraphBuilder g = new GraphBuilder("g");
        g.input("x", DataType.FLOAT, 1);
        assertThatThrownBy(() -> g.initializer("x", new float[] {1}, 1)).hasMessageContaining("defined twice");
    }

    @Test
    void initializerDataMustFillItsShape() {
        GraphBuilder g = new GraphBuilder("g");
        assertThatThrownBy(() -> g.initializer("w", new float[5], 2, 3)).hasMessageContaining("6 values");
    }
}
