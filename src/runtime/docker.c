/*
 * docker.c: the container driver. Talks to the Docker Engine REST API over its
 * unix socket (docker_http.c: libcurl, the negotiated API version) with cJSON
 * documents (docker_doc.c). Works with Docker and with Podman's
 * Docker-compatible service.
 *
 * Everything here blocks: control thread only (see driver.h).
 */
#include "core/common.h"

#include "core/buf.h"
#include "core/log.h"
#include "runtime/docker_attach.h"
#include "runtime/docker_doc.h"
#include "runtime/docker_int.h"
#include "runtime/driver.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX (64u << 10) /* log frames are handed over in pieces this big */
#define PULL_TIMEOUT_MS 1800000L
#define BUILD_TIMEOUT_MS 3600000L

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- operations ---- */

static int dk_version(struct jn_driver *d, char *out, size_t len)
{
    struct docker *dk = (struct docker *)d;
    /* /_ping proves the engine answers now, not just when it was first negotiated. */
    struct jn_buf resp;
    jn_buf_init(&resp, RESP_MAX);
    int rc = jn_dk_get_unversioned(dk, "/_ping", &resp);
    jn_buf_free(&resp);
    if (rc == 0)
        rc = jn_dk_negotiate(dk);
    if (rc == 0)
        snprintf(out, len, "%s", dk->engine);
    return rc;
}

static int inspect_image(struct docker *dk, const char *image, char *id, size_t idlen,
                         struct jn_buf *resp)
{
    char path[512];
    snprintf(path, sizeof(path), "/images/%s/json", image);
    struct jn_dk_call c = {.method = "GET", .path = path};
    int rc = jn_dk_request(dk, &c, resp);
    if (rc < 0)
        return rc;
    if (c.status == 404)
        return JN_ENOTFOUND;
    if (c.status != 200)
        return jn_dk_fail_answer(dk, &c, "inspect image");
    cJSON *j = cJSON_Parse(jn_buf_cstr(resp));
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Id"));
    if (!s) {
        cJSON_Delete(j);
        return jn_driver_fail(&dk->base, JN_EUPSTREAM, "docker: inspect image %s: no Id", image);
    }
    /* Docker answers "sha256:..."; Podman's compat layer too, but be liberal. */
    snprintf(id, idlen, "%s%s", strncmp(s, "sha256:", 7) == 0 ? "" : "sha256:", s);
    cJSON_Delete(j);
    return 0;
}

/* The progress stream of a pull: newline-separated JSON objects; keep the first error. */
struct pull_state {
    struct jn_buf line;
    char error[400];
    long status;
    CURL *curl;
    struct jn_buf errbody; /* the answer when the status is not 200 */
};

static void pull_line(struct pull_state *ps, const char *s)
{
    if (ps->error[0])
        return;
    cJSON *j = cJSON_Parse(s);
    const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "error"));
    if (!e)
        e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "errorDetail"), "message"));
    if (e)
        snprintf(ps->error, sizeof(ps->error), "%s", e);
    cJSON_Delete(j);
}

static size_t pull_write(char *p, size_t size, size_t n, void *arg)
{
    struct pull_state *ps = arg;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(ps->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        jn_buf_append(&ps->errbody, p, JN_MIN(len, jn_buf_avail(&ps->errbody) + 4096));
        return len;
    }
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\n') {
            const char *s = jn_buf_cstr(&ps->line);
            if (s && *s)
                pull_line(ps, s);
            jn_buf_reset(&ps->line);
        } else if (jn_buf_append(&ps->line, p + i, 1) < 0) {
            return 0; /* a progress line over 1 MiB: not an engine */
        }
    }
    return len;
}

