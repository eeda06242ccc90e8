package dev.cnfarm.cli.trainer;

import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.proto.v1.PublishedModel;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Records a trained model on the models topic, for every render worker to fetch and serve. */
public final class ModelPublisher {
    private ModelPublisher() {}

    /** Blocks until the broker has it: the training job succeeds only once its model is published. */
    public static void send(Producer<String, byte[]> producer, Topics topics, PublishedModel model) {
        try {
            producer.send(new ProducerRecord<>(topics.models(), model.getModelId(), model.toByteArray())).get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while publishing " + model.getModelId(), e);
        } catch (Exception e) {
            throw new IllegalStateException("model " + model.getModelId() + " was trained but not published on Kafka: " + e, e);
        }
    }
}
