package dev.cnfarm.worker.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cnfarm.common.config.SessionSettings;
import dev.cnfarm.models.bundle.GeneratedBundles;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.interop.Contracts;
import dev.cnfarm.models.interop.DiffusersOnnxExport;
import dev.cnfarm.models.interop.DiffusersOnnxModel;
import dev.cnfarm.models.interop.LayoutException;
import dev.cnfarm.models.interop.OnnxGraphs;
import dev.cnfarm.models.interop.TensorType;
import dev.cnfarm.models.onnx.proto.Onnx.ModelProto;
import dev.cnfarm.worker.engine.ExecutionProviders;
import dev.cnfarm.worker.engine.SdModel;
import dev.cnfarm.worker.engine.SdRenderer;
import dev.cnfarm.worker.output.PngEncoder;
import dev.cnfarm.worker.render.RenderRequest;
import dev.cnfarm.worker.render.StepListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The tiny bundle exported in the diffusers/optimum ONNX layout, in every timestep and token-id
 * variant, read back through the layout reader and rendered by the engine: the same image as the
 * native bundle gives (to the bit for float32 graphs). Folders that do not fit are refused naming
 * the file and the tensor.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DiffusersLayoutTest {
    private static final SessionSettings SESSIONS = new SessionSettings(2, "all", true);
    private static final RenderRequest REQUEST =
            new RenderRequest("a cosy cottage", "blurry", List.of(), false, 42, 5, 64, 64, 7.5f, "ddim", 0f);

    @TempDir
    static Path dir;

    private ModelBundle tiny;
    private byte[] referencePng;
    private float[] reference;
    private final AtomicInteger exports = new AtomicInteger();

    @BeforeAll
    void renderTheNativeBundle() {
        tiny = GeneratedBundles.tiny(dir.resolve("models"));
        try (SdRenderer r = new SdRenderer(tiny, ExecutionProviders.cpu(), SESSIONS, 4)) {
            reference = r.render(REQUEST, StepListener.NONE).rgb();
        }
        referencePng = PngEncoder.encode(reference, 64, 64, "p");
    }

    private Path export(DiffusersOnnxExport.Options o) {
        Path out = dir.resolve("export-" + exports.incrementAndGet());
        DiffusersOnnxExport.export(tiny, out, o);
        return out;
    }

    static Stream<DiffusersOnnxExport.Options> variants() {
        return DiffusersOnnxExport.testedVariants().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void everyExportVariantReadsBackAndRendersTheNativeImage(DiffusersOnnxExport.Options o) {
        Path out = export(o);
        for (String f : List.of("model_index.json", "text_encoder/model.onnx", "unet/model.onnx", "vae_decoder/model.onnx",
                "vae_encoder/model.onnx", "tokenizer/vocab.json", "tokenizer/merges.txt", "scheduler/scheduler_config.json")) {
            assertThat(out.resolve(f)).as(f).isRegularFile();
        }
        DiffusersOnnxModel model = DiffusersOnnxModel.open(out);
        Contracts.UNet u = model.unetContract();
        assertThat(u.timestepType()).isEqualTo(o.timestepType());
        assertThat(u.timestepShape()).isEqualTo(o.timestepShape());
        assertThat(u.sampleType()).isEqualTo(o.ioType());
        assertThat(u.output()).isEqualTo("out_sample");
        assertThat(model.text().idsType()).isEqualTo(o.idsType());
        assertThat(model.text().hidden()).isEqualTo("last_hidden_state");
        assertThat(model.vae().latent()).isEqualTo("latent_sample");
        assertThat(model.contextDim()).isEqualTo(tiny.manifest().configs().get("unet") instanceof java.util.Map<?, ?> m
                ? ((Number) m.get("cross_attention_dim")).intValue() : -1);

        SdModel sd = SdModel.open(out);
        assertThat(sd.layout()).isEqualTo(DiffusersOnnxModel.LAYOUT);
        try (SdRenderer r = new SdRenderer(sd, ExecutionProviders.cpu(), SESSIONS, 4)) {
            float[] rgb = r.render(REQUEST, StepListener.NONE).rgb();
            if (o.ioType() == TensorType.FLOAT32) {
                assertThat(PngEncoder.encode(rgb, 64, 64, "p")).as("the native bundle's PNG, byte for byte").isEqualTo(referencePng);
            } else {
                // half-precision inputs and outputs round every step's tensors: close, not identical
                double worst = 0;
                for (int k = 0; k < rgb.length; k++) {
                    worst = Math.max(worst, Math.abs(rgb[k] - reference[k]));
                }
                assertThat(worst).as("largest pixel difference from the float32 image").isLessThan(0.05).isGreaterThan(0);
            }
        }
    }

    @Test
    void anIncompleteFolderIsRefusedNamingEveryMissingFile() throws Exception {
        Path out = export(DiffusersOnnxExport.Options.defaults());
        Files.delete(out.resolve("unet/model.onnx"));
        Files.delete(out.resolve("tokenizer/merges.txt"));
        assertThatThrownBy(() -> DiffusersOnnxModel.open(out)).isInstanceOf(LayoutException.class)
                .hasMessageContaining(out.toString()).hasMessageContaining("unet/model.onnx")
                .hasMessageContaining("tokenizer/vocab.json and tokenizer/merges.txt");
        Files.delete(out.resolve("model_index.json"));
        assertThat(DiffusersOnnxModel.looksLike(out)).isFalse();
    }

    @Test
    void aGraphWithAnUnexpectedInputIsRefusedNamingTheFileAndTheTensor() {
        Path out = export(DiffusersOnnxExport.Options.defaults());
        Path unet = out.resolve("unet/model.onnx");
        ModelProto m = OnnxGraphs.read(unet);
        m = m.toBuilder().setGraph(m.getGraph().toBuilder().addInput(OnnxGraphs.valueInfo("guidance_scale", TensorType.FLOAT32,
                List.of("1")))).build();
        OnnxGraphs.write(m, unet);
        assertThatThrownBy(() -> DiffusersOnnxModel.open(out)).isInstanceOf(LayoutException.class)
                .hasMessageContaining(unet.toString()).hasMessageContaining("unexpected input 'guidance_scale'")
                .hasMessageContaining("float32 [1]");
    }

    @Test
    void aWrongDtypeIsRefusedNamingTheFileTheTensorAndTheType() {
        Path out = export(DiffusersOnnxExport.Options.defaults());
        Path unet = out.resolve("unet/model.onnx");
        ModelProto m = OnnxGraphs.read(unet);
        List<String> dims = OnnxGraphs.inputs(m).stream().filter(i -> i.name().equals("sample")).findFirst().orElseThrow().dims();
        OnnxGraphs.write(OnnxGraphs.adaptInput(m, "sample", TensorType.INT64, dims), unet);
        assertThatThrownBy(() -> DiffusersOnnxModel.open(out)).isInstanceOf(LayoutException.class)
                .hasMessageContaining(unet.toString()).hasMessageContaining("input 'sample' is int64")
                .hasMessageContaining("expected float32 or float16");

        Path te = out.resolve("text_encoder/model.onnx");
        ModelProto t = OnnxGraphs.read(te);
        OnnxGraphs.write(OnnxGraphs.adaptInput(t, "input_ids", TensorType.FLOAT32, List.of("batch", "77")), te);
        assertThatThrownBy(() -> DiffusersOnnxModel.open(out)).isInstanceOf(LayoutException.class)
                .hasMessageContaining(te.toString()).hasMessageContaining("input 'input_ids' is float32")
                .hasMessageContaining("expected int64 or int32");
    }

    @Test
    void theFoldersSchedulerConfigSetsTheDefaultsAndAnUnsupportedOneIsRefused() throws Exception {
        Path out = export(DiffusersOnnxExport.Options.defaults());
        Path config = out.resolve("scheduler/scheduler_config.json");
        Files.writeString(config, """
                {"_class_name": "EulerDiscreteScheduler", "num_train_timesteps": 1000, "beta_start": 0.001, "beta_end": 0.02,
                 "beta_schedule": "linear", "steps_offset": 0, "timestep_spacing": "trailing", "prediction_type": "epsilon"}""");
        SdModel sd = SdModel.open(out);
        assertThat(sd.schedulerConfig().betaStart()).isEqualTo(0.001);
        assertThat(sd.schedulerConfig().betaSchedule()).isEqualTo("linear");
        assertThat(sd.schedulerConfig().stepsOffset()).isZero();
        assertThat(sd.schedulerConfig().timestepSpacing()).isEqualTo("trailing");
        Files.writeString(config, "{\"prediction_type\": \"v_prediction\"}");
        assertThatThrownBy(() -> SdModel.open(out)).isInstanceOf(LayoutException.class)
                .hasMessageContaining(config.toString()).hasMessageContaining("v_prediction");
    }

    @Test
    void exportingIntoAFolderInUseIsRefused() throws Exception {
        Path used = Files.createDirectories(dir.resolve("in-use"));
        Files.writeString(used.resolve("keep.txt"), "mine");
        assertThatThrownBy(() -> DiffusersOnnxExport.export(tiny, used, DiffusersOnnxExport.Options.defaults()))
                .isInstanceOf(LayoutException.class).hasMessageContaining("not an empty folder");
        assertThat(used.resolve("keep.txt")).hasContent("mine");
    }
}