static int dk_image_ensure(struct jn_driver *d, const char *image,
                           const struct jn_registry_auth *auth, char *id, size_t idlen)
{
    struct docker *dk = (struct docker *)d;
    if (!jn_dk_image_ref_ok(image))
        return jn_driver_fail(d, JN_EBADINPUT,
                              "docker: \"%s\" is not an image reference (NAME[:TAG] or "
                              "NAME@sha256:DIGEST)",
                              image);
    struct jn_buf resp;
    jn_buf_init(&resp, RESP_MAX);
    int rc = inspect_image(dk, image, id, idlen, &resp);
    if (rc != JN_ENOTFOUND) {
        jn_buf_free(&resp);
        return rc;
    }

    /* Missing: pull. fromImage takes NAME (or NAME@DIGEST) and tag separately. */
    char name[256], tag[130] = "";
    snprintf(name, sizeof(name), "%s", image);
    char *slash = strrchr(name, '/'), *colon = strrchr(name, ':');
    if (!strchr(name, '@') && colon && (!slash || colon > slash)) {
        snprintf(tag, sizeof(tag), "%s", colon + 1);
        *colon = '\0';
    } else if (!strchr(name, '@')) {
        snprintf(tag, sizeof(tag), "latest");
    }
    char *ename = curl_easy_escape(dk->curl, name, 0), *etag = curl_easy_escape(dk->curl, tag, 0);
    char path[1024];
    snprintf(path, sizeof(path), "/images/create?fromImage=%s%s%s", ename, tag[0] ? "&tag=" : "",
             etag);
    curl_free(ename);
    curl_free(etag);

    char authval[2048], *authp = NULL;
    if (auth && auth->username) {
        char server[256];
        if (auth->server) {
            snprintf(server, sizeof(server), "%s", auth->server);
        } else {
            /* The registry is the first path component when it looks like a host. */
            snprintf(server, sizeof(server), "%s", name);
            char *s = strchr(server, '/');
            if (s && (memchr(server, '.', (size_t)(s - server)) ||
                      memchr(server, ':', (size_t)(s - server)) ||
                      strncmp(server, "localhost/", 10) == 0))
                *s = '\0';
            else
                snprintf(server, sizeof(server), "https://index.docker.io/v1/");
        }
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "username", auth->username);
        cJSON_AddStringToObject(a, "password", auth->password ? auth->password : "");
        cJSON_AddStringToObject(a, "serveraddress", server);
        char *json = cJSON_PrintUnformatted(a);
        cJSON_Delete(a);
        size_t jl = strlen(json);
        if ((jl + 2) / 3 * 4 + 1 > sizeof(authval)) {
            free(json);
            jn_buf_free(&resp);
            return jn_driver_fail(d, JN_ETOOBIG, "docker: registry credentials too long");
        }
        jn_dk_base64url((const unsigned char *)json, jl, authval);
        free(json);
        authp = authval;
    }

    rc = jn_dk_negotiate(dk);
    if (rc < 0) {
        jn_buf_free(&resp);
        return rc;
    }
    struct pull_state ps = {.curl = dk->curl};
    jn_buf_init(&ps.line, JN_DK_LINE_MAX);
    jn_buf_init(&ps.errbody, 64 << 10);
    struct jn_dk_call c = {.method = "POST",
                           .path = path,
                           .auth = authp,
                           .timeout_ms = PULL_TIMEOUT_MS,
                           .write = pull_write,
                           .write_arg = &ps};
    rc = jn_dk_perform(dk, &c);
    if (rc == 0 && c.status != 200) {
        c.resp = &ps.errbody;
        rc = jn_dk_fail_answer(dk, &c, "pull");
    } else if (rc == 0) {
        const char *rest = jn_buf_cstr(&ps.line);
        if (rest && *rest)
            pull_line(&ps, rest);
        if (ps.error[0])
            rc = jn_driver_fail(d, strstr(ps.error, "unauthorized") ? -EACCES : JN_EUPSTREAM,
                                "docker: pull %s: %s", image, ps.error);
    }
    jn_buf_free(&ps.line);
    jn_buf_free(&ps.errbody);
    if (rc == 0) {
        rc = inspect_image(dk, image, id, idlen, &resp);
        if (rc == JN_ENOTFOUND)
            rc = jn_driver_fail(d, JN_EUPSTREAM,
                                "docker: pull %s reported success but the image is missing", image);
    }
    jn_buf_free(&resp);
    return rc;
}

