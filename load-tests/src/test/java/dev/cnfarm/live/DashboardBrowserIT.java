package dev.cnfarm.live;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.cli.local.LocalFarm;
import dev.cnfarm.common.testinfra.FarmTestInfra;
import dev.cnfarm.models.bundle.GeneratedBundles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real browser (Debian's headless Chromium through its chromedriver): a job is
 * submitted to a local farm with two workers on the tiny model, the jobs list's bar is watched
 * while it moves, and the job view must show every result image, loaded; a ControlNet training job
 * on a trainer must show its sample grids and loss chart while it trains and after. Screenshots go
 * to {@code target/dashboard/}.
 */
class DashboardBrowserIT {
    private static final Path CHROMIUM = Path.of(System.getProperty("farm.chromium", "/usr/bin/chromium"));
    private static final Path CHROMEDRIVER = Path.of(System.getProperty("farm.chromedriver", "/usr/bin/chromedriver"));
    private static final Path MODELS = Path.of("target/fault-models").toAbsolutePath();
    private static final Path SHOTS = Path.of("target/dashboard").toAbsolutePath();
    private static final int TASKS = 12;

    @TempDir
    Path dir;

    @Test
    void aSubmittedJobsBarMovesAndItsImagesAppear() throws Exception {
        Assumptions.assumeFalse(Boolean.getBoolean("farm.skip-browser"), "browser test skipped with -Dfarm.skip-browser=true");
        assertThat(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER))
                .as("the browser test needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; "
                        + ".ci/run installs them), or -Dfarm.skip-browser=true")
                .isTrue();
        Files.createDirectories(SHOTS);
        GeneratedBundles.tiny(MODELS);
        try (LocalFarm farm = LocalFarm.start(FarmTestInfra.testConfig(Map.of("coordinator.port", "0",
                "worker.model-dir", MODELS.toString(), "worker.heartbeat-ms", "500")), dir, 2, 0, 0)) {
            FarmClient client = FarmClient.of(farm.config());
            String control = client.upload(Path.of("../samples/control/house.png").toAbsolutePath());
            ChromeDriver browser = browser();
            try {
                browser.get(farm.apiUrl() + "/");
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
                // the page redraws parts of itself (the sign-in panel as it answers, the lists as updates
                // arrive): an element found a moment ago can be gone, so a wait looks again instead of failing
                wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class);
                // without a token the page asks for one, and refuses a wrong one
                wait.until(d -> !d.findElements(By.id("signin")).isEmpty());
                browser.findElement(By.id("token")).sendKeys("farm_0123456789abcdef_" + "A".repeat(43));
                browser.findElement(By.id("signin-button")).click();
                String refusal = wait.until(d -> {
                    org.openqa.selenium.WebElement e = d.findElement(By.id("signin-error"));
                    return e.isDisplayed() ? e.getText() : null;
                });
                assertThat(refusal).contains("refused");
                browser.findElement(By.id("token")).sendKeys(farm.apiToken());
                browser.findElement(By.id("signin-button")).click();
                wait.until(d -> d.findElement(By.id("conn")).getText().equals("live"));
                String who = wait.until(d -> d.findElement(By.id("who")).getText());
                assertThat(who).isEqualTo("default (admin)");
                // the token sits in an HttpOnly cookie: the page's scripts cannot read it
                assertThat(browser.manage().getCookieNamed("farm_token").isHttpOnly()).isTrue();
                assertThat(String.valueOf(((JavascriptExecutor) browser).executeScript("return document.cookie"))).doesNotContain("farm_");

                String job = client.submit("""
                        {"name": "browser test", "prompts": ["a house", "a tower", "a hut"], "control_images": ["%s"],
                         "seeds": [1, 2, 3, 4], "steps": 12, "width": 128, "height": 128, "model": "tiny", "preprocessor": "canny"}
                        """.formatted(control), null, false).get("job_id").asText();
                By row = By.cssSelector("#jobs-table tr[data-job='" + job + "']");
                wait.until(d -> !d.findElements(row).isEmpty());

                // watch the bar in the jobs list until the job ends
                TreeSet<Double> seen = new TreeSet<>();
                List<String> states = new ArrayList<>();
                boolean shotWhileRunning = false;
                long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
                JavascriptExecutor js = browser;
                while (System.nanoTime() < deadline) {
                    // read the row in one script: the list is redrawn as updates arrive, so elements go stale
                    @SuppressWarnings("unchecked")
                    List<Object> cells = (List<Object>) js.executeScript("const r = document.querySelector(arguments[0]);"
                            + "return r ? [r.querySelector('.bar').dataset.progress, r.querySelector('.state').textContent] : null;",
                            "#jobs-table tr[data-job='" + job + "']");
                    if (cells == null) {
                        continue;
                    }
                    seen.add(Double.parseDouble(String.valueOf(cells.get(0))));
                    String state = String.valueOf(cells.get(1));
                    if (states.isEmpty() || !states.get(states.size() - 1).equals(state)) {
                        states.add(state);
                    }
                    if (!shotWhileRunning && state.equals("running") && seen.last() > 20) {
                        screenshot(browser, "jobs-running.png");
                        shotWhileRunning = true;
                    }
                    if (state.equals("succeeded") || state.equals("failed")) {
                        break;
                    }
                    Thread.sleep(100);
                }
                assertThat(states).last().isEqualTo("succeeded");
                assertThat(seen.first()).isLessThan(100.0);
                assertThat(seen.last()).isEqualTo(100.0);
                assertThat(seen.subSet(0.0, false, 100.0, false)).as("bar positions seen between 0 and 100: %s", seen).hasSizeGreaterThan(2);

                // the job view: every tile succeeded with its image loaded
                js.executeScript("document.querySelector(arguments[0]).click()", "#jobs-table tr[data-job='" + job + "']");
                wait.until(d -> d.findElements(By.cssSelector(".tile.succeeded img.thumb")).size() == TASKS);
                wait.until(d -> ((Number) js.executeScript(
                        "return [...document.querySelectorAll('.tile.succeeded img.thumb')].filter(i => i.complete && i.naturalWidth === 128).length"))
                        .intValue() == TASKS);
                wait.until(d -> ((Number) js.executeScript(
                        "return [...document.querySelectorAll('.tile.succeeded img.control')].filter(i => i.complete && i.naturalWidth > 0).length"))
                        .intValue() == TASKS);
                assertThat(browser.findElement(By.id("job-state")).getText()).isEqualTo("succeeded");
                assertThat(browser.findElement(By.id("job-images")).getText()).isEqualTo(TASKS + "/" + TASKS + " images");
                screenshot(browser, "job-finished.png");

                // nothing was fetched from outside the farm (no CDN)
                @SuppressWarnings("unchecked")
                List<String> resources = (List<String>) js.executeScript(
                        "return performance.getEntriesByType('resource').map(e => e.name)");
                String s3 = farm.config().s3().endpoint();
                assertThat(resources).allMatch(u -> u.startsWith(farm.apiUrl()) || u.startsWith(s3) || u.startsWith("data:"),
                        "served by the coordinator or the farm's S3");

                // the workers view lists both workers
                browser.get(farm.apiUrl() + "/dashboard/#/workers");
                wait.until(d -> d.findElements(By.cssSelector("#workers-table tr[data-worker]")).size() == 2);
                screenshot(browser, "workers.png");

                // signing out drops the cookie; the link `farm up` prints signs in again from its fragment
                browser.findElement(By.id("signout")).click();
                wait.until(d -> !d.findElements(By.id("signin")).isEmpty());
                assertThat(browser.manage().getCookieNamed("farm_token")).isNull();
                browser.get(farm.dashboardLink());
                wait.until(d -> d.findElement(By.id("conn")).getText().equals("live"));
                assertThat(browser.getCurrentUrl()).as("the token is taken out of the address bar").doesNotContain("token");
                JsonNode w = client.workers();
                assertThat(w.get("workers")).hasSize(2);
                // each heartbeat says where that worker's own metrics are, and they are there
                java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
                for (JsonNode worker : w.get("workers")) {
                    String metrics = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(worker.get("metrics_url").asText()))
                            .build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
                    assertThat(metrics).contains("farm_worker_busy{worker=\"" + worker.get("worker_id").asText() + "\"}");
                }
            } finally {
                browser.quit();
            }
        }
    }

    @Test
    void aTrainingJobShowsItsSampleGridsAndLossChart() throws Exception {
        Assumptions.assumeFalse(Boolean.getBoolean("farm.skip-browser"), "browser test skipped with -Dfarm.skip-browser=true");
        assertThat(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER)).as("chromium and chromium-driver").isTrue();
        Files.createDirectories(SHOTS);
        GeneratedBundles.tiny(MODELS);
        Path base = dev.cnfarm.trainer.base.BaseTraining.randomModel(dir.resolve("tiny-base"), dev.cnfarm.models.arch.ModelPreset.tiny(), 3);
        Path manifest = dev.cnfarm.trainer.data.ShapesDataset.write(dir.resolve("data"), 12, 64, 5,
                dev.cnfarm.trainer.data.ShapesDataset.Split.TRAIN, (d, t) -> { });
        try (LocalFarm farm = LocalFarm.start(FarmTestInfra.testConfig(Map.of("coordinator.port", "0",
                "worker.model-dir", MODELS.toString(), "worker.heartbeat-ms", "500")), dir, 0, 0, 0);
             org.apache.kafka.clients.producer.KafkaProducer<String, byte[]> models =
                     dev.cnfarm.common.kafka.KafkaClients.producer(farm.config().kafka(), "browser-trainer-models");
             dev.cnfarm.worker.WorkerService trainer = dev.cnfarm.worker.WorkerService.start(farm.config()
                     .with(dev.cnfarm.common.config.ConfigKeys.WORKER_ID, "trainer")
                     .with(dev.cnfarm.common.config.ConfigKeys.WORKER_POOL, "train"), store ->
                     new dev.cnfarm.cli.trainer.ControlNetTrainingTasks(store, dir.resolve("trainer"), List.of(base), m ->
                             dev.cnfarm.cli.trainer.ModelPublisher.send(models, new dev.cnfarm.common.kafka.Topics(
                                     farm.config().kafka().topicPrefix()), m)))) {
            FarmClient client = FarmClient.of(farm.config());
            byte[] archive = dev.cnfarm.common.storage.Archives.zip(manifest.getParent());
            Path zip = dir.resolve("data.zip");
            Files.write(zip, archive);
            String dataset = client.upload(zip);
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> client.workers().toString().contains("\"trainer\""));
            String job = client.submit("""
                    {"name": "train in the browser", "train_controlnet": {"name": "tiny-browser", "base": "tiny", "dataset": "%s",
                     "condition": "canny", "steps": 60, "batch": 2, "checkpoint_every": 15, "sample_every": 15, "validation": 2,
                     "samples": 2, "learning_rate": 0.001, "warmup_steps": 1}}
                    """.formatted(dataset), null, false).get("job_id").asText();
            ChromeDriver browser = browser();
            try {
                browser.get(farm.dashboardLink());
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofMinutes(3));
                wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class);
                wait.until(d -> d.findElement(By.id("conn")).getText().equals("live"));
                JavascriptExecutor js = browser;
                wait.until(d -> !d.findElements(By.cssSelector("#jobs-table tr[data-job='" + job + "']")).isEmpty());
                js.executeScript("document.querySelector(arguments[0]).click()", "#jobs-table tr[data-job='" + job + "']");
                // while it trains: a sample grid (control map | sample | image rows) and the loss curve drawn
                wait.until(d -> (Boolean) js.executeScript("const t = document.querySelector('.tile.training.running');"
                        + "const g = t && t.querySelector('img.grid'); const line = t && t.querySelector('.loss-chart polyline');"
                        + "return !!(g && g.complete && g.naturalWidth > 128 && line && line.getAttribute('points').split(' ').length >= 2);"));
                String text = browser.findElement(By.cssSelector(".tile.training")).getText();
                assertThat(text).contains("loss", "edge F1", "base alone");
                assertThat(browser.findElement(By.id("job-mode")).getText()).isEqualTo("ControlNet training, base tiny");
                screenshot(browser, "training-running.png");
                // finished: the last grid comes from S3 through the coordinator's redirect, the chart stays
                wait.until(d -> (Boolean) js.executeScript("const t = document.querySelector('.tile.training.succeeded');"
                        + "const g = t && t.querySelector('img.grid');"
                        + "return !!(g && g.complete && g.naturalWidth > 128 && t.querySelector('.loss-chart svg'));"));
                assertThat(client.training(job, 0).get("samples")).hasSize(4);
                screenshot(browser, "training-finished.png");
            } finally {
                browser.quit();
            }
        }
    }

    private static ChromeDriver browser() {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).build();
        return new ChromeDriver(service, options);
    }

    private static void screenshot(ChromeDriver browser, String name) throws Exception {
        Path shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath();
        Files.copy(shot, SHOTS.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    }
}
