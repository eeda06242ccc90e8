package dev.cnfarm.common.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ObjectKeysTest {
    private static final String SHA = "a".repeat(64);

    @Test
    void uploadsAreContentAddressed() {
        assertThat(ObjectKeys.upload("studio-1", SHA)).isEqualTo("uploads/studio-1/" + SHA);
    }

    @Test
    void outputsLiveUnderTheirJob() {
        assertThat(ObjectKeys.output("default", "job-7", 12)).isEqualTo("outputs/default/job-7/000012.png");
    }

    @Test
    void namesThatCouldEscapeTheirPrefixAreRefused() {
        assertThatThrownBy(() -> ObjectKeys.output("../other", "j", 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ObjectKeys.output("t", "a/b", 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ObjectKeys.output("t", "..", 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ObjectKeys.upload("t", "not-a-digest")).hasMessageContaining("sha256");
    }

    @Test
    void sha256IsLowercaseHex() {
        assertThat(Sha256.of("abc".getBytes())).isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assertThat(Sha256.isValid(SHA)).isTrue();
        assertThat(Sha256.isValid(SHA.toUpperCase())).isFalse();
    }
}