static int dk_inspect(struct jn_driver *d, const char *id, struct jn_instance *out)
{
    struct docker *dk = (struct docker *)d;
    struct jn_buf resp;
    jn_buf_init(&resp, RESP_MAX);
    char path[256];
    snprintf(path, sizeof(path), "/containers/%s/json", id);
    struct jn_dk_call c = {.method = "GET", .path = path};
    int rc = jn_dk_request(dk, &c, &resp);
    /* Podman answers 500 "read /proc/PID/cgroup: no such process" while a
     * container whose process has just ended is being reaped: asked again a
     * moment later it reports the exit. */
    for (int tries = 0;
         rc == 0 && c.status == 500 && tries < 10 && strstr(jn_buf_cstr(&resp), "no such process");
         tries++) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
        jn_buf_reset(&resp);
        c.status = 0;
        rc = jn_dk_request(dk, &c, &resp);
    }
    if (rc == 0 && c.status == 404)
        rc = jn_driver_fail(d, JN_ENOTFOUND, "docker: no instance %s", id);
    else if (rc == 0 && c.status != 200)
        rc = jn_dk_fail_answer(dk, &c, "inspect");
    if (rc == 0) {
        cJSON *j = cJSON_Parse(jn_buf_cstr(&resp));
        if (!j)
            rc = jn_driver_fail(d, JN_EUPSTREAM, "docker: inspect %s: answer is not JSON", id);
        else
            jn_dk_parse_inspect(j, out);
        cJSON_Delete(j);
    }
    jn_buf_free(&resp);
    return rc;
}

static int simple_post(struct docker *dk, const char *path, const char *what, long timeout_ms)
{
    struct jn_buf resp;
    jn_buf_init(&resp, RESP_MAX);
    struct jn_dk_call c = {.method = "POST", .path = path, .timeout_ms = timeout_ms};
    int rc = jn_dk_request(dk, &c, &resp);
    if (rc == 0 && c.status == 404)
        rc = jn_dk_fail_answer(dk, &c, what);
    else if (rc == 0 && c.status != 204 && c.status != 200 && c.status != 304)
        rc = jn_dk_fail_answer(dk, &c, what);
    jn_buf_free(&resp);
    return rc;
}

static int dk_remove(struct jn_driver *d, const char *id)
{
    struct docker *dk = (struct docker *)d;
    struct jn_buf resp;
    jn_buf_init(&resp, RESP_MAX);
    char path[256];
    snprintf(path, sizeof(path), "/containers/%s?force=true&v=true", id);
    struct jn_dk_call c = {.method = "DELETE", .path = path};
    int rc = jn_dk_request(dk, &c, &resp);
    if (rc == 0 && c.status != 204 && c.status != 200)
        rc = jn_dk_fail_answer(dk, &c, "remove");
    jn_buf_free(&resp);
    return rc;
}

