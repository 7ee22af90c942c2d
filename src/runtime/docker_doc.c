/*
 * docker_doc.c: the Docker Engine API's documents, read and written without
 * talking to the engine: image names, time stamps, container inspect answers,
 * the registry auth header's encoding, and the JSON-lines stream of
 * POST /build. Pure but for the curl handle a build stream asks for its
 * status. See docker_doc.h.
 */
#include "core/common.h"

#include "runtime/docker_doc.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <time.h>

bool jn_dk_image_ref_ok(const char *s)
{
    if (!*s || strlen(s) > 255)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("._/:@-", *p)))
            return false;
    return true;
}

void jn_dk_base64url(const unsigned char *in, size_t len, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

/* "2026-11-27T15:18:37.49527938Z" -> unix seconds; 0 for the zero time or garbage. */
static int64_t parse_time(const char *s)
{
    struct tm tm = {0};
    if (!s ||
        sscanf(s, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6 ||
        tm.tm_year < 1971)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t t = (int64_t)timegm(&tm);
    /* Offsets other than Z ("+02:00") appear with some engines. */
    const char *z = s + 19;
    while (*z == '.' || (*z >= '0' && *z <= '9'))
        z++;
    int oh, om;
    if ((*z == '+' || *z == '-') && sscanf(z + 1, "%d:%d", &oh, &om) == 2)
        t -= (*z == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
    return t;
}

static void copy_str(char *dst, size_t len, const cJSON *item)
{
    const char *s = cJSON_GetStringValue(item);
    snprintf(dst, len, "%s", s ? s : "");
}

/* Fills out from a GET /containers/ID/json answer. */
void jn_dk_parse_inspect(cJSON *j, struct jn_instance *out)
{
    memset(out, 0, sizeof(*out));
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Id"));
    snprintf(out->id, sizeof(out->id), "%s", id ? id : "");
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Name"));
    snprintf(out->name, sizeof(out->name), "%s", name ? name + (name[0] == '/') : "");
    cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "State");
    out->running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "Running"));
    out->paused = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "Paused"));
    cJSON *ec = cJSON_GetObjectItemCaseSensitive(st, "ExitCode");
    out->exit_code = out->running ? 0 : cJSON_IsNumber(ec) ? ec->valueint : -1;
    out->started_at =
        parse_time(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "StartedAt")));
    cJSON *pid = cJSON_GetObjectItemCaseSensitive(st, "Pid");
    out->pid = out->running && cJSON_IsNumber(pid) ? pid->valueint : 0;
    cJSON *labels =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "Config"), "Labels");
    copy_str(out->app, sizeof(out->app), cJSON_GetObjectItemCaseSensitive(labels, JN_LABEL_APP));
    copy_str(out->release, sizeof(out->release),
             cJSON_GetObjectItemCaseSensitive(labels, JN_LABEL_RELEASE));
    copy_str(out->instance, sizeof(out->instance),
             cJSON_GetObjectItemCaseSensitive(labels, JN_LABEL_INSTANCE));
    copy_str(out->daemon, sizeof(out->daemon),
             cJSON_GetObjectItemCaseSensitive(labels, JN_LABEL_DAEMON));
    cJSON *pb = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "HostConfig"),
                                                 "PortBindings");
    cJSON *binding;
    cJSON_ArrayForEach(binding, pb)
    {
        cJSON *first = cJSON_GetArrayItem(binding, 0);
        const char *hp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "HostPort"));
        if (hp && atoi(hp) > 0) {
            out->host_port = atoi(hp);
            break;
        }
    }
}

/* ---- POST /build: the context as a tar, the output as JSON lines ---- */


/* Hands each complete line of the build's text to the progress callback. */
void jn_dk_build_text(struct jn_dk_build_state *bs, const char *s, bool flush)
{
    for (; *s; s++) {
        if (*s == '\n' || *s == '\r') {
            const char *t = jn_buf_cstr(&bs->text);
            if (t && *t && bs->b->progress)
                bs->b->progress(bs->b->arg, t);
            jn_buf_reset(&bs->text);
        } else {
            jn_buf_append(&bs->text, s, 1); /* a line over the cap is cut, not fatal */
        }
    }
    const char *t = jn_buf_cstr(&bs->text);
    if (flush && t && *t && bs->b->progress) {
        bs->b->progress(bs->b->arg, t);
        jn_buf_reset(&bs->text);
    }
}

void jn_dk_build_line(struct jn_dk_build_state *bs, const char *s)
{
    cJSON *j = cJSON_Parse(s);
    const char *txt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "stream"));
    if (txt)
        jn_dk_build_text(bs, txt, false);
    const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "error"));
    if (!e)
        e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "errorDetail"), "message"));
    if (e && !bs->error[0])
        snprintf(bs->error, sizeof(bs->error), "%s", e);
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "aux"), "ID"));
    if (id)
        snprintf(bs->id, sizeof(bs->id), "%s", id);
    cJSON_Delete(j);
}

size_t jn_dk_build_write(char *p, size_t size, size_t n, void *arg)
{
    struct jn_dk_build_state *bs = arg;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(bs->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        jn_buf_append(&bs->errbody, p, JN_MIN(len, jn_buf_avail(&bs->errbody) + 4096));
        return len;
    }
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\n') {
            const char *s = jn_buf_cstr(&bs->line);
            if (s && *s)
                jn_dk_build_line(bs, s);
            jn_buf_reset(&bs->line);
        } else if (jn_buf_append(&bs->line, p + i, 1) < 0) {
            return 0;
        }
    }
    return len;
}

