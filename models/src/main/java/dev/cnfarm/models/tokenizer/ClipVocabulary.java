package dev.cnfarm.models.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A CLIP-format BPE vocabulary ({@code vocab.json} + {@code merges.txt}), the files the SD1.5
 * tokenizer ships. The farm writes one into bundles it generates: the 256 byte symbols (in CLIP's
 * byte-to-unicode order), the same with the end-of-word marker {@code </w>}, the given merges, and
 * the special tokens at CLIP's ids 49406 and 49407, so token ids fit the text encoder's embedding
 * table exactly as real CLIP ids do.
 */
public final class ClipVocabulary {
    public static final String BOS = "<|startoftext|>";
    public static final String EOS = "<|endoftext|>";
    public static final int BOS_ID = 49406;
    public static final int EOS_ID = 49407;
    public static final String END_OF_WORD = "</w>";

    private final Map<String, Integer> vocab;
    private final List<String> merges;

    public ClipVocabulary(Map<String, Integer> vocab, List<String> merges) {
        this.vocab = vocab;
        this.merges = merges;
    }

    /** Byte symbols, byte symbols with {@code </w>}, one token per merge in merge order, then the specials. */
    public static ClipVocabulary withMerges(List<String> merges) {
        Map<String, Integer> v = new LinkedHashMap<>();
        List<String> base = new ArrayList<>(bytesToUnicode().values());
        for (String s : base) {
            v.put(s, v.size());
        }
        for (String s : base) {
            v.put(s + END_OF_WORD, v.size());
        }
        for (String m : merges) {
            String[] pair = m.split(" ");
            if (pair.length != 2) {
                throw new IllegalArgumentException("a merge is two symbols separated by a space, not '" + m + "'");
            }
            v.putIfAbsent(pair[0] + pair[1], v.size());
        }
        if (v.size() > BOS_ID) {
            throw new IllegalArgumentException("too many merges for CLIP's id space: " + v.size());
        }
        v.put(BOS, BOS_ID);
        v.put(EOS, EOS_ID);
        return new ClipVocabulary(v, List.copyOf(merges));
    }

    /**
     * A small vocabulary: the byte symbols, one token per merge, and the special tokens right after
     * them (start of text, then end of text, the largest id), so a text encoder trained for it needs
     * an embedding table of only {@link #size()} rows. The farm's tokenizer reads the special ids
     * from the vocabulary, and CLIP's pooling (the hidden state at the largest id) still finds the
     * end of text.
     */
    public static ClipVocabulary compact(List<String> merges) {
        Map<String, Integer> v = new LinkedHashMap<>(withMerges(merges).vocab());
        v.remove(BOS);
        v.remove(EOS);
        v.put(BOS, v.size());
        v.put(EOS, v.size());
        return new ClipVocabulary(v, List.copyOf(merges));
    }

    /** Number of ids (one more than the largest). */
    public int size() {
        return vocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
    }

    /**
     * Merges that make each of {@code words} (lower-case letters) a single token under CLIP's BPE.
     * Words are taken in order; a word already whole under the merges so far adds nothing, and each
     * merge added ranks after every earlier one, so it never changes how an earlier word splits.
     */
    public static List<String> mergesForWords(List<String> words) {
        List<String> merges = new ArrayList<>();
        Map<String, Integer> rank = new java.util.HashMap<>();
        for (String word : words) {
            while (true) {
                List<String> symbols = bpe(word, rank);
                if (symbols.size() == 1) {
                    break;
                }
                String merge = symbols.get(0) + " " + symbols.get(1);
                rank.put(merge, merges.size());
                merges.add(merge);
            }
        }
        return merges;
    }

    /** CLIP's BPE of one word: characters, the last with the end-of-word marker, lowest-ranked pair merged first. */
    static List<String> bpe(String word, Map<String, Integer> rank) {
        List<String> s = new ArrayList<>();
        for (int i = 0; i < word.length(); i++) {
            s.add(word.substring(i, i + 1) + (i == word.length() - 1 ? END_OF_WORD : ""));
        }
        while (s.size() > 1) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < s.size(); i++) {
                Integer r = rank.get(s.get(i) + " " + s.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    best = i;
                }
            }
            if (best < 0) {
                break;
            }
            String a = s.get(best);
            String b = s.get(best + 1);
            List<String> next = new ArrayList<>();
            for (int i = 0; i < s.size(); i++) {
                if (i + 1 < s.size() && s.get(i).equals(a) && s.get(i + 1).equals(b)) {
                    next.add(a + b);
                    i++;
                } else {
                    next.add(s.get(i));
                }
            }
            s = next;
        }
        return s;
    }

    public Map<String, Integer> vocab() {
        return vocab;
    }

    public List<String> merges() {
        return merges;
    }

    /** Writes vocab.json and merges.txt (with the "#version: 0.2" header line) into {@code dir}. */
    public void write(Path dir) {
        try {
            Files.createDirectories(dir);
            ObjectMapper m = new ObjectMapper();
            ObjectNode v = m.createObjectNode();
            vocab.forEach(v::put);
            Files.writeString(dir.resolve("vocab.json"), m.writeValueAsString(v));
            Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n" + String.join("\n", merges) + (merges.isEmpty() ? "" : "\n"),
                    StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write tokenizer files to " + dir, e);
        }
    }

    /**
     * GPT-2/CLIP's reversible byte-to-unicode table: printable bytes map to themselves, the other 68
     * to code points from 256 up, in byte order; ids 0..255 follow this order.
     */
    public static Map<Integer, String> bytesToUnicode() {
        List<Integer> bs = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) {
            bs.add(b);
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            bs.add(b);
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            bs.add(b);
        }
        List<Integer> cs = new ArrayList<>(bs);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            if (!bs.contains(b)) {
                bs.add(b);
                cs.add(256 + n++);
            }
        }
        Map<Integer, String> out = new LinkedHashMap<>();
        for (int i = 0; i < bs.size(); i++) {
            out.put(bs.get(i), new String(Character.toChars(cs.get(i))));
        }
        return out;
    }
}