static char *create_body(const struct jn_instance_spec *s)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "Image", s->image);
    if (s->argv && s->argv[0]) {
        cJSON *cmd = cJSON_AddArrayToObject(j, "Cmd");
        for (const char *const *a = s->argv; *a; a++)
            cJSON_AddItemToArray(cmd, cJSON_CreateString(*a));
    }
    cJSON *env = cJSON_AddArrayToObject(j, "Env");
    bool has_port = false;
    for (const char *const *e = s->env; e && *e; e++) {
        cJSON_AddItemToArray(env, cJSON_CreateString(*e));
        has_port |= strncmp(*e, "PORT=", 5) == 0;
    }
    if (!has_port && s->app_port > 0) {
        char pe[32];
        snprintf(pe, sizeof(pe), "PORT=%d", s->app_port);
        cJSON_AddItemToArray(env, cJSON_CreateString(pe));
    }
    cJSON *labels = cJSON_AddObjectToObject(j, "Labels");
    cJSON_AddStringToObject(labels, JN_LABEL_APP, s->app);
    cJSON_AddStringToObject(labels, JN_LABEL_RELEASE, s->release);
    cJSON_AddStringToObject(labels, JN_LABEL_INSTANCE, s->instance);
    if (s->daemon)
        cJSON_AddStringToObject(labels, JN_LABEL_DAEMON, s->daemon);
    cJSON *hc = cJSON_AddObjectToObject(j, "HostConfig");
    if (s->app_port > 0) {
        char key[24], hp[16];
        snprintf(key, sizeof(key), "%d/tcp", s->app_port);
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(j, "ExposedPorts"), key);
        if (s->host_port > 0) {
            snprintf(hp, sizeof(hp), "%d", s->host_port);
            cJSON *b = cJSON_CreateObject();
            cJSON_AddStringToObject(b, "HostIp", s->bind_host ? s->bind_host : "127.0.0.1");
            cJSON_AddStringToObject(b, "HostPort", hp);
            cJSON *arr = cJSON_CreateArray();
            cJSON_AddItemToArray(arr, b);
            cJSON_AddItemToObject(cJSON_AddObjectToObject(hc, "PortBindings"), key, arr);
        }
    }
    if (s->host_network)
        cJSON_AddStringToObject(hc, "NetworkMode", "host");
    if (s->has_stdin) { /* docker run -i: open until the one attached client ends it */
        cJSON_AddBoolToObject(j, "OpenStdin", true);
        cJSON_AddBoolToObject(j, "StdinOnce", true);
        cJSON_AddBoolToObject(j, "AttachStdin", true);
    }
    if (s->n_volumes > 0) {
        cJSON *binds = cJSON_AddArrayToObject(hc, "Binds");
        for (size_t i = 0; i < s->n_volumes; i++) {
            char b[1024];
            snprintf(b, sizeof(b), "%s:%s%s", s->volumes[i].host, s->volumes[i].container,
                     s->volumes[i].read_only ? ":ro" : "");
            cJSON_AddItemToArray(binds, cJSON_CreateString(b));
        }
    }
    if (s->memory > 0)
        cJSON_AddNumberToObject(hc, "Memory", (double)s->memory);
    if (s->cpus > 0)
        cJSON_AddNumberToObject(hc, "NanoCpus", (double)(int64_t)(s->cpus * 1e9));
    if (s->log_size > 0) {
        /* The engine's own log driver keeps the output: cap it the same way
         * (json-file and Podman's k8s-file read these options). */
        char size[32], files[16];
        snprintf(size, sizeof(size), "%lld", (long long)s->log_size);
        snprintf(files, sizeof(files), "%d", s->log_files + 1);
        cJSON *lc = cJSON_AddObjectToObject(cJSON_AddObjectToObject(hc, "LogConfig"), "Config");
        cJSON_AddStringToObject(lc, "max-size", size);
        cJSON_AddStringToObject(lc, "max-file", files);
    }
    /* jern supervises restarts itself; an engine restarting behind its back would
     * hide crashes. */
    cJSON_AddStringToObject(cJSON_AddObjectToObject(hc, "RestartPolicy"), "Name", "no");
    char *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return out;
}

