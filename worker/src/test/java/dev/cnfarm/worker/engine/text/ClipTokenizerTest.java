package dev.cnfarm.worker.engine.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cnfarm.models.tokenizer.ClipVocabulary;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** The tokenizer on a small vocabulary built here, in the files CLIP ships (vocab.json + merges.txt). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClipTokenizerTest {
    @TempDir
    static Path dir;

    private ClipVocabulary vocab;
    private ClipTokenizer tok;

    @BeforeAll
    void load() {
        // merges in rank order: "c a" -> "ca", "ca t</w>" -> "cat</w>", "d o" -> "do", "do g</w>" -> "dog</w>",
        // "a </w>"? no: the article is the byte symbol "a</w>" already
        vocab = ClipVocabulary.withMerges(List.of("c a", "ca t</w>", "d o", "do g</w>", "h o", "ho u", "hou s", "hous e</w>"));
        vocab.write(dir);
        tok = ClipTokenizer.open(dir);
    }

    private int id(String token) {
        Integer i = vocab.vocab().get(token);
        assertThat(i).as("token %s in the test vocabulary", token).isNotNull();
        return i;
    }

    @Test
    void mergesLowerCasingAndFraming() {
        long[] ids = tok.encode("A  CAT, a dog!");
        assertThat(ids).hasSize(77);
        assertThat(ids[0]).isEqualTo(ClipVocabulary.BOS_ID);
        assertThat(ids[1]).isEqualTo(id("a</w>"));
        assertThat(ids[2]).isEqualTo(id("cat</w>"));
        assertThat(ids[3]).isEqualTo(id(",</w>"));
        assertThat(ids[4]).isEqualTo(id("a</w>"));
        assertThat(ids[5]).isEqualTo(id("dog</w>"));
        assertThat(ids[6]).isEqualTo(id("!</w>"));
        assertThat(ids[7]).isEqualTo(ClipVocabulary.EOS_ID);
        for (int i = 8; i < 77; i++) {
            assertThat(ids[i]).as("padding with end-of-text").isEqualTo(ClipVocabulary.EOS_ID);
        }
    }

    @Test
    void wordsWithoutMergesFallBackToByteSymbolsAndDigitsStandAlone() {
        long[] ids = tok.encode("house 42 cats");
        assertThat(ids[1]).isEqualTo(id("house</w>"));
        assertThat(ids[2]).isEqualTo(id("4</w>"));
        assertThat(ids[3]).isEqualTo(id("2</w>"));
        // "cats": "ca" merges, then "t" and "s</w>" stay apart (no rule for them)
        assertThat(ids[4]).isEqualTo(id("ca"));
        assertThat(ids[5]).isEqualTo(id("t"));
        assertThat(ids[6]).isEqualTo(id("s</w>"));
        assertThat(ids[7]).isEqualTo(ClipVocabulary.EOS_ID);
    }

    @Test
    void longPromptsAreTruncatedTo75TokensPlusTheMarkers() {
        String prompt = "cat ".repeat(100);
        assertThat(tok.contentLength(prompt)).isEqualTo(100);
        long[] ids = tok.encode(prompt);
        assertThat(ids[0]).isEqualTo(ClipVocabulary.BOS_ID);
        for (int i = 1; i <= 75; i++) {
            assertThat(ids[i]).isEqualTo(id("cat</w>"));
        }
        assertThat(ids[76]).isEqualTo(ClipVocabulary.EOS_ID);
    }

    @Test
    void emptyPromptIsJustTheMarkers() {
        long[] ids = tok.encode("");
        assertThat(ids[0]).isEqualTo(ClipVocabulary.BOS_ID);
        assertThat(ids[1]).isEqualTo(ClipVocabulary.EOS_ID);
        assertThat(ids[76]).isEqualTo(ClipVocabulary.EOS_ID);
    }

    @Test
    void nonAsciiTextBecomesByteSymbols() {
        long[] ids = tok.encode("é");
        // U+00E9 is two UTF-8 bytes, C3 A9: the byte symbols 'Ã' and '©</w>'
        Map<Integer, String> b2u = ClipVocabulary.bytesToUnicode();
        assertThat(ids[1]).isEqualTo(id(b2u.get(0xC3)));
        assertThat(ids[2]).isEqualTo(id(b2u.get(0xA9) + "</w>"));
    }

    @Test
    void folderWithoutTokenizerFilesIsRefused(@TempDir Path empty) {
        assertThatThrownBy(() -> ClipTokenizer.open(empty)).hasMessageContaining("vocab.json");
    }
}
