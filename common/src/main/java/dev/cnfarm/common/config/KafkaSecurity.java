package dev.cnfarm.common.config;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * How the farm's Kafka clients authenticate to the brokers and encrypt the connection. The
 * password fields never appear in {@link #toString()}; Kafka's own client logging masks
 * {@code sasl.jaas.config} and {@code ssl.truststore.password} as password-typed settings.
 *
 * @param protocol            PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
 * @param saslMechanism       PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (used with the SASL protocols)
 * @param truststore          empty for the JVM's default trust store
 */
public record KafkaSecurity(String protocol, String saslMechanism, String username, String password, String truststore,
                            String truststorePassword) {
    public static final Set<String> PROTOCOLS = Set.of("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL");
    public static final Set<String> MECHANISMS = Set.of("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512");

    public static KafkaSecurity plaintext() {
        return new KafkaSecurity("PLAINTEXT", "PLAIN", "", "", "", "");
    }

    public boolean usesSasl() {
        return protocol.startsWith("SASL_");
    }

    public boolean usesTls() {
        return protocol.equals("SSL") || protocol.equals("SASL_SSL");
    }

    /** The client settings these stand for, to add to any producer, consumer, admin or Streams config. */
    public Map<String, Object> clientProperties() {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("security.protocol", protocol);
        if (usesSasl()) {
            String module = saslMechanism.equals("PLAIN")
                    ? "org.apache.kafka.common.security.plain.PlainLoginModule"
                    : "org.apache.kafka.common.security.scram.ScramLoginModule";
            p.put("sasl.mechanism", saslMechanism);
            p.put("sasl.jaas.config", module + " required username=\"" + jaasEscape(username) + "\" password=\""
                    + jaasEscape(password) + "\";");
        }
        if (usesTls() && !truststore.isEmpty()) {
            p.put("ssl.truststore.location", truststore);
            if (!truststorePassword.isEmpty()) {
                p.put("ssl.truststore.password", truststorePassword);
            }
        }
        return p;
    }

    private static String jaasEscape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    @Override
    public String toString() {
        return "KafkaSecurity[protocol=" + protocol + ", saslMechanism=" + saslMechanism + ", username=" + username
                + ", password=" + (password.isEmpty() ? "" : "********") + ", truststore=" + truststore + "]";
    }
}