static int dk_start(struct jn_driver *d, const struct jn_instance_spec *spec,
                    struct jn_instance *out)
{
    struct docker *dk = (struct docker *)d;
    if (!spec->image || !jn_dk_image_ref_ok(spec->image))
        return jn_driver_fail(d, JN_EBADINPUT,
                              "docker: instance %s needs a valid image (got \"%s\")", spec->name,
                              spec->image ? spec->image : "");
    if (spec->host_network && (spec->app_port > 0 || spec->host_port > 0))
        return jn_driver_fail(d, JN_EBADINPUT,
                              "docker: instance %s shares the host's network and publishes no "
                              "ports",
                              spec->name);
    if (spec->host_port > 0 && spec->app_port == 0)
        return jn_driver_fail(d, JN_EBADINPUT,
                              "docker: instance %s publishes port %d but names no app port",
                              spec->name, spec->host_port);
    for (size_t i = 0; i < spec->n_volumes; i++)
        if (!spec->volumes[i].host || spec->volumes[i].host[0] != '/' ||
            !spec->volumes[i].container || spec->volumes[i].container[0] != '/' ||
            strchr(spec->volumes[i].host, ':') || strchr(spec->volumes[i].container, ':'))
            return jn_driver_fail(d, JN_EBADINPUT,
                                  "docker: volume %zu of %s must be HOST:CONTAINER with absolute "
                                  "paths and no ':'",
                                  i + 1, spec->name);
    if (spec->has_stdin && !spec->stdin_conn)
        return jn_driver_fail(
            d, JN_EBADINPUT, "docker: instance %s takes stdin but names no stdin_conn", spec->name);
    char *body = create_body(spec);
    struct jn_buf resp;
    jn_buf_init(&resp, RESP_MAX);
    char path[256];
    snprintf(path, sizeof(path), "/containers/create?name=%s", spec->name);
    struct jn_dk_call c = {.method = "POST", .path = path, .body = body};
    int rc = jn_dk_request(dk, &c, &resp);
    free(body);
    char msg[400] = "";
    if (rc == 0 && c.status != 201 && c.status != 200)
        jn_dk_engine_message(&resp, msg, sizeof(msg));
    /* Docker says 409 for a taken name; Podman's compat layer says 500 "already in use". */
    if (rc == 0 && (c.status == 409 || (c.status == 500 && strstr(msg, "already in use")))) {
        rc = jn_driver_fail(d, JN_EEXIST,
                            "docker: an instance named %s already exists (remove it or pick "
                            "another name)",
                            spec->name);
    } else if (rc == 0 && c.status == 404) {
        rc = jn_driver_fail(d, JN_ENOTFOUND, "docker: image %s is not present (pull it first)",
                            spec->image);
    } else if (rc == 0 && c.status != 201 && c.status != 200) {
        char what[200];
        snprintf(what, sizeof(what), "create %s", spec->name);
        rc = jn_dk_fail_answer(dk, &c, what);
    }
    char id[72] = "";
    if (rc == 0) {
        cJSON *j = cJSON_Parse(jn_buf_cstr(&resp));
        const char *jid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Id"));
        snprintf(id, sizeof(id), "%s", jid ? jid : "");
        cJSON_Delete(j);
        if (!id[0])
            rc = jn_driver_fail(d, JN_EUPSTREAM, "docker: create %s: answer without an Id",
                                spec->name);
    }
    jn_buf_free(&resp);
    if (rc < 0)
        return rc;
    /* Attached before the start, so not a byte is missed either way. */
    int conn = -1, output = -1;
    if (spec->has_stdin) {
        conn = jn_dk_attach(dk->sock, dk->api, id, true, (int)CALL_TIMEOUT_MS, d->errmsg,
                            sizeof(d->errmsg));
        rc = conn < 0 ? conn : 0;
    }
    if (rc == 0 && spec->output_conn) {
        output = jn_dk_attach(dk->sock, dk->api, id, false, (int)CALL_TIMEOUT_MS, d->errmsg,
                              sizeof(d->errmsg));
        rc = output < 0 ? output : 0;
    }
    snprintf(path, sizeof(path), "/containers/%s/start", id);
    char what[200];
    snprintf(what, sizeof(what), "start %s", spec->name);
    if (rc == 0)
        rc = simple_post(dk, path, what, 0);
    if (rc == 0)
        rc = dk_inspect(d, id, out);
    if (rc == 0 && conn >= 0)
        *spec->stdin_conn = conn;
    else if (conn >= 0)
        close(conn);
    if (rc == 0 && output >= 0)
        *spec->output_conn = output;
    else if (output >= 0)
        close(output);
    if (rc < 0) {
        /* Leave nothing behind, but keep the first error's message. */
        char saved[JN_DRIVER_ERRMSG_MAX];
        memcpy(saved, d->errmsg, sizeof(saved));
        dk_remove(d, id);
        memcpy(d->errmsg, saved, sizeof(saved));
    }
    return rc;
}

