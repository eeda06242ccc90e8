package dev.cnfarm.models.bundle;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.common.storage.Sha256;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
     */
    public static ModelBundle write(Path dir, String id, String architecture, String dtype, String description,
                                    Map<String, String> graphs, Map<String, byte[]> files) {
        try {
            Files.createDirectories(dir);
            List<BundleFile> listed = new ArrayList<>();
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                Path p = dir.resolve(e.getKey());
                Files.createDirectories(p.getParent());
                Files.write(p, e.getValue());
                listed.add(new BundleFile(e.getKey(), Sha256.of(e.getValue()), e.getValue().length));
            }
            BundleManifest m = new BundleManifest(BundleManifest.FORMAT_VERSION, id, architecture, dtype, description,
                    new LinkedHashMap<>(graphs), listed);
            ObjectMapper mapper = Json.mapper();
            // the manifest goes last: a bundle interrupted mid-write has no manifest and is not used
            Path tmp = dir.resolve(BundleManifest.FILE_NAME + ".tmp");
            mapper.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), m);
            Files.move(tmp, dir.resolve(BundleManifest.FILE_NAME), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return new ModelBundle(dir, m);
        } catch (IOException e) {
            throw new BundleException("cannot write bundle " + id + " to " + dir + ": " + e.getMessage(), e);
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
