package dev.cnfarm.coordinator.http;

import dev.cnfarm.coordinator.state.JobSummary;
import dev.cnfarm.coordinator.state.JobView;
import io.vertx.ext.web.Router;

/**
 * A plain status page at {@code /}: the jobs of the farm with their progress, refreshed every few
 * seconds, and links to the API. The interactive dashboard is a separate piece of work.
 */
public final class IndexPage {
    private final JobView view;

    public IndexPage(JobView view) {
        this.view = view;
    }

    public void mount(Router router) {
        router.get("/").handler(ctx -> ctx.response().putHeader("content-type", "text/html; charset=utf-8").end(render()));
    }

    private String render() {
        StringBuilder rows = new StringBuilder();
        for (JobSummary j : view.list(ApiRoutes.TENANT)) {
            int pct = (int) Math.round(j.progress() * 100);
            rows.append("<tr><td><a href=\"/api/v1/jobs/").append(escape(j.jobId())).append("\">").append(escape(j.jobId()))
                    .append("</a></td><td>").append(escape(j.name())).append("</td><td>").append(j.state())
                    .append("</td><td><progress max=\"100\" value=\"").append(pct).append("\"></progress> ").append(pct)
                    .append("%</td><td>").append(j.succeeded()).append('/').append(j.taskCount())
                    .append(j.failed() > 0 ? " (" + j.failed() + " failed)" : "").append("</td></tr>\n");
        }
        return """
                <!doctype html>
                <html><head><meta charset="utf-8"><meta http-equiv="refresh" content="3">
                <title>ControlNet render farm</title>
                <style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 12px;text-align:left}</style></head>
                <body><h1>ControlNet render farm</h1>
                <p>API: <a href="/api/v1/jobs">/api/v1/jobs</a> &middot; <a href="/health/ready">/health/ready</a></p>
                <table><tr><th>job</th><th>name</th><th>state</th><th>progress</th><th>images</th></tr>
                %s</table></body></html>
                """.formatted(rows);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
