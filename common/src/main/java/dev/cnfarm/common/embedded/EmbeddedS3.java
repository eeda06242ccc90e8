package dev.cnfarm.common.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real S3-compatible server in this JVM: S3Proxy over a folder on local disk (each bucket a
 * folder, each object a file). It speaks the S3 protocol with signature v2/v4 authentication, so
 * the MinIO client and presigned URLs work against it as against MinIO or AWS.
 */
public final class EmbeddedS3 implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedS3.class);

    private final S3Proxy proxy;
    private final Path dataDir;
    private final int port;

    private EmbeddedS3(S3Proxy proxy, Path dataDir) {
        this.proxy = proxy;
        this.dataDir = dataDir;
        // kept: a stopped server no longer knows its port, and a restart needs it
        this.port = proxy.getPort();
    }

    /** Starts on the given port (0 picks a free one), storing objects under {@code dataDir}. */
    public static EmbeddedS3 start(Path dataDir, int port, String accessKey, String secretKey) {
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create S3 data folder " + dataDir, e);
        }
        S3Proxy proxy = S3Proxy.builder()
                .blobStore(new FilesystemNio2BlobStore(dataDir.toAbsolutePath().toString()))
                .endpoint(URI.create("http://127.0.0.1:" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, accessKey, secretKey)
                .build();
        try {
            proxy.start();
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (!"STARTED".equals(proxy.getState())) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("S3 server did not start within 30 s (state " + proxy.getState() + ")");
                }
                Thread.sleep(5);
            }
        } catch (Exception e) {
            // a half-started Jetty keeps non-daemon threads alive; stop it so the JVM can exit
            try {
                proxy.stop();
            } catch (Exception ignored) {
                // already failing; the original error is the one to report
            }
            throw new IllegalStateException("cannot start the embedded S3 server on port " + port + ": " + e.getMessage(), e);
        }
        LOG.info("embedded S3 server at http://127.0.0.1:{} (data in {})", proxy.getPort(), dataDir);
        return new EmbeddedS3(proxy, dataDir);
    }

    public String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    public Path dataDir() {
        return dataDir;
    }

    @Override
    public void close() {
        try {
            proxy.stop();
        } catch (Exception e) {
            LOG.warn("embedded S3 server did not stop cleanly: {}", e.toString());
        }
    }
}
