package dev.cnfarm.common.testinfra;

import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.embedded.InfrastructureSetup;
import org.testcontainers.containers.MinIOContainer;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.utility.DockerImageName;

/** The Testcontainers flavour of {@link FarmTestInfra}: Apache Kafka 4.4 (KRaft) and MinIO in Docker. */
final class ContainerInfra implements FarmTestInfra {
    static final String KAFKA_IMAGE = "apache/kafka:4.4.0";
    /** MinIO's own registry: Docker Hub stopped serving minio/minio images in 2025. */
    static final DockerImageName MINIO_IMAGE = DockerImageName.parse("quay.io/minio/minio:RELEASE.2024-12-13T22-19-12Z")
            .asCompatibleSubstituteFor("minio/minio");

    private final KafkaContainer kafka;
    private final MinIOContainer minio;
    private final FarmConfig config;

    private ContainerInfra(KafkaContainer kafka, MinIOContainer minio, FarmConfig config) {
        this.kafka = kafka;
        this.minio = minio;
        this.config = config;
    }

    static ContainerInfra start(FarmConfig base) {
        KafkaContainer kafka = new KafkaContainer(KAFKA_IMAGE)
                .withEnv("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR", "1")
                .withEnv("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", "1")
                .withEnv("KAFKA_GROUP_SHARE_MIN_RECORD_LOCK_DURATION_MS", "1000")
                .withEnv("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
                .withEnv("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1");
        MinIOContainer minio = new MinIOContainer(MINIO_IMAGE)
                .withUserName(base.s3().accessKey())
                .withPassword(base.s3().secretKey());
        kafka.start();
        minio.start();
        FarmConfig config = base
                .with(ConfigKeys.KAFKA_BOOTSTRAP, kafka.getBootstrapServers())
                .with(ConfigKeys.S3_ENDPOINT, minio.getS3URL());
        InfrastructureSetup.prepare(config);
        return new ContainerInfra(kafka, minio, config);
    }

    @Override
    public FarmConfig config() {
        return config;
    }

    @Override
    public void close() {
        minio.stop();
        kafka.stop();
    }
}
