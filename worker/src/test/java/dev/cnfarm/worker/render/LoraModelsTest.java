package dev.cnfarm.worker.render;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cnfarm.common.config.SessionSettings;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.onnx.GraphBuilder.Storage;
import dev.cnfarm.models.onnx.ParamSpec;
import dev.cnfarm.models.weights.GraphWeights;
import dev.cnfarm.models.weights.LoraWeights;
import dev.cnfarm.models.weights.RandomWeights;
import dev.cnfarm.models.weights.SafetensorsWriter;
import dev.cnfarm.models.weights.WeightSource;
import dev.cnfarm.proto.v1.LoraRef;
import dev.cnfarm.proto.v1.ObjectRef;
import dev.cnfarm.worker.engine.ExecutionProviders;
import dev.cnfarm.worker.engine.SdModel;
import dev.cnfarm.worker.engine.SdRenderer;
import dev.cnfarm.worker.engine.noise.NoiseKind;
import dev.cnfarm.worker.testing.LoraFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA merged by the worker: the image equals the one of a bundle built with the same LoRA merged
 * at import, to the bit; weight 0 is the base model itself; a set is merged once and kept, the
 * eldest of more than {@link LoraModels#CAPACITY} closed; a file that names no layer of the model
 * fails the task at once, listing its keys.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LoraModelsTest {
    private static final SessionSettings SESSIONS = new SessionSettings(2, "all", true);

    @TempDir
    static Path dir;

    private final WeightSource weights = new RandomWeights(12, false);
    private SdRenderer base;
    private Path loraFolder;
    private Path style;
    private LoraModels loras;

    @BeforeAll
    void build() throws Exception {
        base = new SdRenderer(bundle("base", weights), ExecutionProviders.cpu(), SESSIONS, 4);
        List<ParamSpec> params = GraphWeights.of(List.of(base.model().textEncoder(), base.model().unet())).params();
        loraFolder = Files.createDirectories(dir.resolve("loras"));
        style = local(LoraFixtures.kohya(dir.resolve("style.safetensors"), params.stream().filter(LoraFixtures::attention).toList(), 2, 5,
                0.4f));
        loras = new LoraModels(new LoraFiles(null, loraFolder), dir.resolve("merged"), // every file is on disk already: the store is never asked
                model -> new SdRenderer(model, ExecutionProviders.cpu(), SESSIONS, 4));
    }

    @AfterAll
    void close() {
        loras.close();
        base.close();
    }

    private ModelBundle bundle(String id, WeightSource w) {
        return BundleBuilder.build(dir.resolve(id), new BundleBuilder.Options(id, ModelPreset.tiny(), 1, Storage.FP32, false), w, "test",
                (done, total, graph) -> { });
    }

    /** A file placed where {@link LoraFiles} keeps fetched files, named by its digest. */
    private Path local(Path file) throws Exception {
        Path at = loraFolder.resolve(Sha256.of(Files.readAllBytes(file)) + ".safetensors");
        Files.copy(file, at);
        return at;
    }

    private static LoraRef ref(String name, Path local, float weight) {
        String sha = local.getFileName().toString().replace(".safetensors", "");
        return LoraRef.newBuilder().setName(name).setWeight(weight).setFile(ObjectRef.newBuilder().setKey("uploads/t/" + sha).setSha256(sha))
                .build();
    }

    private static float[] render(Renderer r) {
        return r.render(new RenderRequest("a red circle", "", List.of(), false, 7, 4, 64, 64, 7.5f, "euler", 0f, NoiseKind.FARM),
                StepListener.NONE).rgb();
    }

    /** The job's weight is a float: the import is given the same number (0.8f, not the double 0.8). */
    @Test
    void aMergedSetRendersTheImageOfTheSameLoraMergedAtImportToTheBit() {
        List<ParamSpec> params = new java.util.ArrayList<>();
        BundleBuilder.graphs(ModelPreset.tiny(), 1, Storage.FP32, BundleBuilder.referenceSize(ModelPreset.tiny())).values()
                .forEach(g -> params.addAll(g.params()));
        try (SdRenderer imported = new SdRenderer(bundle("imported", new LoraWeights(weights, params, List.of(new LoraWeights.Lora(style, 0.8f)))),
                ExecutionProviders.cpu(), SESSIONS, 4)) {
            float[] want = render(imported);
            Renderer merged = loras.apply(base, "t", List.of(ref("style", style, 0.8f)));
            assertThat(merged).isNotSameAs(base);
            assertThat(render(merged)).isEqualTo(want);
            assertThat(render(base)).as("the LoRA changes the image").isNotEqualTo(want);
        }
    }

    @Test
    void weightZeroIsTheBaseModelAndASetIsMergedOnceUntilEvicted() throws Exception {
        assertThat(loras.apply(base, "t", List.of(ref("style", style, 0f)))).isSameAs(base);
        long before = loras.merges();
        Renderer a = loras.apply(base, "t", List.of(ref("style", style, 0.5f)));
        assertThat(loras.apply(base, "t", List.of(ref("style", style, 0.5f), ref("off", style, 0f)))).as("a bulk job pays the merge once")
                .isSameAs(a);
        assertThat(loras.merges()).isEqualTo(before + 1);
        Renderer b = loras.apply(base, "t", List.of(ref("style", style, 0.25f)));
        Renderer c = loras.apply(base, "t", List.of(ref("style", style, -0.25f)));
        assertThat(List.of(a, b, c)).doesNotHaveDuplicates();
        assertThat(loras.merges()).isEqualTo(before + 3);
        assertThat(loras.apply(base, "t", List.of(ref("style", style, 0.25f)))).isSameAs(b);
        Renderer again = loras.apply(base, "t", List.of(ref("style", style, 0.5f)));
        assertThat(again).as("the eldest set was closed when a third came").isNotSameAs(a);
        assertThat(loras.merges()).isEqualTo(before + 4);
        assertThat(render(again)).isNotEqualTo(render(base));
    }

    @Test
    void aFileNamingNoLayerOfTheModelFailsAtOnceListingItsKeys() throws Exception {
        Path other = dir.resolve("other.safetensors");
        SafetensorsWriter.write(other, Map.of(
                "lora_unet_no_such_block.lora_down.weight", new SafetensorsWriter.Tensor(new long[] {2, 4}, new float[8]),
                "lora_unet_no_such_block.lora_up.weight", new SafetensorsWriter.Tensor(new long[] {4, 2}, new float[8])), "F32", Map.of());
        Path local = local(other);
        assertThatThrownBy(() -> loras.apply(base, "t", List.of(ref("other", local, 1f))))
                .isInstanceOfSatisfying(BadInputException.class, e -> assertThat(e.isPermanent()).isTrue())
                .hasMessageContaining("lora_unet_no_such_block").hasMessageContaining("LoRA [other] on model base");
    }
}
