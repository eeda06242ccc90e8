package dev.cnfarm.models.nn;

/**
 * Where a layer's parameters live: a component ({@code unet}, {@code controlnet0},
 * {@code text_encoder}, {@code vae}) and the key prefix inside its diffusers state dict. Every
 * backend names parameters {@code component.prefix.leaf}, so trained weights bind by name.
 */
public record Params(String component, String prefix) {
    public Params at(String child) {
        return new Params(component, prefix.isEmpty() ? child : prefix + "." + child);
    }

    /** The state-dict key of a parameter of this layer ({@code weight}, {@code bias}). */
    public String key(String leaf) {
        return prefix.isEmpty() ? leaf : prefix + "." + leaf;
    }
}
