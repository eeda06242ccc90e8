package dev.cnfarm.common.kafka;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads protobuf record values defensively: a value that does not parse (a foreign producer, a
 * newer schema we cannot read) is logged and skipped rather than killing the reading loop.
 */
public final class ProtoCodec {
    private static final Logger LOG = LoggerFactory.getLogger(ProtoCodec.class);

    private ProtoCodec() {}

    public static <T extends MessageLite> Optional<T> parse(Parser<T> parser, byte[] value, String topic, long offset) {
        if (value == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(parser.parseFrom(value));
        } catch (InvalidProtocolBufferException e) {
            LOG.warn("skipping unreadable record on {} at offset {}: {}", topic, offset, e.getMessage());
            return Optional.empty();
        }
    }
}