static int dk_stop(struct jn_driver *d, const char *id, int timeout_ms)
{
    struct docker *dk = (struct docker *)d;
    char path[256];
    int secs = (timeout_ms + 999) / 1000;
    snprintf(path, sizeof(path), "/containers/%s/stop?t=%d", id, secs);
    return simple_post(dk, path, "stop", (long)secs * 1000 + CALL_TIMEOUT_MS);
}

static int dk_pause(struct jn_driver *d, const char *id, bool pause)
{
    struct docker *dk = (struct docker *)d;
    char path[256];
    snprintf(path, sizeof(path), "/containers/%s/%s", id, pause ? "pause" : "unpause");
    return simple_post(dk, path, pause ? "pause" : "unpause", 0);
}

static int dk_list(struct jn_driver *d, const char *app, struct jn_instance **out)
{
    struct docker *dk = (struct docker *)d;
    char filt[160], path[512];
    if (app)
        snprintf(filt, sizeof(filt), "{\"label\":[\"%s=%s\"]}", JN_LABEL_APP, app);
    else
        snprintf(filt, sizeof(filt), "{\"label\":[\"%s\"]}", JN_LABEL_APP);
    char *ef = curl_easy_escape(dk->curl, filt, 0);
    snprintf(path, sizeof(path), "/containers/json?all=true&filters=%s", ef);
    curl_free(ef);
    struct jn_buf resp;
    jn_buf_init(&resp, RESP_MAX);
    struct jn_dk_call c = {.method = "GET", .path = path};
    int rc = jn_dk_request(dk, &c, &resp);
    if (rc == 0 && c.status != 200)
        rc = jn_dk_fail_answer(dk, &c, "list");
    cJSON *j = rc == 0 ? cJSON_Parse(jn_buf_cstr(&resp)) : NULL;
    jn_buf_free(&resp);
    if (rc < 0)
        return rc;
    if (!cJSON_IsArray(j)) {
        cJSON_Delete(j);
        return jn_driver_fail(d, JN_EUPSTREAM, "docker: list: answer is not a JSON array");
    }
    int n = cJSON_GetArraySize(j), count = 0;
    struct jn_instance *arr = jn_calloc((size_t)JN_MAX(n, 1), sizeof(*arr));
    cJSON *item;
    cJSON_ArrayForEach(item, j)
    {
        char id[72];
        const char *jid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "Id"));
        snprintf(id, sizeof(id), "%s", jid ? jid : "");
        if (!id[0])
            continue;
        /* The list lacks exit codes and start times: inspect each. One removed in
         * between is simply gone. */
        rc = dk_inspect(d, id, &arr[count]);
        if (rc == JN_ENOTFOUND)
            continue;
        if (rc < 0) {
            free(arr);
            cJSON_Delete(j);
            return rc;
        }
        count++;
    }
    cJSON_Delete(j);
    d->errmsg[0] = '\0';
    *out = arr;
    return count;
}

/* Demultiplexes the engine's log stream: frames of an 8-byte header (stream, 0, 0, 0,
 * big-endian length) and a payload. A stream that does not look framed (a TTY
 * container) is passed through as stdout. */
struct log_state {
    jn_log_sink sink;
    void *arg;
    CURL *curl;
    unsigned char hdr[8];
    size_t hdr_have;
    uint32_t left; /* payload bytes left in the current frame */
    int stream;
    bool raw;
    bool stopped;
    struct jn_buf frame;
    struct jn_buf errbody;
};

