/*
 * metrics.c: /metrics in the Prometheus text exposition format (0.0.4).
 * Label values are escaped (\\, \", \n) as the format requires.
 */
#include "core/common.h"

#include "control/api/api.h"
#include "control/certs/certs.h"
#include "control/cluster/cluster.h"
#include "control/scale/autoscale.h"
#include "control/control.h"
#include "gateway/gateway.h"
#include "control/names.h"
#include "db/db.h"

#include <cjson/cJSON.h>
#include <stdio.h>

static void label(struct jn_buf *out, const char *v)
{
    for (const char *p = v; *p; p++) {
        if (*p == '\\' || *p == '"')
            jn_buf_printf(out, "\\%c", *p);
        else if (*p == '\n')
            jn_buf_puts(out, "\\n");
        else
            jn_buf_append(out, p, 1);
    }
}

static void head(struct jn_buf *out, const char *name, const char *type, const char *help)
{
    jn_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void server_line(struct jn_buf *out, const char *metric, const struct jn_ctl_upstream *u,
                        const struct jn_ctl_server *s, const char *extra, double v)
{
    jn_buf_printf(out, "%s{upstream=\"", metric);
    label(out, u->name);
    jn_buf_puts(out, "\",server=\"");
    label(out, s->addr);
    jn_buf_printf(out, "\"%s} %.17g\n", extra ? extra : "", v);
}

/* Per app of the cluster, what sits on a node without the app's required
 * labels (jern where's "NO" rows): instances, logs, databases, backups. */
static void placement_metrics(struct jn_cluster *c, struct jn_buf *out)
{
    head(out, "jern_placement_violations", "gauge",
         "Things of the app (instances, logs, databases, backups) on nodes without its "
         "required labels (see: jern where APP).");
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(jn_cluster_view(c), "apps"))
    {
        cJSON *w = jn_cluster_where(c, x->string);
        int outside = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(w, "items"))
            outside += !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "inside"));
        cJSON_Delete(w);
        jn_buf_puts(out, "jern_placement_violations{app=\"");
        label(out, x->string);
        jn_buf_printf(out, "\"} %d\n", outside);
    }
}

