package dev.cnfarm.common.storage;

import dev.cnfarm.common.config.S3Settings;
import io.minio.BucketExistsArgs;
import io.minio.GetObjectArgs;
import io.minio.GetObjectResponse;
import io.minio.GetPresignedObjectUrlArgs;
import io.minio.Http;
import io.minio.ListObjectsArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.Result;
import io.minio.StatObjectArgs;
import io.minio.StatObjectResponse;
import io.minio.errors.ErrorResponseException;
import io.minio.errors.MinioException;
import io.minio.errors.ServerException;
import io.minio.messages.Item;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/** {@link ObjectStore} over the MinIO Java client; works with MinIO, S3Proxy and AWS S3. */
public final class MinioObjectStore implements ObjectStore {
    /** User metadata key holding the object's sha256 (sent as x-amz-meta-sha256). */
    static final String SHA256_META = "sha256";
    private static final Set<String> NOT_FOUND_CODES = Set.of("NoSuchKey", "NoSuchBucket", "NoSuchObject");

    private final MinioClient client;
    private final String bucket;

    public MinioObjectStore(S3Settings s3) {
        this.client = MinioClient.builder()
                .endpoint(s3.endpoint())
                .region(s3.region())
                .credentials(s3.accessKey(), s3.secretKey())
                .build();
        // the client waits five minutes by default: a frozen store would hold requests (and task locks) that long
        client.setTimeout(Math.min(5_000, s3.timeoutMs()), s3.timeoutMs(), s3.timeoutMs());
        this.bucket = s3.bucket();
    }

    @Override
    public void ensureBucket() {
        call("ensure bucket " + bucket, () -> {
            if (!client.bucketExists(BucketExistsArgs.builder().bucket(bucket).build())) {
                try {
                    client.makeBucket(MakeBucketArgs.builder().bucket(bucket).build());
                } catch (ErrorResponseException e) {
                    // two processes starting together may both try; losing that race is fine
                    String code = e.errorResponse().code();
                    if (!"BucketAlreadyOwnedByYou".equals(code) && !"BucketAlreadyExists".equals(code)) {
                        throw e;
                    }
                }
            }
            return null;
        });
    }

    @Override
    public ObjectInfo put(String key, byte[] data, String contentType) {
        String sha = Sha256.of(data);
        call("put " + key, () -> client.putObject(PutObjectArgs.builder()
                .bucket(bucket).object(key)
                .data(data, data.length)
                .contentType(contentType)
                .userMetadata(Map.of(SHA256_META, sha))
                .build()));
        return new ObjectInfo(key, data.length, sha, contentType);
    }

    @Override
    public byte[] get(String key) {
        return call("get " + key, () -> {
            try (GetObjectResponse in = client.getObject(GetObjectArgs.builder().bucket(bucket).object(key).build())) {
                return in.readAllBytes();
            }
        });
    }

    @Override
    public Optional<ObjectInfo> stat(String key) {
        try {
            return Optional.of(call("stat " + key, () -> {
                StatObjectResponse r = client.statObject(StatObjectArgs.builder().bucket(bucket).object(key).build());
                String sha = r.userMetadata() == null ? null : r.userMetadata().getFirst(SHA256_META);
                return new ObjectInfo(key, r.size(), sha == null ? "" : sha, r.contentType());
            }));
        } catch (ObjectNotFoundException e) {
            return Optional.empty();
        }
    }

    @Override
    public List<ObjectInfo> list(String prefix) {
        return call("list " + prefix, () -> {
            List<ObjectInfo> out = new ArrayList<>();
            for (Result<Item> r : client.listObjects(ListObjectsArgs.builder().bucket(bucket).prefix(prefix).recursive(true).build())) {
                Item item = r.get();
                if (!item.isDir()) {
                    out.add(new ObjectInfo(item.objectName(), item.size(), "", ""));
                }
            }
            return out;
        });
    }

    @Override
    public void delete(String key) {
        call("delete " + key, () -> {
            client.removeObject(RemoveObjectArgs.builder().bucket(bucket).object(key).build());
            return null;
        });
    }

    @Override
    public URI presignedGet(String key, Duration ttl) {
        return presigned(Http.Method.GET, key, ttl);
    }

    @Override
    public URI presignedPut(String key, Duration ttl) {
        return presigned(Http.Method.PUT, key, ttl);
    }

    private URI presigned(Http.Method method, String key, Duration ttl) {
        return call("presign " + key, () -> URI.create(client.getPresignedObjectUrl(GetPresignedObjectUrlArgs.builder()
                .method(method).bucket(bucket).object(key)
                .expiry((int) Math.max(1, ttl.toSeconds()), TimeUnit.SECONDS).build())));
    }

    @Override
    public void close() {
        try {
            client.close();
        } catch (Exception e) {
            // closing the HTTP client's pools cannot fail in a way the caller could act on
        }
    }

    @FunctionalInterface
    private interface S3Call<T> {
        T run() throws Exception;
    }

    /** Runs one client call and sorts its failure into not-found, unavailable or other. */
    private <T> T call(String what, S3Call<T> op) {
        try {
            return op.run();
        } catch (ErrorResponseException e) {
            String code = e.errorResponse() == null ? "" : e.errorResponse().code();
            if (NOT_FOUND_CODES.contains(code)) {
                throw new ObjectNotFoundException(what.substring(what.indexOf(' ') + 1));
            }
            int status = e.response() == null ? 0 : e.response().code();
            if (status >= 500) {
                throw new StorageUnavailableException("S3 " + what + " failed on the server: " + code, e);
            }
            throw new StorageException("S3 " + what + " refused: " + code + " " + e.getMessage(), e);
        } catch (ServerException e) {
            throw new StorageUnavailableException("S3 " + what + " failed on the server: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new StorageUnavailableException("S3 " + what + " failed: cannot reach the server: " + e, e);
        } catch (MinioException e) {
            if (rootCause(e) instanceof IOException io) {
                throw new StorageUnavailableException("S3 " + what + " failed: cannot reach the server: " + io, e);
            }
            throw new StorageException("S3 " + what + " failed: " + e.getMessage(), e);
        } catch (StorageException e) {
            throw e;
        } catch (Exception e) {
            if (rootCause(e) instanceof IOException io) {
                throw new StorageUnavailableException("S3 " + what + " failed: cannot reach the server: " + io, e);
            }
            throw new StorageException("S3 " + what + " failed: " + e, e);
        }
    }

    private static Throwable rootCause(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c;
    }
}
