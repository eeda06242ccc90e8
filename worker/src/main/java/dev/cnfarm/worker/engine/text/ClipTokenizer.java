package dev.cnfarm.worker.engine.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cnfarm.models.tokenizer.ClipVocabulary;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * CLIP's byte-level BPE tokenizer with SD1.5's framing, on the Hugging Face tokenizers library
 * (through DJL): NFC, whitespace runs to one space, lower case, CLIP's split pattern (letters
 * together, each digit alone, punctuation runs), byte-level symbols, BPE with the {@code </w>}
 * end-of-word marker. Then {@code <|startoftext|>}, at most 75 tokens, {@code <|endoftext|>}, and
 * padding with {@code <|endoftext|>} (49407) to 77, as SD1.5 pads.
 *
 * <p>Reads a {@code tokenizer.json}, or {@code vocab.json} + {@code merges.txt} (turned into the
 * equivalent tokenizer.json).
 */
public final class ClipTokenizer implements PromptTokenizer {
    /** CLIP's pre-tokenization pattern, applied case-insensitively after lower-casing. */
    static final String SPLIT_PATTERN =
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

    private final HuggingFaceTokenizer tokenizer;
    private final long bos;
    private final long eos;

    private ClipTokenizer(HuggingFaceTokenizer tokenizer, long bos, long eos) {
        this.tokenizer = tokenizer;
        this.bos = bos;
        this.eos = eos;
    }

    /** Loads the tokenizer files of a folder: {@code tokenizer.json}, or {@code vocab.json} + {@code merges.txt}. */
    public static ClipTokenizer open(Path dir) {
        try {
            Path json = dir.resolve("tokenizer.json");
            String text;
            if (Files.isRegularFile(json)) {
                text = Files.readString(json);
            } else if (Files.isRegularFile(dir.resolve("vocab.json")) && Files.isRegularFile(dir.resolve("merges.txt"))) {
                text = tokenizerJson(Files.readString(dir.resolve("vocab.json")), Files.readString(dir.resolve("merges.txt")));
            } else {
                throw new IllegalArgumentException("no tokenizer in " + dir + ": it needs tokenizer.json, or vocab.json and merges.txt");
            }
            JsonNode vocab = new ObjectMapper().readTree(text).path("model").path("vocab");
            long bos = vocab.path(ClipVocabulary.BOS).asLong(ClipVocabulary.BOS_ID);
            long eos = vocab.path(ClipVocabulary.EOS).asLong(ClipVocabulary.EOS_ID);
            // DJL loads from a path; a private copy keeps a vocab.json-only folder untouched
            Path tmp = Files.createTempFile("clip-tokenizer", ".json");
            try {
                Files.writeString(tmp, text, StandardCharsets.UTF_8);
                HuggingFaceTokenizer t = HuggingFaceTokenizer.builder().optTokenizerPath(tmp)
                        .optAddSpecialTokens(false).optTruncation(false).optPadding(false).build();
                return new ClipTokenizer(t, bos, eos);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the tokenizer in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The Hugging Face tokenizer.json equivalent of CLIP's vocab.json + merges.txt. */
    static String tokenizerJson(String vocabJson, String mergesTxt) throws IOException {
        ObjectMapper m = new ObjectMapper();
        ObjectNode root = m.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        JsonNode vocab = m.readTree(vocabJson);
        for (String special : List.of(ClipVocabulary.BOS, ClipVocabulary.EOS)) {
            if (vocab.has(special)) {
                added.addObject().put("id", vocab.get(special).asInt()).put("content", special).put("single_word", false)
                        .put("lstrip", false).put("rstrip", false).put("normalized", true).put("special", true);
            }
        }
        ObjectNode normalizer = root.putObject("normalizer");
        normalizer.put("type", "Sequence");
        ArrayNode norms = normalizer.putArray("normalizers");
        norms.addObject().put("type", "NFC");
        ObjectNode replace = norms.addObject();
        replace.put("type", "Replace");
        replace.putObject("pattern").put("Regex", "\\s+");
        replace.put("content", " ");
        norms.addObject().put("type", "Lowercase");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Sequence");
        ArrayNode pres = pre.putArray("pretokenizers");
        ObjectNode split = pres.addObject();
        split.put("type", "Split");
        split.putObject("pattern").put("Regex", SPLIT_PATTERN);
        split.put("behavior", "Removed");
        split.put("invert", true);
        pres.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", false);
        root.putNull("post_processor");
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", false);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", ClipVocabulary.EOS);
        model.put("continuing_subword_prefix", "");
        model.put("end_of_word_suffix", ClipVocabulary.END_OF_WORD);
        model.put("fuse_unk", false);
        model.set("vocab", vocab);
        ArrayNode merges = model.putArray("merges");
        for (String line : mergesTxt.split("\n")) {
            String l = line.strip();
            if (!l.isEmpty() && !l.startsWith("#version")) {
                merges.add(l);
            }
        }
        return m.writeValueAsString(root);
    }

    @Override
    public long[] encode(String prompt) {
        Encoding e = tokenizer.encode(prompt == null ? "" : prompt);
        long[] content = e.getIds();
        long[] ids = new long[LENGTH];
        Arrays.fill(ids, eos);
        ids[0] = bos;
        int n = Math.min(content.length, LENGTH - 2);
        System.arraycopy(content, 0, ids, 1, n);
        ids[n + 1] = eos;
        return ids;
    }

    /** How many content tokens the prompt has before truncation (users are told when theirs is cut). */
    public int contentLength(String prompt) {
        return tokenizer.encode(prompt == null ? "" : prompt).getIds().length;
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    /** For tests: the vocabulary as a map. */
    static Map<String, Integer> vocabOf(ClipVocabulary v) {
        return v.vocab();
    }
}
