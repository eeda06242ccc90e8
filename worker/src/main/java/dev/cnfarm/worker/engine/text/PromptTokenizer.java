package dev.cnfarm.worker.engine.text;

/** Turns a prompt into the text encoder's input ids: always {@link #LENGTH} of them. */
public interface PromptTokenizer extends AutoCloseable {
    int LENGTH = 77;

    long[] encode(String prompt);

    @Override
    void close();
}
