package dev.cnfarm.common.embedded;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.Feature;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka broker (KRaft, combined broker and controller) running in this JVM,
 * from the Kafka server jars and no test jars: storage is formatted like `kafka-storage.sh format`
 * would, then the server starts. Used by the local mode and by the tests.
 *
 * <p>The data folder survives {@link #close()}: starting again on the same folder (and port)
 * brings back the same topics and records, which is how broker restarts are staged.
 */
public final class EmbeddedKafka implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);
    private static final String CONTROLLER = "CONTROLLER";

    private final Path dataDir;
    private final int brokerPort;
    private final int controllerPort;
    private final KafkaRaftServer server;

    private EmbeddedKafka(Path dataDir, int brokerPort, int controllerPort, KafkaRaftServer server) {
        this.dataDir = dataDir;
        this.brokerPort = brokerPort;
        this.controllerPort = controllerPort;
        this.server = server;
    }

    /**
     * Starts a broker on the given port (0 picks a free one) with its log in {@code dataDir}.
     * The folder is formatted on first use and reused as it is afterwards.
     *
     * @param overrides extra broker settings (for example shorter share-group lock limits in tests)
     */
    public static EmbeddedKafka start(Path dataDir, int port, Map<String, String> overrides) {
        return start(dataDir, port, overrides, Map.of());
    }

    /**
     * Starts a broker whose client listener requires SASL/PLAIN with the given users (name to
     * password): a secured cluster, for tests of the farm's {@code kafka.security-protocol} settings.
     */
    public static EmbeddedKafka startWithSasl(Path dataDir, Map<String, String> users) {
        if (users.isEmpty()) {
            throw new IllegalArgumentException("a SASL broker needs at least one user");
        }
        return start(dataDir, 0, Map.of(), users);
    }

    private static EmbeddedKafka start(Path dataDir, int port, Map<String, String> overrides, Map<String, String> saslUsers) {
        int brokerPort = port == 0 ? FreePorts.pick() : port;
        int controllerPort = FreePorts.pick();
        String logDir = dataDir.toAbsolutePath().toString();
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create Kafka data folder " + dataDir, e);
        }
        Map<String, Object> props = brokerProps(logDir, brokerPort, controllerPort);
        if (!saslUsers.isEmpty()) {
            props.putAll(saslProps(brokerPort, controllerPort, saslUsers));
        }
        props.putAll(overrides);
        KafkaConfig config = new KafkaConfig(props, false);
        // an already formatted folder keeps its cluster id: formatting again would refuse it
        boolean formatted = Files.exists(dataDir.resolve("meta.properties"));
        try {
            if (!formatted) {
                new Formatter()
                    .setClusterId(Uuid.randomUuid().toString())
                    .setNodeId(1)
                    .setDirectories(List.of(logDir))
                    .setMetadataLogDirectory(logDir)
                    .setControllerListenerName(CONTROLLER)
                    .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
                    .setSupportedFeatures(Feature.PRODUCTION_FEATURES)
                    .setIgnoreFormatted(true)
                    .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                    .run();
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot format Kafka storage in " + dataDir + ": " + e.getMessage(), e);
        }
        KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
        server.startup();
        LOG.info("embedded Kafka broker listening on localhost:{} (data in {})", brokerPort, dataDir);
        return new EmbeddedKafka(dataDir, brokerPort, controllerPort, server);
    }

    /** The client listener as SASL_PLAINTEXT with PLAIN; the broker talks to itself as one more user. */
    private static Map<String, Object> saslProps(int brokerPort, int controllerPort, Map<String, String> users) {
        String brokerSecret = Uuid.randomUuid().toString();
        StringBuilder jaas = new StringBuilder("org.apache.kafka.common.security.plain.PlainLoginModule required username=\"broker\" password=\"")
                .append(brokerSecret).append("\" user_broker=\"").append(brokerSecret).append('"');
        users.forEach((user, password) -> jaas.append(" user_").append(user).append("=\"").append(password.replace("\"", "\\\"")).append('"'));
        jaas.append(';');
        Map<String, Object> p = new HashMap<>();
        p.put("listeners", "SASL_PLAINTEXT://localhost:" + brokerPort + "," + CONTROLLER + "://localhost:" + controllerPort);
        p.put("advertised.listeners", "SASL_PLAINTEXT://localhost:" + brokerPort);
        p.put("inter.broker.listener.name", "SASL_PLAINTEXT");
        p.put("listener.security.protocol.map", "SASL_PLAINTEXT:SASL_PLAINTEXT," + CONTROLLER + ":PLAINTEXT");
        p.put("sasl.enabled.mechanisms", "PLAIN");
        p.put("sasl.mechanism.inter.broker.protocol", "PLAIN");
        p.put("listener.name.sasl_plaintext.plain.sasl.jaas.config", jaas.toString());
        return p;
    }

    private static Map<String, Object> brokerProps(String logDir, int brokerPort, int controllerPort) {
        Map<String, Object> p = new HashMap<>();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@localhost:" + controllerPort);
        p.put("listeners", "PLAINTEXT://localhost:" + brokerPort + "," + CONTROLLER + "://localhost:" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://localhost:" + brokerPort);
        p.put("controller.listener.names", CONTROLLER);
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT," + CONTROLLER + ":PLAINTEXT");
        p.put("log.dirs", logDir);
        p.put("auto.create.topics.enable", "false");
        // a single node: every internal topic has one replica and few partitions
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "5");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "5");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("share.coordinator.state.topic.num.partitions", "5");
        p.put("group.initial.rebalance.delay.ms", "0");
        // allow short task locks, so tests can stage a hung worker without waiting 15 s
        p.put("group.share.min.record.lock.duration.ms", "1000");
        p.put("log.segment.bytes", String.valueOf(64 * 1024 * 1024));
        return p;
    }

    public String bootstrapServers() {
        return "localhost:" + brokerPort;
    }

    public int port() {
        return brokerPort;
    }

    public Path dataDir() {
        return dataDir;
    }

    @Override
    public void close() {
        server.shutdown();
        server.awaitShutdown();
        LOG.info("embedded Kafka broker on port {} stopped", brokerPort);
    }

    @Override
    public String toString() {
        return "EmbeddedKafka[" + bootstrapServers() + ", controller " + controllerPort + "]";
    }
}
