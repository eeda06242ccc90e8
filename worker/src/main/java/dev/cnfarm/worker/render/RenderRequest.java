package dev.cnfarm.worker.render;

import dev.cnfarm.worker.engine.ControlUnit;
import java.util.List;

/**
 * What a renderer needs for one image.
 *
 * @param controls    one per ControlNet, in the model's slot order (control images already decoded and sized)
 * @param guessMode   ControlNet without the prompt's help: control on the conditional half only, ramped scales
 * @param scheduler   a scheduler id (ddim, euler, euler_a, dpmpp_2m, dpmpp_2m_karras, unipc)
 * @param eta         DDIM's eta (0: deterministic)
 * @param noise       the generator of the image's noise from its seed
 * @param init        the image to start from (img2img, inpainting), or null to start from noise
 */
public record RenderRequest(String prompt, String negativePrompt, List<ControlUnit> controls, boolean guessMode, long seed,
                            int steps, int width, int height, float guidanceScale, String scheduler, float eta,
                            dev.cnfarm.worker.engine.noise.NoiseKind noise, InitImage init) {
    /** From noise. */
    public RenderRequest(String prompt, String negativePrompt, List<ControlUnit> controls, boolean guessMode, long seed,
                         int steps, int width, int height, float guidanceScale, String scheduler, float eta,
                         dev.cnfarm.worker.engine.noise.NoiseKind noise) {
        this(prompt, negativePrompt, controls, guessMode, seed, steps, width, height, guidanceScale, scheduler, eta, noise, null);
    }

    /** The first step run (0 unless an init image skips some). */
    public int startStep() {
        return init == null || init.fromNoiseOnly() ? 0 : init.startStep(steps);
    }

    /** With the farm's own noise. */
    public RenderRequest(String prompt, String negativePrompt, List<ControlUnit> controls, boolean guessMode, long seed,
                         int steps, int width, int height, float guidanceScale, String scheduler, float eta) {
        this(prompt, negativePrompt, controls, guessMode, seed, steps, width, height, guidanceScale, scheduler, eta,
                dev.cnfarm.worker.engine.noise.NoiseKind.FARM);
    }
}
