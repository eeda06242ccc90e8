package dev.cnfarm.models.bundle;

import dev.cnfarm.common.json.Json;
import dev.cnfarm.common.storage.Sha256;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** A model bundle on local disk: a folder with {@code manifest.json} and the files it lists. */
public final class ModelBundle {
    /** Files up to this size are hashed every time a bundle is opened; larger ones by {@link #verifyAll()}. */
    static final long HASH_ON_OPEN_LIMIT = 256L * 1024 * 1024;

    private final Path dir;
    private final BundleManifest manifest;

    private ModelBundle(Path dir, BundleManifest manifest) {
        this.dir = dir;
        this.manifest = manifest;
    }

    /**
     * Opens a bundle and checks every listed file: present, of the recorded size, and (up to
     * {@link #HASH_ON_OPEN_LIMIT}) with the recorded sha256.
     */
    public static ModelBundle open(Path dir) {
        ModelBundle b = new ModelBundle(dir, readManifest(dir));
        b.check(false);
        return b;
    }

    /** Checks the sha256 of every file, however large. */
    public ModelBundle verifyAll() {
        check(true);
        return this;
    }

    private static BundleManifest readManifest(Path dir) {
        Path manifestFile = dir.resolve(BundleManifest.FILE_NAME);
        if (!Files.isRegularFile(manifestFile)) {
            throw new BundleException("no " + BundleManifest.FILE_NAME + " in " + dir + "; is this a model bundle folder?");
        }
        BundleManifest m;
        try {
            m = Json.mapper().readValue(manifestFile.toFile(), BundleManifest.class);
        } catch (IOException e) {
            throw new BundleException("cannot read " + manifestFile + ": " + e.getMessage().split("\n")[0], e);
        }
        if (m.formatVersion() != BundleManifest.FORMAT_VERSION) {
            throw new BundleException(manifestFile + " has format version " + m.formatVersion()
                    + "; this farm reads version " + BundleManifest.FORMAT_VERSION + " (rebuild the bundle with `farm models build`)");
        }
        return m;
    }

    private void check(boolean hashEverything) {
        for (BundleFile f : manifest.files()) {
            Path p = dir.resolve(f.path()).normalize();
            if (!p.startsWith(dir.normalize())) {
                throw new BundleException("bundle file " + f.path() + " points outside the bundle folder");
            }
            if (!Files.isRegularFile(p)) {
                throw new BundleException("bundle " + manifest.id() + " lists " + f.path() + " but the file is missing from " + dir);
            }
            try {
                long size = Files.size(p);
                if (size != f.sizeBytes()) {
                    throw new BundleException("bundle file " + p + " is corrupt: " + size + " bytes, manifest says " + f.sizeBytes());
                }
                if (hashEverything || size <= HASH_ON_OPEN_LIMIT) {
                    String sha = Sha256.of(p);
                    if (!sha.equals(f.sha256())) {
                        throw new BundleException("bundle file " + p + " is corrupt: sha256 " + sha + ", manifest says " + f.sha256());
                    }
                }
            } catch (IOException e) {
                throw new BundleException("cannot read bundle file " + p + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * Writes a small bundle from bytes in memory (see {@link #publish}).
     */
    public static ModelBundle write(Path dir, BundleManifest manifest, Map<String, byte[]> files) {
        Path tmp = stagingDir(dir);
        try {
            Files.createDirectories(tmp);
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                Path p = tmp.resolve(e.getKey());
                Files.createDirectories(p.getParent());
                Files.write(p, e.getValue());
            }
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new BundleException("cannot write bundle " + manifest.id() + " to " + dir + ": " + e, e);
        }
        return publish(tmp, dir, manifest);
    }

    /** A fresh folder beside {@code dir} to write a bundle into before {@link #publish} moves it into place. */
    public static Path stagingDir(Path dir) {
        return dir.toAbsolutePath().resolveSibling(dir.getFileName() + ".tmp-" + java.util.UUID.randomUUID());
    }

    /**
     * Lists every file in {@code staging} with its sha256 in the manifest, writes the manifest, and
     * renames the folder into place in one step. Several processes sharing a model cache can
     * publish the same bundle at once: one rename wins, the others find the bundle there and use it.
     * A reader never sees a half-written bundle.
     */
    public static ModelBundle publish(Path staging, Path dir, BundleManifest manifest) {
        try {
            List<BundleFile> listed = new ArrayList<>();
            try (Stream<Path> walk = Files.walk(staging)) {
                for (Path p : walk.filter(Files::isRegularFile).sorted().toList()) {
                    String rel = staging.relativize(p).toString().replace('\\', '/');
                    listed.add(new BundleFile(rel, Sha256.of(p), Files.size(p)));
                }
            }
            BundleManifest m = new BundleManifest(BundleManifest.FORMAT_VERSION, manifest.id(), manifest.architecture(),
                    manifest.preset(), manifest.dtype(), manifest.controlnets(), manifest.description(), manifest.graphs(), listed,
                    manifest.weights(), manifest.configs(), manifest.controlnetNames());
            Json.mapper().writerWithDefaultPrettyPrinter().writeValue(staging.resolve(BundleManifest.FILE_NAME).toFile(), m);
            if (dir.toAbsolutePath().getParent() != null) {
                Files.createDirectories(dir.toAbsolutePath().getParent());
            }
            try {
                Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                if (!Files.isDirectory(dir)) {
                    throw e;
                }
                // another writer got there first (the rename fails with "directory not empty")
                dev.cnfarm.common.storage.Folders.deleteRecursively(staging);
                return open(dir);
            }
            return new ModelBundle(dir, m);
        } catch (IOException e) {
            deleteQuietly(staging);
            throw new BundleException("cannot write bundle " + manifest.id() + " to " + dir + ": " + e, e);
        }
    }

    /** Moves a damaged bundle folder out of the way (atomically) and deletes it. */
    public static void discard(Path dir) {
        Path aside = dir.toAbsolutePath().resolveSibling(dir.getFileName() + ".broken-" + java.util.UUID.randomUUID());
        try {
            Files.move(dir, aside, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            return; // already gone (another process discarded it)
        }
        deleteQuietly(aside);
    }

    public static void deleteQuietly(Path p) {
        // leftovers of a failed write are harmless: they are never opened as a bundle
        dev.cnfarm.common.storage.Folders.deleteQuietly(p);
    }

    public BundleManifest manifest() {
        return manifest;
    }

    public Path dir() {
        return dir;
    }

    /** The file of a graph role, for example {@code unet}. */
    public Path graph(String role) {
        BundleManifest.GraphInfo g = manifest.graphs().get(role);
        if (g == null) {
            throw new BundleException("bundle " + manifest.id() + " has no '" + role + "' graph; it has " + manifest.graphs().keySet());
        }
        return dir.resolve(g.file());
    }

    public long totalBytes() {
        return manifest.files().stream().mapToLong(BundleFile::sizeBytes).sum();
    }
}
