package dev.cnfarm.cli.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Property tests (jqwik) of the manifest reader: any CSV or JSON-lines file either reads as rows or
 * is refused with a message naming the file (and, for a bad row, its line), never with another
 * exception. Files are valid manifests with one part broken (cut, inserted characters, a cell
 * replaced) or random lines; raw bytes that are not UTF-8 too.
 */
class ManifestReaderFuzzTest {
    private static final String CSV = """
            prompt,negative_prompt,control_image,seed,steps,guidance_scale,control_scale
            a house,blurry,edges/house.png,1,20,7.5,1.0
            "a tree, in winter",,edges/tree.png,2,,,
            a lighthouse,,edges/lighthouse.png,,30,,0.5
            """;
    private static final String JSONL = """
            {"prompt": "a house", "control_image": "edges/house.png", "seed": 1, "steps": 20}
            {"prompt": "a tree", "control_image": "edges/tree.png", "guidance_scale": 7.5, "negative_prompt": null}
            """;
    private static Path dir;

    @BeforeContainer
    static void makeDir() throws IOException {
        dir = Files.createTempDirectory("manifest-fuzz");
    }

    @AfterContainer
    static void removeDir() throws IOException {
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }

    @Property(tries = 1000)
    void anyCsvReadsOrIsRefusedNamingTheFile(@ForAll("csvFiles") byte[] content) throws IOException {
        check("m.csv", content);
        // both outcomes must be tried a fair amount, or the generator has drifted
        Statistics.coverage(c -> {
            c.check("read").percentage(p -> p > 5);
            c.check("refused").percentage(p -> p > 5);
        });
    }

    @Property(tries = 1000)
    void anyJsonLinesReadsOrIsRefusedNamingTheFile(@ForAll("jsonlFiles") byte[] content) throws IOException {
        check("m.jsonl", content);
        Statistics.coverage(c -> {
            c.check("read").percentage(p -> p > 5);
            c.check("refused").percentage(p -> p > 5);
        });
    }

    private static void check(String name, byte[] content) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, content);
        try {
            var rows = ManifestReader.read(file);
            rows.forEach(r -> assertThat(r.hasNonNull("prompt")).as("a row without its prompt (the one required column)").isTrue());
            Statistics.collect("read");
        } catch (IllegalArgumentException e) {
            // the reader's own refusals name the file; a bare NumberFormatException (also an
            // IllegalArgumentException) would not, and would fail here
            assertThat(e.getMessage()).as("refusal of %s", new String(content, StandardCharsets.UTF_8)).contains(name);
            Statistics.collect("refused");
        } catch (UncheckedIOException e) {
            throw new AssertionError("an I/O error escaped for content: " + new String(content, StandardCharsets.UTF_8), e);
        }
    }

    @Provide
    Arbitrary<byte[]> csvFiles() {
        return broken(CSV, List.of("prompt", "seed", "steps", "guidance_scale", "control_image", "colour"));
    }

    @Provide
    Arbitrary<byte[]> jsonlFiles() {
        return broken(JSONL, List.of("{", "}", "[1]", "null", "\"seed\": \"x\"", "\"steps\": 1e99", "\"prompt\": {}"));
    }

    private static Arbitrary<byte[]> broken(String valid, List<String> pieces) {
        Arbitrary<String> cut = Combinators.combine(Arbitraries.integers().between(0, valid.length() - 1), Arbitraries.integers().between(1, 30))
                .as((at, n) -> valid.substring(0, at) + valid.substring(Math.min(valid.length(), at + n)));
        Arbitrary<String> junk = Arbitraries.oneOf(Arbitraries.strings().withChars(",\"\n\r{}[]:-.e0123456789 ").ofMaxLength(10),
                Arbitraries.strings().all().ofMaxLength(10), Arbitraries.of(pieces));
        Arbitrary<String> inserted = Combinators.combine(Arbitraries.integers().between(0, valid.length()), junk)
                .as((at, s) -> valid.substring(0, at) + s + valid.substring(at));
        Arbitrary<String> lines = junk.list().ofMaxSize(6).map(ls -> String.join("\n", ls));
        Arbitrary<byte[]> text = Arbitraries.oneOf(cut, inserted, lines).map(s -> s.getBytes(StandardCharsets.UTF_8));
        Arbitrary<byte[]> bytes = Arbitraries.bytes().array(byte[].class).ofMaxSize(200);
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(8, text), net.jqwik.api.Tuple.of(1, bytes));
    }
}