static int flush_frame(struct log_state *ls)
{
    if (ls->frame.len == 0)
        return 0;
    int r = ls->sink(ls->arg, ls->stream == 2 ? JN_STREAM_STDERR : JN_STREAM_STDOUT, ls->frame.data,
                     ls->frame.len);
    jn_buf_reset(&ls->frame);
    if (r != 0)
        ls->stopped = true;
    return r;
}

static size_t log_write(char *p, size_t size, size_t n, void *arg)
{
    struct log_state *ls = arg;
    size_t len = size * n, i = 0;
    long status = 0;
    curl_easy_getinfo(ls->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        jn_buf_append(&ls->errbody, p, JN_MIN(len, jn_buf_avail(&ls->errbody) + 4096));
        return len;
    }
    while (i < len) {
        if (ls->raw) {
            ls->stream = 1;
            size_t k = JN_MIN(len - i, FRAME_MAX);
            jn_buf_append(&ls->frame, p + i, k);
            i += k;
            if (flush_frame(ls))
                return 0;
            continue;
        }
        if (ls->left == 0) {
            ls->hdr[ls->hdr_have++] = (unsigned char)p[i++];
            if (ls->hdr_have == 1 && ls->hdr[0] > 2) {
                /* Not a multiplexed stream. */
                ls->raw = true;
                ls->stream = 1;
                jn_buf_append(&ls->frame, ls->hdr, 1);
                ls->hdr_have = 0;
                continue;
            }
            if (ls->hdr_have < 8)
                continue;
            ls->hdr_have = 0;
            ls->stream = ls->hdr[0];
            ls->left = (uint32_t)ls->hdr[4] << 24 | (uint32_t)ls->hdr[5] << 16 |
                       (uint32_t)ls->hdr[6] << 8 | ls->hdr[7];
            continue;
        }
        size_t k = JN_MIN(len - i, (size_t)ls->left);
        k = JN_MIN(k, FRAME_MAX - ls->frame.len);
        jn_buf_append(&ls->frame, p + i, k);
        i += k;
        ls->left -= (uint32_t)k;
        if ((ls->left == 0 || ls->frame.len == FRAME_MAX) && flush_frame(ls))
            return 0;
    }
    return len;
}

static int dk_logs(struct jn_driver *d, const char *id, const struct jn_logs_opts *o,
                   jn_log_sink sink, void *arg)
{
    struct docker *dk = (struct docker *)d;
    char path[400], tail[16];
    if (o->tail > 0)
        snprintf(tail, sizeof(tail), "%d", o->tail);
    else
        snprintf(tail, sizeof(tail), "all");
    snprintf(path, sizeof(path),
             "/containers/%s/logs?stdout=true&stderr=true&follow=%s&since=%lld&tail=%s%s", id,
             o->follow ? "true" : "false", (long long)o->since, tail,
             o->timestamps ? "&timestamps=true" : "");
    int rc = jn_dk_negotiate(dk);
    if (rc < 0)
        return rc;
    struct log_state ls = {.sink = sink, .arg = arg, .curl = dk->curl};
    jn_buf_init(&ls.frame, FRAME_MAX);
    jn_buf_init(&ls.errbody, 64 << 10);
    jn_buf_reserve(&ls.frame, FRAME_MAX);
    struct jn_dk_call c = {.method = "GET",
                           .path = path,
                           .timeout_ms = o->follow ? (o->timeout_ms > 0 ? o->timeout_ms : -1) : 0,
                           .write = log_write,
                           .write_arg = &ls};
    rc = jn_dk_perform(dk, &c);
    if (rc == 0 && c.status != 200) {
        c.resp = &ls.errbody;
        rc = jn_dk_fail_answer(dk, &c, "logs");
    } else if (rc == 0 && !ls.stopped) {
        flush_frame(&ls);
    }
    jn_buf_free(&ls.frame);
    jn_buf_free(&ls.errbody);
    return rc;
}

