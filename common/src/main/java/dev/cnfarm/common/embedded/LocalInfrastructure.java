package dev.cnfarm.common.embedded;

import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import java.nio.file.Path;
import java.util.Map;

/**
 * The embedded infrastructure of the local mode and the tests: a Kafka broker and an S3 server
 * under one data folder, with the farm's topics and bucket created. {@link #config()} is the
 * given configuration pointed at both.
 */
public final class LocalInfrastructure implements AutoCloseable {
    private volatile EmbeddedKafka kafka;
    private volatile EmbeddedS3 s3;
    private final FarmConfig config;
    private final Map<String, String> brokerOverrides;

    private LocalInfrastructure(EmbeddedKafka kafka, EmbeddedS3 s3, FarmConfig config, Map<String, String> brokerOverrides) {
        this.kafka = kafka;
        this.s3 = s3;
        this.config = config;
        this.brokerOverrides = brokerOverrides;
    }

    /**
     * Starts both servers under {@code dataDir} (subfolders {@code kafka} and {@code s3}).
     *
     * @param kafkaPort 0 for a free port
     * @param s3Port    0 for a free port
     */
    public static LocalInfrastructure start(FarmConfig base, Path dataDir, int kafkaPort, int s3Port,
                                            Map<String, String> brokerOverrides) {
        EmbeddedKafka kafka = EmbeddedKafka.start(dataDir.resolve("kafka"), kafkaPort, brokerOverrides);
        EmbeddedS3 s3;
        try {
            s3 = EmbeddedS3.start(dataDir.resolve("s3"), s3Port, base.s3().accessKey(), base.s3().secretKey());
        } catch (RuntimeException e) {
            kafka.close();
            throw e;
        }
        FarmConfig config = base
                .with(ConfigKeys.KAFKA_BOOTSTRAP, kafka.bootstrapServers())
                .with(ConfigKeys.S3_ENDPOINT, s3.endpoint())
                .with(ConfigKeys.DATA_DIR, dataDir.toString());
        LocalInfrastructure infra = new LocalInfrastructure(kafka, s3, config, brokerOverrides);
        try {
            InfrastructureSetup.prepare(config);
        } catch (RuntimeException e) {
            infra.close();
            throw e;
        }
        return infra;
    }

    public FarmConfig config() {
        return config;
    }

    public EmbeddedKafka kafka() {
        return kafka;
    }

    public EmbeddedS3 s3() {
        return s3;
    }

    /**
     * Stops the broker, keeps it down for {@code downtime}, and starts it again on the same port and
     * data: a broker restart as fault tests stage it. Clients reconnect by themselves.
     */
    public void restartKafka(java.time.Duration downtime) throws InterruptedException {
        EmbeddedKafka old = kafka;
        old.close();
        Thread.sleep(downtime.toMillis());
        kafka = EmbeddedKafka.start(old.dataDir(), old.port(), brokerOverrides);
    }

    /** Stops the S3 server (an outage, for fault tests); {@link #startS3()} brings it back with the same data. */
    public void stopS3() {
        s3.close();
    }

    public void startS3() {
        EmbeddedS3 old = s3;
        s3 = EmbeddedS3.start(old.dataDir(), old.port(), config.s3().accessKey(), config.s3().secretKey());
    }

    @Override
    public void close() {
        try {
            s3.close();
        } finally {
            kafka.close();
        }
    }
}
