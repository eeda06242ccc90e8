package dev.cnfarm.worker.render;

import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.proto.v1.LoraRef;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * LoRA files on the worker's disk: fetched from the tenant's uploads once, checked against the
 * sha256 their key names, and kept by that digest (the same file under two names or tenants is
 * fetched once).
 */
public final class LoraFiles {
    private final ObjectStore store;
    private final Path folder;

    /** @param folder where fetched files are kept ({@code <model folder>/loras}) */
    public LoraFiles(ObjectStore store, Path folder) {
        this.store = store;
        this.folder = folder;
    }

    /** The local copy of a task's LoRA file, fetched when this worker has none. */
    public Path local(String tenant, LoraRef lora) {
        String sha = lora.getFile().getSha256();
        if (!sha.matches("[0-9a-f]{64}")) {
            throw BadInputException.permanent("LoRA '" + lora.getName() + "' names no uploaded file (" + lora.getFile().getKey() + ")");
        }
        Path file = folder.resolve(sha + ".safetensors");
        if (Files.isRegularFile(file)) {
            return file;
        }
        byte[] bytes = store.get(lora.getFile().getKey());
        String actual = Sha256.of(bytes);
        if (!actual.equals(sha)) {
            // uploads are named by their sha256: these bytes are not the upload the job was given, and never will be
            try {
                store.delete(lora.getFile().getKey());
            } catch (RuntimeException e) {
                // the task fails either way; a later job naming the key finds the bytes wrong again
            }
            throw BadInputException.permanent("LoRA file " + lora.getFile().getKey() + " holds bytes with sha256 " + actual + ", not the "
                    + sha + " its key names; the object was deleted: upload the file again");
        }
        try {
            Files.createDirectories(folder);
            Path part = Files.createTempFile(folder, sha, ".part");
            Files.write(part, bytes);
            Files.move(part, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep LoRA file " + sha + " in " + folder, e);
        }
    }
}
