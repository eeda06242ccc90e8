package dev.cnfarm.coordinator.live;

/** Where a client session's frames go: a websocket, or a list in a test. */
public interface FrameSink {
    /** True while the client has not read what was sent before; the session then holds back. */
    boolean writeQueueFull();

    void send(String frame);
}
