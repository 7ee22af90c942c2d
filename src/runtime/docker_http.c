/*
 * docker_http.c: the Docker Engine API over its unix socket, for the container
 * driver (docker.c): one request with libcurl (CURLOPT_UNIX_SOCKET_PATH), the
 * engine's error messages, and the API version negotiated from GET /version
 * (ApiVersion, MinAPIVersion), never hard-coded.
 *
 * Blocks: control and job threads only (see driver.h).
 */
#include "runtime/docker_int.h"

#include "core/log.h"

#include <cjson/cJSON.h>
#include <pthread.h>

/* The API range this client speaks: 1.25 brings NanoCpus; nothing newer than 1.43 is
 * needed. The engine's own range narrows it. */
#define CLIENT_API_MIN 125
#define CLIENT_API_MAX 143

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    struct jn_buf *b = arg;
    return jn_buf_append(b, p, size * n) == 0 ? size * n : 0;
}

int jn_dk_perform(struct docker *dk, struct jn_dk_call *c)
{
    char url[2048];
    int n = snprintf(url, sizeof(url), "http://docker%s%s%s", c->unversioned ? "" : "/v",
                     c->unversioned ? "" : dk->api, c->path);
    if (n >= (int)sizeof(url))
        return jn_driver_fail(&dk->base, JN_ETOOBIG, "docker: request path too long");
    CURL *h = dk->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, dk->sock);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    long t = c->timeout_ms == 0 ? CALL_TIMEOUT_MS : c->timeout_ms;
    if (t > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, t);
    struct curl_slist *hdrs = NULL;
    char authhdr[4096];
    char typehdr[128];
    if (c->body) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
    } else if (c->upload) {
        snprintf(typehdr, sizeof(typehdr), "Content-Type: %s", c->upload_type);
        hdrs = curl_slist_append(hdrs, typehdr);
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_READDATA, c->upload);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->upload_size);
    } else if (strcmp(c->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    }
    if (c->auth) {
        snprintf(authhdr, sizeof(authhdr), "X-Registry-Auth: %s", c->auth);
        hdrs = curl_slist_append(hdrs, authhdr);
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (c->write) {
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, c->write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, c->write_arg);
    } else {
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, c->resp);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
    c->status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
    if (rc == CURLE_OK)
        return 0;
    if (c->status > 0 && (rc == CURLE_WRITE_ERROR || rc == CURLE_OPERATION_TIMEDOUT) && c->write)
        return 0; /* a stream the sink stopped, or a bounded follow that ran out */
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return jn_driver_fail(&dk->base, JN_ETIMEDOUT, "docker: %s %s: no answer within %ld ms",
                              c->method, c->path, t);
    if (rc == CURLE_WRITE_ERROR)
        return jn_driver_fail(&dk->base, JN_ETOOBIG, "docker: %s %s: answer larger than %u bytes",
                              c->method, c->path, RESP_MAX);
    return jn_driver_fail(&dk->base, -ECONNREFUSED,
                          "docker: cannot reach the engine at %s: %s (is it running? for Podman: "
                          "scripts/podman-service.sh start DIR)",
                          dk->sock, curl_easy_strerror(rc));
}

const char *jn_dk_engine_message(struct jn_buf *resp, char *out, size_t len)
{
    const char *text = jn_buf_cstr(resp);
    if (!text || !*text) {
        snprintf(out, len, "(no message)");
        return out;
    }
    cJSON *j = cJSON_Parse(text);
    cJSON *m = j ? cJSON_GetObjectItemCaseSensitive(j, "message") : NULL;
    if (cJSON_IsString(m))
        snprintf(out, len, "%s", m->valuestring);
    else
        snprintf(out, len, "%.300s", text);
    cJSON_Delete(j);
    size_t l = strlen(out);
    while (l > 0 && (out[l - 1] == '\n' || out[l - 1] == '\r'))
        out[--l] = '\0';
    return out;
}

static int status_error(long status)
{
    switch (status) {
    case 400:
        return JN_EBADINPUT;
    case 404:
        return JN_ENOTFOUND;
    case 409:
        return JN_EEXIST;
    default:
        return JN_EUPSTREAM;
    }
}

int jn_dk_fail_answer(struct docker *dk, struct jn_dk_call *c, const char *what)
{
    char msg[400];
    jn_dk_engine_message(c->resp, msg, sizeof(msg));
    return jn_driver_fail(&dk->base, status_error(c->status), "docker: %s: %ld %s", what, c->status,
                          msg);
}

static int parse_api(const char *s)
{
    int maj, min;
    if (!s || sscanf(s, "%d.%d", &maj, &min) != 2 || maj < 1 || min < 0 || min > 99)
        return -1;
    return maj * 100 + min;
}

/* What GET /version gave, per engine socket, for the process's life: every
 * job makes its own driver, and Podman takes most of a second to answer
 * /version (it gathers the host's details), which a cold start from a
 * paused container (a 50 ms unpause) waited for each time. */
