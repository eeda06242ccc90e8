package dev.cnfarm.common.config;

/**
 * Kafka connection and topic settings.
 *
 * @param taskPartitions partitions of the tasks topic. A share group gives each partition to about
 *                       partitions/members members, so with as many partitions as workers or more,
 *                       each worker would own its partitions alone: tasks queued there wait for
 *                       that worker even while others idle, and a dead worker's partitions stall
 *                       until its group session times out. One partition is shared by every
 *                       worker; more are only needed past the broker's in-flight limit per
 *                       partition (group.share.partition.max.record.locks, 2,000 by default).
 * @param security       authentication and encryption towards the brokers
 */
public record KafkaSettings(String bootstrapServers, String topicPrefix, int partitions, short replicationFactor,
                            String shareGroup, int taskLockMs, int deliveryLimit, int taskPartitions,
                            KafkaSecurity security) {}
