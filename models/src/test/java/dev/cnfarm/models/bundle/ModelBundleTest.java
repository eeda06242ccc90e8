package dev.cnfarm.models.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cnfarm.models.skeleton.SkeletonBundle;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelBundleTest {
    @TempDir
    Path dir;

    @Test
    void generatedBundleOpensWithVerifiedFiles() {
        ModelBundle written = SkeletonBundle.ensure(dir);
        ModelBundle opened = ModelBundle.open(dir.resolve(SkeletonBundle.ID));
        assertThat(opened.manifest()).isEqualTo(written.manifest());
        assertThat(opened.graph(SkeletonBundle.DENOISER)).isRegularFile();
        assertThat(opened.manifest().files()).singleElement().satisfies(f -> assertThat(f.sha256()).hasSize(64));
    }

    @Test
    void corruptFileIsNamed() throws Exception {
        SkeletonBundle.ensure(dir);
        Path model = dir.resolve(SkeletonBundle.ID).resolve("denoiser.onnx");
        Files.write(model, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> ModelBundle.open(dir.resolve(SkeletonBundle.ID)))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("denoiser.onnx")
                .hasMessageContaining("corrupt");
    }

    @Test
    void damagedCacheIsRegenerated() throws Exception {
        SkeletonBundle.ensure(dir);
        Files.write(dir.resolve(SkeletonBundle.ID).resolve("denoiser.onnx"), new byte[] {9});
        ModelBundle again = SkeletonBundle.ensure(dir);
        assertThat(Files.size(again.graph(SkeletonBundle.DENOISER))).isGreaterThan(100);
    }

    @Test
    void concurrentWritersSharingACacheAllGetTheBundle() throws Exception {
        int writers = 6;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(writers);
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        java.util.List<java.util.concurrent.Future<ModelBundle>> results = new java.util.ArrayList<>();
        for (int i = 0; i < writers; i++) {
            results.add(pool.submit(() -> {
                go.await();
                return SkeletonBundle.ensure(dir);
            }));
        }
        go.countDown();
        for (var f : results) {
            assertThat(f.get().manifest().id()).isEqualTo(SkeletonBundle.ID);
        }
        pool.shutdown();
        try (var left = Files.list(dir)) {
            assertThat(left.map(p -> p.getFileName().toString())).containsExactly(SkeletonBundle.ID);
        }
    }

    @Test
    void missingManifestSaysWhatIsWrong() {
        assertThatThrownBy(() -> ModelBundle.open(dir)).hasMessageContaining("manifest.json");
    }

    @Test
    void unknownGraphRoleListsTheKnownOnes() {
        ModelBundle b = SkeletonBundle.ensure(dir);
        assertThatThrownBy(() -> b.graph("unet")).hasMessageContaining("denoiser");
    }
}
