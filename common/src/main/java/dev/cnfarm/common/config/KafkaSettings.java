package dev.cnfarm.common.config;

/** Kafka connection and topic settings. */
public record KafkaSettings(String bootstrapServers, String topicPrefix, int partitions, short replicationFactor,
                            String shareGroup, int taskLockMs, int deliveryLimit) {}
