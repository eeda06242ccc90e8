package dev.cnfarm.coordinator.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cnfarm.common.storage.ObjectInfo;
import dev.cnfarm.proto.v1.JobSpec;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JobValidatorTest {
    private static final String SHA = "abababababababababababababababababababababababababababababababab";
    private static final String KEY = "uploads/default/" + SHA;
    private final JobValidator validator = new JobValidator(JobLimits.defaults(1000),
            key -> key.equals(KEY) ? Optional.of(new ObjectInfo(key, 1234, "", "image/png")) : Optional.empty());

    private static String job(String fields) {
        return "{\"prompts\":[\"a house\"],\"control_images\":[\"" + KEY + "\"]" + (fields.isEmpty() ? "" : "," + fields) + "}";
    }

    private JobSpec valid(String body) {
        return validator.validate(JobRequestParser.parse(body), "default");
    }

    private List<FieldError> errors(String body) {
        try {
            valid(body);
        } catch (InvalidJobException e) {
            return e.errors();
        }
        throw new AssertionError("accepted: " + body);
    }

    @Test
    void aTrainingJobIsOneTaskOfTheTrainPoolCarryingItsCheckedFields() throws Exception {
        JobSpec s = valid("{\"train_controlnet\":{\"name\":\"shapes-canny\",\"base\":\"shapes\",\"dataset\":\"" + KEY
                + "\",\"condition\":\"canny\",\"steps\":10,\"links\":\"small-scale\",\"reconnect_at\":4}}");
        assertThat(s.getPool()).isEqualTo(JobValidator.TRAIN_POOL);
        assertThat(s.getModel()).isEqualTo("shapes");
        assertThat(s.getSteps()).isEqualTo(10);
        assertThat(dev.cnfarm.coordinator.jobs.JobExpander.taskCount(s)).isEqualTo(1);
        dev.cnfarm.common.training.ControlNetJob back = dev.cnfarm.common.training.ControlNetJob.parse(
                dev.cnfarm.common.json.Json.mapper().readTree(s.getTrainControlnetJson()));
        assertThat(back.steps()).isEqualTo(10);
        assertThat(back.reconnectAt()).isEqualTo(4);
        assertThat(back.dataset()).isEqualTo(KEY);
        assertThat(dev.cnfarm.coordinator.jobs.JobExpander.task("job-t", "default", s, 0, 1).getTrainControlnetJson())
                .isEqualTo(s.getTrainControlnetJson());
    }

    @Test
    void everyBadTrainingFieldIsNamedUnderTrainControlnet() {
        assertThat(errors("{\"prompts\":[\"x\"],\"train_controlnet\":{\"base\":\"shapes\",\"steps\":2.5,\"colour\":1}}"))
                .extracting(FieldError::field).contains("train_controlnet", "train_controlnet.name", "train_controlnet.dataset",
                        "train_controlnet.condition", "train_controlnet.steps", "train_controlnet.colour");
        assertThat(errors("{\"train_controlnet\":{\"name\":\"a\",\"base\":\"../shapes\",\"condition\":\"canny\",\"dataset\":"
                + "\"uploads/other/" + SHA + "\"}}")).extracting(FieldError::field)
                .containsExactlyInAnyOrder("train_controlnet.base", "train_controlnet.dataset");
    }

    @Test
    void defaultsAreAppliedAndRecorded() {
        JobSpec s = valid(job(""));
        assertThat(s.getSteps()).isEqualTo(20);
        assertThat(s.getWidth()).isEqualTo(512);
        assertThat(s.getHeight()).isEqualTo(512);
        assertThat(s.getScheduler()).isEqualTo("euler");
        assertThat(s.getModel()).isEqualTo("tiny");
        assertThat(s.getSeedsCount()).as("a random seed is drawn and recorded").isEqualTo(1);
        assertThat(s.getControlImages(0).getSha256()).isEqualTo(SHA);
        assertThat(s.getControlImages(0).getSizeBytes()).isEqualTo(1234);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "missing prompts               | {\"control_images\":[\"" + KEY + "\"]}                      | prompts              | required",
            "empty prompt list             | {\"prompts\":[],\"control_images\":[\"" + KEY + "\"]}       | prompts              | required",
            "blank prompt                  | {\"prompts\":[\" \"],\"control_images\":[\"" + KEY + "\"]}  | prompts[0]           | empty",
            "second ControlNet, no images  | {\"prompts\":[\"x\"],\"additional_controlnets\":[{\"image\":\"" + KEY + "\"}]} | additional_controlnets | needs control_images",
            "image not found               | {\"prompts\":[\"x\"],\"control_images\":[\"uploads/default/" + "cd" + "\"]} | control_images[0] | not found",
            "other tenant's image          | {\"prompts\":[\"x\"],\"control_images\":[\"uploads/other/" + SHA + "\"]}     | control_images[0] | not an upload of this tenant",
            "path traversal                | {\"prompts\":[\"x\"],\"control_images\":[\"uploads/default/../other/x\"]}  | control_images[0] | not an upload of this tenant",
    })
    void badFieldsAreNamed(String what, String body, String field, String message) {
        assertThat(errors(body)).anySatisfy(e -> {
            assertThat(e.field()).isEqualTo(field);
            assertThat(e.message()).contains(message);
        });
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "negative steps      | \"steps\":-5               | steps          | between 1 and 150",
            "zero steps          | \"steps\":0                | steps          | between 1 and 150",
            "too many steps      | \"steps\":1000             | steps          | between 1 and 150",
            "width not /8        | \"width\":500              | width          | multiple of 8",
            "height too small    | \"height\":16              | height         | between 64 and 2048",
            "guidance negative   | \"guidance_scale\":-1      | guidance_scale | between",
            "control scale big   | \"control_scale\":9        | control_scale  | between",
            "unknown scheduler   | \"scheduler\":\"warp\"     | scheduler      | unknown scheduler 'warp'",
            "unknown noise       | \"noise\":\"cuda\"         | noise          | use farm (the default",
            "bad model id        | \"model\":\"../x\"         | model          | not a model id",
            "priority range      | \"priority\":1000          | priority       | between -100 and 100",
            "negative seed       | \"seeds\":[-1]             | seeds[0]       | whole number",
            "empty seeds         | \"seeds\":[]               | seeds          | must not be empty",
            "start after end     | \"control_start\":0.8,\"control_end\":0.5 | control_start | below control_end",
            "end above one       | \"control_end\":1.5        | control_end    | between 0.0 and 1.0",
            "unknown control mode| \"control_mode\":\"loud\" | control_mode   | balanced, prompt or control",
            "eta above one       | \"eta\":2                  | eta            | between 0.0 and 1.0",
            "too many controlnets| \"additional_controlnets\":[{\"image\":\"x\"},{\"image\":\"x\"},{\"image\":\"x\"},{\"image\":\"x\"}] | additional_controlnets | at most 3",
            "extra image missing | \"additional_controlnets\":[{\"scale\":1}] | additional_controlnets[0].image | must not be empty",
            "extra image foreign | \"additional_controlnets\":[{\"image\":\"uploads/other/x\"}] | additional_controlnets[0].image | not an upload",
            "extra scale range   | \"additional_controlnets\":[{\"image\":\"uploads/default/x\",\"scale\":5}] | additional_controlnets[0].scale | between",
    })
    void outOfRangeValuesAreNamed(String what, String field, String name, String message) {
        assertThat(errors(job(field))).anySatisfy(e -> {
            assertThat(e.field()).isEqualTo(name);
            assertThat(e.message()).contains(message);
        });
    }

    @Test
    void aQuoteListsImagesNotUploadedYetInsteadOfRefusingThem() {
        String absent = "uploads/default/" + "cd".repeat(32);
        JobValidator.Validated v = validator.validate(JobRequestParser.parse(
                "{\"prompts\":[\"x\"],\"control_images\":[\"" + KEY + "\",\"" + absent + "\"]}"), "default", true);
        assertThat(v.missingImages()).containsExactly(absent);
        assertThat(v.spec().getControlImagesCount()).isEqualTo(2);
    }

    @Test
    void controlNetsAreChosenByNameAndABadNameIsRefusedNamingTheField() {
        JobSpec s = valid(job("\"controlnet\":\"canny\",\"additional_controlnets\":[{\"image\":\"" + KEY + "\",\"controlnet\":\"scribble\"}]"));
        assertThat(s.getControlnet()).isEqualTo("canny");
        assertThat(s.getAdditionalControlnets(0).getControlnet()).isEqualTo("scribble");
        assertThat(valid(job("")).getControlnet()).as("none named: the model's first").isEmpty();
        assertThat(errors(job("\"controlnet\":\"../canny\",\"additional_controlnets\":[{\"image\":\"" + KEY + "\",\"controlnet\":\"a b\"}]")))
                .extracting(FieldError::field).containsExactlyInAnyOrder("controlnet", "additional_controlnets[0].controlnet");
    }

    @Test
    void lorasAreRecordedInOrderWithTheirWeightsAndEveryBadOneIsNamed() {
        JobSpec s = valid(job("\"loras\":[{\"name\":\"ink wash\",\"file\":\"" + KEY + "\",\"weight\":0.8},{\"name\":\"grain\",\"file\":\""
                + KEY + "\"}]"));
        assertThat(s.getLorasList()).extracting(l -> l.getName(), l -> l.getWeight(), l -> l.getFile().getSha256())
                .containsExactly(org.assertj.core.groups.Tuple.tuple("ink wash", 0.8f, SHA), org.assertj.core.groups.Tuple.tuple("grain", 1f, SHA));
        assertThat(s.getLoras(0).getFile().getSizeBytes()).isEqualTo(1234);
        String other = "uploads/someone-else/" + SHA;
        List<FieldError> errors = errors(job("\"loras\":[{\"name\":\"a:b\",\"file\":\"" + KEY + "\"},{\"name\":\"x\",\"file\":\"" + other
                + "\",\"weight\":9},{\"name\":\"y\",\"file\":\"uploads/default/" + "cd".repeat(32) + "\"},{\"name\":\"y\",\"file\":\""
                + KEY + "\"}]"));
        assertThat(errors).extracting(FieldError::field).containsExactlyInAnyOrder("loras[0].name", "loras[1].weight", "loras[1].file",
                "loras[2].file", "loras[3].name");
        assertThat(errors).filteredOn(e -> e.field().equals("loras[2].file")).extracting(FieldError::message).first().asString()
                .contains("LoRA file").contains("not found");
        assertThat(errors(job("\"loras\":[{\"name\":\"x\",\"file\":\"" + KEY + "\",\"weght\":1}]"))).extracting(FieldError::message)
                .first().asString().contains("unknown field 'weght'").contains("loras (name, file, weight)");
    }

    @Test
    void initAndMaskImagesAreRecordedWithStrengthAndBlurAndEveryBadOneIsNamed() {
        JobSpec s = valid(job("\"init_images\":[\"" + KEY + "\"],\"mask_images\":[\"" + KEY + "\"],\"strength\":0.4,\"mask_blur\":8"));
        assertThat(s.getInitImagesCount()).isEqualTo(1);
        assertThat(s.getMaskImagesCount()).isEqualTo(1);
        assertThat(s.getStrength()).isEqualTo(0.4f);
        assertThat(s.getMaskBlur()).isEqualTo(8);
        JobSpec defaults = valid("{\"prompts\":[\"x\"],\"init_images\":[\"" + KEY + "\",\"" + KEY + "\"]}");
        assertThat(defaults.getStrength()).as("A1111's default").isEqualTo(0.75f);
        assertThat(JobExpanderImages.count(defaults)).as("without control images the init images are the matrix's images").isEqualTo(2);
        assertThat(errors(job("\"init_images\":[\"" + KEY + "\"],\"strength\":1.5,\"mask_blur\":99"))).extracting(FieldError::field)
                .containsExactlyInAnyOrder("strength", "mask_blur");
        assertThat(errors(job("\"strength\":0.5,\"mask_images\":[\"" + KEY + "\"]"))).extracting(FieldError::field)
                .containsExactlyInAnyOrder("strength", "mask_images");
        assertThat(errors("{\"prompts\":[\"x\"],\"control_images\":[\"" + KEY + "\",\"" + KEY + "\",\"" + KEY + "\"],\"init_images\":[\""
                + KEY + "\",\"" + KEY + "\"]}")).extracting(FieldError::message).first().asString().contains("one init image per control image");
        assertThat(errors("{\"rows\":[{\"prompt\":\"x\",\"mask_image\":\"" + KEY + "\"}]}")).extracting(FieldError::field)
                .containsExactly("rows[0].mask_image");
        JobSpec rows = valid("{\"rows\":[{\"prompt\":\"x\",\"init_image\":\"" + KEY + "\",\"mask_image\":\"" + KEY + "\"}],\"strength\":0.3}");
        assertThat(rows.getRows(0).hasInitImage()).isTrue();
        assertThat(rows.getRows(0).hasMaskImage()).isTrue();
        assertThat(rows.getStrength()).isEqualTo(0.3f);
    }

    @Test
    void hiresIsRecordedWithItsDefaultsDoublesTheTasksAndEveryBadFieldIsNamed() {
        JobSpec s = valid(job("\"seeds\":[1,2],\"hires\":{\"scale\":1.5}"));
        assertThat(s.getHires().getScale()).isEqualTo(1.5f);
        assertThat(s.getHires().getStrength()).as("default").isEqualTo(0.5f);
        assertThat(s.getHires().getUpscaler()).isEqualTo("bicubic");
        assertThat(JobExpanderImages.count(s)).as("two images, each with its second pass").isEqualTo(4);
        assertThat(errors(job("\"width\":768,\"hires\":{\"scale\":4,\"steps\":0,\"strength\":2,\"upscaler\":\"esrgan\"}")))
                .extracting(FieldError::field).containsExactlyInAnyOrder("hires.scale", "hires.steps", "hires.strength", "hires.upscaler");
        assertThat(errors(job("\"hires\":{\"scale\":1}"))).extracting(FieldError::message).first().asString().contains("above 1");
    }

    @Test
    void aTiledUpscaleIsRecordedAndEveryBadFieldIsNamed() {
        JobSpec s = valid(job("\"upscale\":{\"scale\":4,\"tile\":256,\"overlap\":32}"));
        assertThat(s.getUpscale().getStrength()).as("default").isEqualTo(0.35f);
        assertThat(JobExpanderImages.count(s)).as("1 image, 9 x 9 tiles of 256 over 2048, 1 blend").isEqualTo(1 + 81 + 1);
        assertThat(errors(job("\"upscale\":{\"scale\":4,\"tile\":100,\"overlap\":120,\"strength\":-1}"))).extracting(FieldError::field)
                .containsExactlyInAnyOrder("upscale.tile", "upscale.overlap", "upscale.strength");
        assertThat(errors(job("\"upscale\":{\"scale\":4,\"tile\":128,\"overlap\":256}"))).extracting(FieldError::message).first()
                .asString().contains("a tile smaller than its overlap");
        assertThat(errors(job("\"width\":1536,\"upscale\":{\"scale\":8}"))).extracting(FieldError::field).contains("upscale.scale");
        assertThat(errors(job("\"upscale\":{\"scale\":2},\"hires\":{\"scale\":2}"))).extracting(FieldError::field).contains("upscale");
    }

    /** The matrix's task count, as the expander makes it. */
    private static final class JobExpanderImages {
        static long count(JobSpec s) {
            return dev.cnfarm.coordinator.jobs.JobExpander.taskCount(s);
        }
    }

    @Test
    void controlOptionsAndAdditionalControlNetsAreRecorded() {
        JobSpec s = valid(job("\"control_scale\":0.7,\"control_start\":0.1,\"control_end\":0.6,\"control_mode\":\"prompt\","
                + "\"guess_mode\":true,\"eta\":0.3,\"additional_controlnets\":[{\"image\":\"" + KEY + "\",\"scale\":0.5,\"mode\":\"control\"}]"));
        assertThat(s.getControlScale()).isEqualTo(0.7f);
        assertThat(s.getControlStart()).isEqualTo(0.1f);
        assertThat(s.getControlEnd()).isEqualTo(0.6f);
        assertThat(s.getControlMode()).isEqualTo("prompt");
        assertThat(s.getGuessMode()).isTrue();
        assertThat(s.getEta()).isEqualTo(0.3f);
        assertThat(s.getAdditionalControlnets(0).getImage().getKey()).isEqualTo(KEY);
        assertThat(s.getAdditionalControlnets(0).getScale()).isEqualTo(0.5f);
        assertThat(s.getAdditionalControlnets(0).getEnd()).isEqualTo(1f);
        assertThat(s.getAdditionalControlnets(0).getMode()).isEqualTo("control");
    }

    @Test
    void aJobWithoutControlImagesIsTextToImage() {
        JobSpec s = valid("{\"prompts\":[\"a red circle\",\"a blue square\"],\"seeds\":[1,2,3],\"model\":\"shapes\"}");
        assertThat(s.getControlImagesCount()).isZero();
        assertThat(dev.cnfarm.coordinator.jobs.JobExpander.textToImage(s)).isTrue();
        assertThat(dev.cnfarm.coordinator.jobs.JobExpander.taskCount(s)).isEqualTo(6);
        var tasks = dev.cnfarm.coordinator.jobs.JobExpander.expand("j", "default", s, 0);
        assertThat(tasks).hasSize(6).allSatisfy(t -> assertThat(t.getControlnetsCount()).isZero());
        assertThat(tasks).extracting(t -> t.getPrompt() + "/" + t.getSeed())
                .containsExactly("a red circle/1", "a red circle/2", "a red circle/3", "a blue square/1", "a blue square/2", "a blue square/3");
        // rows without control images too, mixed with rows that have one
        JobSpec rows = valid("{\"rows\":[{\"prompt\":\"a\",\"seed\":1},{\"prompt\":\"b\",\"control_image\":\"" + KEY + "\",\"seed\":2}]}");
        assertThat(dev.cnfarm.coordinator.jobs.JobExpander.textToImage(rows)).isFalse();
        var rowTasks = dev.cnfarm.coordinator.jobs.JobExpander.expand("j", "default", rows, 0);
        assertThat(rowTasks.get(0).getControlnetsCount()).isZero();
        assertThat(rowTasks.get(1).getControlnets(0).getImage().getKey()).isEqualTo(KEY);
        assertThat(dev.cnfarm.coordinator.jobs.JobExpander.textToImage(valid("{\"rows\":[{\"prompt\":\"a\"}]}"))).isTrue();
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        List<FieldError> errs = errors("{\"prompts\":[\"x\"],\"control_images\":[\"" + KEY + "\"],\"steps\":0,\"width\":7,\"scheduler\":\"no\"}");
        assertThat(errs).extracting(FieldError::field).contains("steps", "width", "scheduler");
    }

    @Test
    void matrixExplosionIsRefusedBeforeExpansion() {
        StringBuilder seeds = new StringBuilder();
        for (int i = 0; i < 1001; i++) {
            seeds.append(i == 0 ? "" : ",").append(i);
        }
        assertThat(errors(job("\"seeds\":[" + seeds + "]"))).singleElement().satisfies(e ->
                assertThat(e.message()).contains("1001 images").contains("at most 1000"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "unknown field         | {\"prompts\":[\"x\"],\"stepz\":3}     | stepz  | unknown field 'stepz'",
            "string for number     | {\"prompts\":[\"x\"],\"steps\":\"twenty\"} | steps | whole number",
            "number for list       | {\"prompts\":5}                       | prompts | array",
            "object for string     | {\"prompts\":[{\"a\":1}]}             | prompts[0] | string",
            "not json              | this is not json                      | body   | not valid JSON",
            "array body            | [1,2]                                 | body   | JSON object",
    })
    void malformedBodiesNameTheField(String what, String body, String field, String message) {
        assertThatThrownBy(() -> JobRequestParser.parse(body))
                .isInstanceOfSatisfying(InvalidJobException.class, e -> assertThat(e.errors()).singleElement().satisfies(err -> {
                    assertThat(err.field()).isEqualTo(field);
                    assertThat(err.message()).contains(message);
                }));
    }

    @Test
    void emptyBodyIsRefused() {
        assertThatThrownBy(() -> JobRequestParser.parse("")).hasMessageContaining("body");
        assertThatThrownBy(() -> JobRequestParser.parse("null")).hasMessageContaining("body");
    }

    @Test
    void rowsMakeOneTaskEachWithTheirOverrides() {
        JobSpec s = valid("{\"steps\": 10, \"rows\": [{\"prompt\": \"a\", \"control_image\": \"" + KEY + "\", \"seed\": 5},"
                + "{\"prompt\": \"b\", \"control_image\": \"" + KEY + "\", \"seed\": 6, \"steps\": 30, \"guidance_scale\": 4,"
                + " \"control_scale\": 0.5, \"negative_prompt\": \"blurry\"}]}");
        assertThat(s.getRowsCount()).isEqualTo(2);
        assertThat(dev.cnfarm.coordinator.jobs.JobExpander.taskCount(s)).isEqualTo(2);
        var first = dev.cnfarm.coordinator.jobs.JobExpander.task("j", "default", s, 0, 0);
        var second = dev.cnfarm.coordinator.jobs.JobExpander.task("j", "default", s, 1, 0);
        assertThat(first.getPrompt()).isEqualTo("a");
        assertThat(first.getSteps()).isEqualTo(10);
        assertThat(first.getSeed()).isEqualTo(5);
        assertThat(second.getSteps()).isEqualTo(30);
        assertThat(second.getGuidanceScale()).isEqualTo(4f);
        assertThat(second.getControlnets(0).getScale()).isEqualTo(0.5f);
        assertThat(second.getNegativePrompt()).isEqualTo("blurry");
        assertThat(second.getControlnets(0).getImage().getKey()).isEqualTo(KEY);
    }

    @Test
    void badRowsAreNamedByRowAndField() {
        List<FieldError> e = errors("{\"prompts\": [\"x\"], \"rows\": [{\"prompt\": \"\", \"control_image\": \"" + KEY + "\"},"
                + "{\"prompt\": \"b\", \"control_image\": \"uploads/default/nope\", \"steps\": 0, \"seed\": -1}]}");
        assertThat(e).extracting(FieldError::field).contains("prompts", "rows[0].prompt", "rows[1].control_image", "rows[1].steps",
                "rows[1].seed");
        assertThat(errors("{\"rows\": []}")).extracting(FieldError::field).containsExactly("rows");
    }

    @Test
    void tooManyRowsAreRefusedWithTheLimit() {
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < 1001; i++) {
            rows.append(i == 0 ? "" : ",").append("{\"prompt\": \"p\", \"control_image\": \"").append(KEY).append("\"}");
        }
        List<FieldError> e = errors("{\"rows\": [" + rows + "]}");
        assertThat(e).extracting(FieldError::message).anyMatch(m -> m.contains("at most 1000"));
    }

    @Test
    void webhookUrlsMustBeHttpWithAHost() {
        assertThat(valid(job("\"webhook_url\": \"https://hooks.example.com/farm?x=1\"")).getWebhookUrl())
                .isEqualTo("https://hooks.example.com/farm?x=1");
        for (String bad : List.of("ftp://example.com/x", "not a url", "http:///nohost", "file:/etc/passwd")) {
            assertThat(errors(job("\"webhook_url\": \"" + bad + "\""))).extracting(FieldError::field).as(bad)
                    .containsExactly("webhook_url");
        }
    }

    @Test
    void batchSizeIsTheJobsCapOnAModelBatch() {
        assertThat(valid(job("")).getBatchSize()).as("not given: the worker's own limit").isZero();
        assertThat(valid(job("\"batch_size\": 4")).getBatchSize()).isEqualTo(4);
        assertThat(valid(job("\"batch_size\": 1")).getBatchSize()).isEqualTo(1);
        for (String bad : List.of("0", "17", "-1")) {
            List<FieldError> e = errors(job("\"batch_size\": " + bad));
            assertThat(e).extracting(FieldError::field).as(bad).containsExactly("batch_size");
            assertThat(e.get(0).message()).contains("between 1 and 16").contains("worker's own limit");
        }
    }

    @Test
    void aPoolNamesWorkersAndMustFitInATopicName() {
        assertThat(valid(job("\"pool\": \"gpu48-sdxl\"")).getPool()).isEqualTo("gpu48-sdxl");
        assertThat(valid(job("\"pool\": \"default\"")).getPool()).as("the default pool is stored as none").isEmpty();
        assertThat(valid(job("")).getPool()).isEmpty();
        for (String bad : List.of("", "GPU", "-x", "a b", "../tasks", "x".repeat(41))) {
            List<FieldError> e = errors(job("\"pool\": \"" + bad + "\""));
            assertThat(e).extracting(FieldError::field).as(bad).containsExactly("pool");
            assertThat(e.get(0).message()).contains("worker.pool");
        }
    }
}
