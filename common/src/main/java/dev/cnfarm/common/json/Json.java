package dev.cnfarm.common.json;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;

/**
 * The one place where JSON and YAML mappers are configured, so that the REST API, job files and
 * config files all read the same way: snake_case field names, unknown fields refused (a typo in a
 * job file must not be silently ignored), no coercion of numbers from strings.
 */
public final class Json {
    private static final ObjectMapper JSON = configure(JsonMapper.builder().build());
    private static final ObjectMapper YAML = configure(YAMLMapper.builder(new YAMLFactory()).build());

    private Json() {}

    /** The shared JSON mapper (thread-safe once configured). */
    public static ObjectMapper mapper() {
        return JSON;
    }

    /** The shared YAML mapper, with the same rules as {@link #mapper()}. */
    public static ObjectMapper yaml() {
        return YAML;
    }

    private static ObjectMapper configure(ObjectMapper m) {
        m.setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
        m.registerModule(new Jdk8Module());
        m.enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        m.enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
        m.disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);
        m.coercionConfigDefaults()
                .setCoercion(com.fasterxml.jackson.databind.cfg.CoercionInputShape.String,
                        com.fasterxml.jackson.databind.cfg.CoercionAction.Fail);
        // a whole-number field refuses 20.5 instead of truncating it to 20, and no field takes a
        // boolean for a number or a number for a boolean
        m.disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT);
        m.coercionConfigFor(com.fasterxml.jackson.databind.type.LogicalType.Integer)
                .setCoercion(com.fasterxml.jackson.databind.cfg.CoercionInputShape.EmptyString, com.fasterxml.jackson.databind.cfg.CoercionAction.Fail)
                .setCoercion(com.fasterxml.jackson.databind.cfg.CoercionInputShape.Float, com.fasterxml.jackson.databind.cfg.CoercionAction.Fail)
                .setCoercion(com.fasterxml.jackson.databind.cfg.CoercionInputShape.Boolean, com.fasterxml.jackson.databind.cfg.CoercionAction.Fail);
        m.coercionConfigFor(com.fasterxml.jackson.databind.type.LogicalType.Float)
                .setCoercion(com.fasterxml.jackson.databind.cfg.CoercionInputShape.EmptyString, com.fasterxml.jackson.databind.cfg.CoercionAction.Fail)
                .setCoercion(com.fasterxml.jackson.databind.cfg.CoercionInputShape.Boolean, com.fasterxml.jackson.databind.cfg.CoercionAction.Fail);
        m.coercionConfigFor(com.fasterxml.jackson.databind.type.LogicalType.Boolean)
                .setCoercion(com.fasterxml.jackson.databind.cfg.CoercionInputShape.EmptyString, com.fasterxml.jackson.databind.cfg.CoercionAction.Fail)
                .setCoercion(com.fasterxml.jackson.databind.cfg.CoercionInputShape.Integer, com.fasterxml.jackson.databind.cfg.CoercionAction.Fail)
                .setCoercion(com.fasterxml.jackson.databind.cfg.CoercionInputShape.Float, com.fasterxml.jackson.databind.cfg.CoercionAction.Fail);
        m.coercionConfigFor(com.fasterxml.jackson.databind.type.LogicalType.Textual)
                .setCoercion(com.fasterxml.jackson.databind.cfg.CoercionInputShape.Integer, com.fasterxml.jackson.databind.cfg.CoercionAction.Fail)
                .setCoercion(com.fasterxml.jackson.databind.cfg.CoercionInputShape.Float, com.fasterxml.jackson.databind.cfg.CoercionAction.Fail)
                .setCoercion(com.fasterxml.jackson.databind.cfg.CoercionInputShape.Boolean, com.fasterxml.jackson.databind.cfg.CoercionAction.Fail);
        return m;
    }
}
