package dev.cnfarm.models.bundle;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.common.storage.Sha256;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A model bundle on local disk: a folder with {@code manifest.json} and the files it lists. */
public final class ModelBundle {
    private final Path dir;
    private final BundleManifest manifest;

    private ModelBundle(Path dir, BundleManifest manifest) {
        this.dir = dir;
        this.manifest = manifest;
    }

    /** Opens a bundle and checks that every listed file is there with its recorded sha256. */
    public static ModelBundle open(Path dir) {
        Path manifestFile = dir.resolve(BundleManifest.FILE_NAME);
        if (!Files.isRegularFile(manifestFile)) {
            throw new BundleException("no " + BundleManifest.FILE_NAME + " in " + dir + "; is this a model bundle folder?");
        }
        BundleManifest m;
        try {
            m = Json.mapper().readValue(manifestFile.toFile(), BundleManifest.class);
        } catch (IOException e) {
            throw new BundleException("cannot read " + manifestFile + ": " + e.getMessage(), e);
        }
        if (m.formatVersion() != BundleManifest.FORMAT_VERSION) {
            throw new BundleException(manifestFile + " has format version " + m.formatVersion()
                    + "; this farm reads version " + BundleManifest.FORMAT_VERSION);
        }
        for (BundleFile f : m.files()) {
            Path p = dir.resolve(f.path()).normalize();
            if (!p.startsWith(dir.normalize())) {
                throw new BundleException("bundle file " + f.path() + " points outside the bundle folder");
            }
            if (!Files.isRegularFile(p)) {
                throw new BundleException("bundle " + m.id() + " lists " + f.path() + " but the file is missing from " + dir);
            }
            try {
                String sha = Sha256.of(p);
                if (!sha.equals(f.sha256())) {
                    throw new BundleException("bundle file " + p + " is corrupt: sha256 " + sha + ", manifest says " + f.sha256());
                }
            } catch (IOException e) {
                throw new BundleException("cannot read bundle file " + p + ": " + e.getMessage(), e);
            }
        }
        return new ModelBundle(dir, m);
    }

    /**
     * Writes a bundle: the given files (name to bytes) and a manifest listing them with digests.
     *
     * <p>The bundle is written into a fresh sibling folder and renamed into place in one step, so
     * several processes sharing a model cache can write the same bundle at once: one rename wins,
     * the others find the bundle there and use it. A reader never sees a half-written bundle.
     */
    public static ModelBundle write(Path dir, String id, String architecture, String dtype, String description,
                                    Map<String, String> graphs, Map<String, byte[]> files) {
        Path tmp = dir.resolveSibling(dir.getFileName() + ".tmp-" + java.util.UUID.randomUUID());
        try {
            Files.createDirectories(tmp);
            List<BundleFile> listed = new ArrayList<>();
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                Path p = tmp.resolve(e.getKey());
                Files.createDirectories(p.getParent());
                Files.write(p, e.getValue());
                listed.add(new BundleFile(e.getKey(), Sha256.of(e.getValue()), e.getValue().length));
            }
            BundleManifest m = new BundleManifest(BundleManifest.FORMAT_VERSION, id, architecture, dtype, description,
                    new LinkedHashMap<>(graphs), listed);
            ObjectMapper mapper = Json.mapper();
            mapper.writerWithDefaultPrettyPrinter().writeValue(tmp.resolve(BundleManifest.FILE_NAME).toFile(), m);
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                if (!Files.isDirectory(dir)) {
                    throw e;
                }
                // another writer got there first (the rename fails with "directory not empty");
                // theirs is the same bundle
                deleteRecursively(tmp);
                return open(dir);
            }
            return new ModelBundle(dir, m);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new BundleException("cannot write bundle " + id + " to " + dir + ": " + e, e);
        }
    }

    /** Moves a damaged bundle folder out of the way (atomically) and deletes it. */
    public static void discard(Path dir) {
        Path aside = dir.resolveSibling(dir.getFileName() + ".broken-" + java.util.UUID.randomUUID());
        try {
            Files.move(dir, aside, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            return; // already gone (another process discarded it)
        }
        deleteQuietly(aside);
    }

    private static void deleteQuietly(Path p) {
        try {
            deleteRecursively(p);
        } catch (IOException e) {
            // leftovers of a failed write are harmless: they are never opened as a bundle
        }
    }

    private static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (java.util.stream.Stream<Path> walk = Files.walk(p)) {
            for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }

    public BundleManifest manifest() {
        return manifest;
    }

    public Path dir() {
        return dir;
    }

    /** The file of a graph role, for example {@code denoiser}. */
    public Path graph(String role) {
        String file = manifest.graphs().get(role);
        if (file == null) {
            throw new BundleException("bundle " + manifest.id() + " has no '" + role + "' graph; it has " + manifest.graphs().keySet());
        }
        return dir.resolve(file);
    }
}