static int dk_build(struct jn_driver *d, const struct jn_build_spec *b, char *id, size_t idlen)
{
    struct docker *dk = (struct docker *)d;
    if (!jn_dk_image_ref_ok(b->tag))
        return jn_driver_fail(d, JN_EBADINPUT, "docker: build: \"%s\" is not an image name",
                              b->tag);
    FILE *f = fopen(b->context_tar, "rbe");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) < 0) {
        int e = -errno;
        if (f)
            fclose(f);
        return jn_driver_fail(d, e, "docker: build: cannot read the context %s: %s", b->context_tar,
                              strerror(-e));
    }
    int rc = jn_dk_negotiate(dk);
    if (rc < 0) {
        fclose(f);
        return rc;
    }
    char *et = curl_easy_escape(dk->curl, b->tag, 0),
         *ef = curl_easy_escape(dk->curl, b->dockerfile, 0);
    char path[1024];
    snprintf(path, sizeof(path), "/build?t=%s&dockerfile=%s&rm=1&forcerm=1", et, ef);
    curl_free(et);
    curl_free(ef);
    struct jn_dk_build_state bs = {.b = b, .curl = dk->curl};
    jn_buf_init(&bs.line, JN_DK_LINE_MAX);
    jn_buf_init(&bs.text, 4096);
    jn_buf_init(&bs.errbody, 64 << 10);
    struct jn_dk_call c = {.method = "POST",
                           .path = path,
                           .upload = f,
                           .upload_size = sb.st_size,
                           .upload_type = "application/x-tar",
                           .timeout_ms = BUILD_TIMEOUT_MS,
                           .write = jn_dk_build_write,
                           .write_arg = &bs};
    rc = jn_dk_perform(dk, &c);
    fclose(f);
    if (rc == 0 && c.status != 200) {
        c.resp = &bs.errbody;
        rc = jn_dk_fail_answer(dk, &c, "build");
    } else if (rc == 0) {
        const char *rest = jn_buf_cstr(&bs.line);
        if (rest && *rest)
            jn_dk_build_line(&bs, rest);
        jn_dk_build_text(&bs, "", true);
        if (bs.error[0])
            rc = jn_driver_fail(d, JN_EBADINPUT, "docker: build %s: %s", b->tag, bs.error);
    }
    jn_buf_free(&bs.line);
    jn_buf_free(&bs.text);
    jn_buf_free(&bs.errbody);
    if (rc == 0) {
        /* The tag is what the engine keeps: its ID is the image's. */
        struct jn_buf resp;
        jn_buf_init(&resp, RESP_MAX);
        rc = inspect_image(dk, b->tag, id, idlen, &resp);
        jn_buf_free(&resp);
        if (rc == JN_ENOTFOUND)
            rc = jn_driver_fail(d, JN_EUPSTREAM,
                                "docker: build %s reported success but the image is missing",
                                b->tag);
    }
    return rc;
}

static void dk_destroy(struct jn_driver *d)
{
    struct docker *dk = (struct docker *)d;
    curl_easy_cleanup(dk->curl);
    free(dk->sock);
    free(dk);
}

static const struct jn_driver_ops docker_ops = {
    .name = "docker",
    .version = dk_version,
    .image_ensure = dk_image_ensure,
    .start = dk_start,
    .stop = dk_stop,
    .remove = dk_remove,
    .inspect = dk_inspect,
    .list = dk_list,
    .logs = dk_logs,
    .pause = dk_pause,
    .build = dk_build,
    .destroy = dk_destroy,
};

struct jn_driver *jn_driver_docker_new(const char *socket_path)
{
    pthread_once(&curl_once, curl_init_once);
    struct docker *dk = jn_calloc(1, sizeof(*dk));
    dk->base.ops = &docker_ops;
    dk->sock = jn_strdup(socket_path);
    dk->curl = curl_easy_init();
    if (!dk->curl) {
        fprintf(stderr, "jern: curl_easy_init failed: out of memory\n");
        abort();
    }
    return &dk->base;
}