#define KNOWN_CAP 8
static pthread_mutex_t known_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char sock[256], api[16], engine[160];
} known[KNOWN_CAP];

static bool known_get(struct docker *dk)
{
    bool found = false;
    pthread_mutex_lock(&known_mu);
    for (size_t i = 0; i < KNOWN_CAP && !found; i++)
        if (known[i].api[0] && strcmp(known[i].sock, dk->sock) == 0) {
            memcpy(dk->api, known[i].api, sizeof(dk->api));
            memcpy(dk->engine, known[i].engine, sizeof(dk->engine));
            found = true;
        }
    pthread_mutex_unlock(&known_mu);
    return found;
}

static void known_put(const struct docker *dk)
{
    if (strlen(dk->sock) >= sizeof(known[0].sock))
        return;
    pthread_mutex_lock(&known_mu);
    size_t slot = KNOWN_CAP - 1; /* full: the last one makes room */
    for (size_t i = 0; i < KNOWN_CAP; i++)
        if (!known[i].api[0] || strcmp(known[i].sock, dk->sock) == 0) {
            slot = i;
            break;
        }
    if (strcmp(known[slot].sock, dk->sock) != 0)
        jn_notice("docker: %s at %s", dk->engine, dk->sock);
    snprintf(known[slot].sock, sizeof(known[slot].sock), "%s", dk->sock);
    memcpy(known[slot].api, dk->api, sizeof(dk->api));
    memcpy(known[slot].engine, dk->engine, sizeof(dk->engine));
    pthread_mutex_unlock(&known_mu);
}

int jn_dk_get_unversioned(struct docker *dk, const char *path, struct jn_buf *resp)
{
    char what[64];
    snprintf(what, sizeof(what), "GET %s", path);
    struct jn_dk_call c = {.method = "GET", .path = path, .unversioned = true, .resp = resp};
    int rc = jn_dk_perform(dk, &c);
    if (rc == 0 && c.status != 200)
        rc = jn_dk_fail_answer(dk, &c, what);
    return rc;
}

int jn_dk_negotiate(struct docker *dk)
{
    if (dk->api[0] || known_get(dk))
        return 0;
    struct jn_buf resp;
    jn_buf_init(&resp, RESP_MAX);
    int rc = jn_dk_get_unversioned(dk, "/version", &resp);
    if (rc < 0) {
        jn_buf_free(&resp);
        return rc;
    }
    cJSON *j = cJSON_Parse(jn_buf_cstr(&resp));
    jn_buf_free(&resp);
    cJSON *api = cJSON_GetObjectItemCaseSensitive(j, "ApiVersion");
    cJSON *minapi = cJSON_GetObjectItemCaseSensitive(j, "MinAPIVersion");
    int srv_max = parse_api(cJSON_GetStringValue(api));
    int srv_min = cJSON_IsString(minapi) ? parse_api(minapi->valuestring) : srv_max;
    if (srv_max < 0 || srv_min < 0) {
        cJSON_Delete(j);
        return jn_driver_fail(&dk->base, JN_EUPSTREAM,
                              "docker: GET /version at %s gave no usable ApiVersion: is this a "
                              "Docker Engine API socket?",
                              dk->sock);
    }
    int use = JN_MIN(srv_max, CLIENT_API_MAX);
    if (use < JN_MAX(srv_min, CLIENT_API_MIN)) {
        cJSON_Delete(j);
        return jn_driver_fail(&dk->base, JN_EUNSUPPORTED,
                              "docker: the engine speaks API %d.%02d..%d.%02d, jern needs "
                              "%d.%02d..%d.%02d: upgrade the engine",
                              srv_min / 100, srv_min % 100, srv_max / 100, srv_max % 100,
                              CLIENT_API_MIN / 100, CLIENT_API_MIN % 100, CLIENT_API_MAX / 100,
                              CLIENT_API_MAX % 100);
    }
    snprintf(dk->api, sizeof(dk->api), "%d.%d", use / 100, use % 100);
    const char *engine = "Docker Engine";
    cJSON *comps = cJSON_GetObjectItemCaseSensitive(j, "Components");
    cJSON *first = cJSON_IsArray(comps) ? cJSON_GetArrayItem(comps, 0) : NULL;
    if (first && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(first, "Name")))
        engine = cJSON_GetObjectItemCaseSensitive(first, "Name")->valuestring;
    const char *ver = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Version"));
    snprintf(dk->engine, sizeof(dk->engine), "%s %s, API %s", engine, ver ? ver : "?", dk->api);
    cJSON_Delete(j);
    known_put(dk);
    return 0;
}

int jn_dk_request(struct docker *dk, struct jn_dk_call *c, struct jn_buf *resp)
{
    int rc = jn_dk_negotiate(dk);
    if (rc < 0)
        return rc;
    jn_buf_reset(resp);
    c->resp = resp;
    return jn_dk_perform(dk, c);
}