void jn_api_metrics(struct jn_api *api, struct jn_buf *out)
{
    head(out, "jern_up", "gauge", "1 while the jern daemon answers.");
    jn_buf_puts(out, "jern_up 1\n");
    head(out, "jern_uptime_seconds", "gauge", "Seconds since the daemon started.");
    jn_buf_printf(out, "jern_uptime_seconds %.3f\n",
                  (double)(jn_now_ms() - api->started_ms) / 1000.0);
    head(out, "jern_config_reloads_total", "counter", "Config reloads (SIGHUP) done.");
    jn_buf_printf(out, "jern_config_reloads_total %llu\n", (unsigned long long)api->reloads);

    struct jn_store_app *apps;
    int napps = jn_store_app_list(jn_control_store(api->ctl), &apps);
    head(out, "jern_apps", "gauge", "Apps in the state store.");
    jn_buf_printf(out, "jern_apps %d\n", napps > 0 ? napps : 0);
    head(out, "jern_app_info", "gauge", "One series per app, labelled with its upstream.");
    for (int i = 0; i < napps; i++) {
        jn_buf_puts(out, "jern_app_info{app=\"");
        label(out, apps[i].name);
        jn_buf_puts(out, "\",upstream=\"");
        label(out, apps[i].name);
        jn_buf_puts(out, "\"} 1\n");
    }
    free(apps);

    struct jn_ctl_upstream *v;
    int n = jn_control_upstreams(api->ctl, NULL, &v);
    static const struct {
        const char *name, *type, *help;
    } m[] = {
        {"jern_upstream_server_active_connections", "gauge",
         "Requests in flight to the server, all workers."},
        {"jern_upstream_server_requests_total", "counter", "Requests sent to the server."},
        {"jern_upstream_server_failures_total", "counter", "Failed attempts on the server."},
        {"jern_upstream_server_weight", "gauge", "Balancing weight of the server."},
        {"jern_upstream_server_state", "gauge",
         "1 for the server's current state (ready, drain or maint)."},
    };
    for (size_t k = 0; k < JN_ARRAY_LEN(m); k++) {
        head(out, m[k].name, m[k].type, m[k].help);
        for (int i = 0; i < n; i++) {
            for (size_t j = 0; j < v[i].nservers; j++) {
                const struct jn_ctl_server *s = &v[i].servers[j];
                switch (k) {
                case 0:
                    server_line(out, m[k].name, &v[i], s, NULL, s->conns);
                    break;
                case 1:
                    server_line(out, m[k].name, &v[i], s, NULL, (double)s->requests);
                    break;
                case 2:
                    server_line(out, m[k].name, &v[i], s, NULL, (double)s->failures);
                    break;
                case 3:
                    server_line(out, m[k].name, &v[i], s, NULL, s->weight);
                    break;
                case 4:
                    for (int st = 0; st <= 2; st++) {
                        char extra[32];
                        snprintf(extra, sizeof(extra), ",state=\"%s\"", jn_name_state(st));
                        server_line(out, m[k].name, &v[i], s, extra, s->state == st);
                    }
                    break;
                }
            }
        }
    }

    static const char *const cls[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    head(out, "jern_upstream_server_responses_total", "counter",
         "Responses received from the server, by status class.");
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < v[i].nservers; j++)
            for (int k = 0; k < 5; k++) {
                char extra[32];
                snprintf(extra, sizeof(extra), ",code=\"%s\"", cls[k]);
                server_line(out, "jern_upstream_server_responses_total", &v[i], &v[i].servers[j],
                            extra, (double)v[i].servers[j].stats.status[k]);
            }
    head(out, "jern_upstream_server_response_seconds", "histogram",
         "Time from sending the request to the server's complete response head.");
    for (int i = 0; i < n; i++) {
        for (size_t j = 0; j < v[i].nservers; j++) {
            const struct jn_ctl_server *s = &v[i].servers[j];
            for (int b = 0; b < JN_STATS_NBUCKETS; b++) {
                char extra[48];
                if (b < JN_STATS_NBOUNDS)
                    snprintf(extra, sizeof(extra), ",le=\"%g\"",
                             (double)jn_stats_bounds_us[b] / 1e6);
                else
                    snprintf(extra, sizeof(extra), ",le=\"+Inf\"");
                server_line(out, "jern_upstream_server_response_seconds_bucket", &v[i], s, extra,
                            (double)s->stats.bucket[b]);
            }
            server_line(out, "jern_upstream_server_response_seconds_sum", &v[i], s, NULL,
                        s->stats.time_sum_s);
            server_line(out, "jern_upstream_server_response_seconds_count", &v[i], s, NULL,
                        (double)s->stats.count);
        }
    }
    jn_control_upstreams_free(v, n);

    struct jn_gateway *gw = jn_control_gateway(api->ctl);
    if (gw) {
        struct jn_gateway_stats gs;
        jn_gateway_stats(gw, &gs);
        head(out, "jern_gateway_requests_total", "counter",
             "Request heads received by the gateway (answered or refused).");
        jn_buf_printf(out, "jern_gateway_requests_total %llu\n", (unsigned long long)gs.requests);
        head(out, "jern_gateway_connections_accepted_total", "counter",
             "Client connections accepted by the gateway.");
        jn_buf_printf(out, "jern_gateway_connections_accepted_total %llu\n",
                      (unsigned long long)gs.conns_accepted);
        head(out, "jern_gateway_connections_open", "gauge", "Client connections open now.");
        jn_buf_printf(out, "jern_gateway_connections_open %llu\n",
                      (unsigned long long)gs.conns_open);
    }
    jn_autoscale_metrics(api->autoscaler, out);
    jn_dbs_metrics(api->dbs, out);
    jn_certs_metrics(api->certs, out);
    if (api->cluster)
        placement_metrics(api->cluster, out);
}
