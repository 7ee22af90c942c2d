#include "core/common.h"

#include "cli/client.h"
#include "cli/commands.h"
#include "core/buf.h"
#include "core/layout.h"

#include <curl/curl.h>
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define ANSWER_MAX (64u * 1024 * 1024)

/* Without --admin or $JERN_ADMIN: $JERN_STATE's socket, else the system
 * daemon's (core/layout.h) when it is there (or its directory is closed to
 * this user: the call then says who may use it), else ./jern-state's. */
static char *default_socket(const char **how)
{
    const char *state = getenv("JERN_STATE");
    char sys[4096];
    struct stat sb;
    int sr = *jn_layout_path(JN_LAYOUT_ADMIN, sys, sizeof(sys)) ? stat(sys, &sb) : -1;
    if (state && *state) {
        *how = "$JERN_STATE";
    } else if (sys[0] && ((sr == 0 && S_ISSOCK(sb.st_mode)) || (sr < 0 && errno == EACCES))) {
        *how = "the system daemon";
        return jn_strdup(sys);
    } else {
        *how = "the local default: no system daemon";
        state = "jern-state";
    }
    size_t n = strlen(state) + sizeof("/admin.sock");
    char *p = jn_malloc(n);
    snprintf(p, n, "%s/admin.sock", state);
    return p;
}

int jn_client_init(struct jn_client *c, int argc, char **argv)
{
    memset(c, 0, sizeof(*c));
    const char *admin = getenv("JERN_ADMIN");
    const char *token = getenv("JERN_TOKEN");
    c->how = admin && *admin ? "$JERN_ADMIN" : NULL;
    int out = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            c->json = true;
        } else if (strcmp(argv[i], "--admin") == 0 || strcmp(argv[i], "--token") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "jern: %s needs a value\n", argv[i]);
                return -1;
            }
            if (argv[i][2] == 'a') {
                admin = argv[++i];
                c->how = "--admin";
            } else {
                token = argv[++i];
            }
        } else {
            argv[out++] = argv[i];
        }
    }
    argv[out] = NULL;
    if (admin && *admin &&
        (strncmp(admin, "http://", 7) == 0 ||
         (admin[0] != '/' && admin[0] != '.' && strncmp(admin, "unix:", 5) != 0 &&
          strchr(admin, ':')))) {
        const char *hp = strncmp(admin, "http://", 7) == 0 ? admin + 7 : admin;
        size_t n = strlen(hp) + 8;
        c->base_url = jn_malloc(n);
        snprintf(c->base_url, n, "http://%s", hp);
        size_t l = strlen(c->base_url);
        if (l > 7 && c->base_url[l - 1] == '/')
            c->base_url[l - 1] = '\0';
        c->where = jn_strdup(c->base_url);
    } else {
        if (admin && *admin)
            c->unix_path = jn_strdup(strncmp(admin, "unix:", 5) == 0 ? admin + 5 : admin);
        else
            c->unix_path = default_socket(&c->how);
        c->base_url = jn_strdup("http://localhost");
        c->where = jn_strdup(c->unix_path);
    }
    if (token && *token)
        c->token = jn_strdup(token);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return out;
}

void jn_client_free(struct jn_client *c)
{
    free(c->unix_path);
    free(c->base_url);
    free(c->token);
    free(c->where);
    curl_global_cleanup();
}

/* When the socket at path is there but closed to this user: says so, with
 * who may use it and the fix, and returns true. */
static bool say_denied(const char *path)
{
    struct stat sb;
    bool denied = stat(path, &sb) < 0 ? errno == EACCES : access(path, R_OK | W_OK) < 0;
    if (!denied)
        return false;
    /* the socket's group, else (its directory closed) the directory's */
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    struct group *g = NULL;
    if (stat(path, &sb) == 0 || stat(dirname(dir), &sb) == 0)
        g = sb.st_gid != 0 ? getgrgid(sb.st_gid) : NULL;
    if (g)
        fprintf(stderr,
                "jern: permission denied on the admin socket %s: only its owner and the group "
                "%s may use it (add yourself: sudo usermod -aG %s $USER, then log in again; "
                "or run jern as the daemon's user)\n",
                path, g->gr_name, g->gr_name);
    else
        fprintf(stderr,
                "jern: permission denied on the admin socket %s: only its owner may use it (run "
                "jern as the daemon's user, or create the group jern, add yourself to it and "
                "restart the daemon)\n",
                path);
    return true;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct jn_buf *b = arg;
    return jn_buf_append(b, p, size * n) < 0 ? 0 : size * n;
}

/* A streamed answer: each line of a 200 is one JSON object for s->line;
 * anything else is kept for the error. */
struct stream {
    CURL *h;
    void (*line)(void *arg, const cJSON *o);
    void *arg;
    struct jn_buf part; /* a line not yet ended */
    struct jn_buf *answer;
};

static size_t on_stream(char *p, size_t size, size_t n, void *arg)
{
    struct stream *s = arg;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
        return on_data(p, size, n, s->answer);
    for (size_t i = 0; i < len; i++) {
        if (p[i] != '\n') {
            if (jn_buf_append(&s->part, p + i, 1) < 0)
                return 0;
            continue;
        }
        cJSON *o = cJSON_ParseWithLength(s->part.data ? s->part.data : "", s->part.len);
        if (o)
            s->line(s->arg, o);
        cJSON_Delete(o);
        jn_buf_reset(&s->part);
    }
    return len;
}

static int call(struct jn_client *c, const char *method, const char *path, const cJSON *body,
                cJSON **out, struct stream *stream)
{
    *out = NULL;
    CURL *h = curl_easy_init();
    if (!h) {
        fprintf(stderr, "jern: cannot initialise libcurl\n");
        return -1;
    }
    size_t ulen = strlen(c->base_url) + strlen(path) + 1;
    char *url = jn_malloc(ulen);
    snprintf(url, ulen, "%s%s", c->base_url, path);
    struct jn_buf answer;
    jn_buf_init(&answer, ANSWER_MAX);
    struct curl_slist *hdrs = NULL;
    char *payload = NULL;
    char auth[1024];
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (c->unix_path)
        curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (stream) {
        stream->h = h;
        stream->answer = &answer;
        jn_buf_init(&stream->part, ANSWER_MAX);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_stream);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, stream);
    } else {
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms > 0 ? c->timeout_ms : 60000L);
    }
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (c->token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    if (body) {
        payload = cJSON_PrintUnformatted(body);
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    }
    /* The admin API answers at once: never wait for a 100 Continue. */
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    CURLcode cr = curl_easy_perform(h);
    long status = -1;
    if (cr != CURLE_OK) {
        if (c->unix_path && say_denied(c->unix_path))
            ; /* said who may use it */
        else if (c->unix_path)
            fprintf(stderr,
                    "jern: cannot reach the jern daemon at %s: %s (start it with: jern serve, "
                    "or point --admin / JERN_ADMIN at its socket)\n",
                    c->where, curl_easy_strerror(cr));
        else
            fprintf(stderr,
                    "jern: cannot reach the jern daemon at %s: %s (is it running with an admin "
                    "TCP listener there?)\n",
                    c->where, curl_easy_strerror(cr));
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        *out = cJSON_ParseWithLength(answer.data ? answer.data : "", answer.len);
    }
    curl_slist_free_all(hdrs);
    free(payload);
    jn_buf_free(&answer);
    if (stream)
        jn_buf_free(&stream->part);
    free(url);
    curl_easy_cleanup(h);
    return (int)status;
}

/* A change the daemon answers with 409 and "retry_after" waits for work the
 * daemon does on its own (an autoscaler's scale of the app, a restart after
 * a crash): said once, asked again every 250 ms, for at most BUSY_WAIT_MS. */
#define BUSY_WAIT_MS 120000

int jn_client_call(struct jn_client *c, const char *method, const char *path, const cJSON *body,
                   cJSON **out)
{
    int64_t end = 0;
    for (;;) {
        int st = call(c, method, path, body, out, NULL);
        if (st != 409 || jn_client_num(*out, "retry_after") <= 0 || (end && jn_now_ms() >= end))
            return st;
        if (!end) {
            fprintf(stderr, "jern: %s; waiting for it to finish\n", jn_client_str(*out, "error"));
            end = jn_now_ms() + BUSY_WAIT_MS;
        }
        cJSON_Delete(*out);
        *out = NULL;
        jn_sleep_ms(250);
    }
}

int jn_client_stream(struct jn_client *c, const char *method, const char *path,
                     const cJSON *body, void (*line)(void *arg, const cJSON *o), void *arg,
                     cJSON **out)
{
    struct stream s = {.line = line, .arg = arg};
    return call(c, method, path, body, out, &s);
}

int jn_client_fail(int status, const cJSON *answer)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(answer, "error");
    if (cJSON_IsString(e))
        fprintf(stderr, "jern: %s\n", e->valuestring);
    else
        fprintf(stderr, "jern: the daemon answered HTTP %d\n", status);
    return 1;
}

char *jn_client_escape(const char *seg)
{
    char *e = curl_easy_escape(NULL, seg, 0);
    char *r = jn_strdup(e ? e : "");
    curl_free(e);
    return r;
}

void jn_client_print_json(const cJSON *answer)
{
    char *s = cJSON_Print(answer);
    printf("%s\n", s ? s : "null");
    free(s);
}

int jn_client_request(struct jn_client *c, const char *method, const char *path, const cJSON *body,
                      cJSON **out)
{
    return jn_client_settle(c, jn_client_call(c, method, path, body, out), out);
}

int jn_client_settle(struct jn_client *c, int st, cJSON **out)
{
    if (st < 0)
        return 1;
    if (st < 200 || st > 299) {
        int rc = jn_client_fail(st, *out);
        cJSON_Delete(*out);
        *out = NULL;
        return rc;
    }
    if (c->json)
        jn_client_print_json(*out);
    return 0;
}

const char *jn_client_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

double jn_client_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

int jn_client_usage(const char *usage)
{
    jn_cli_print_usage(stderr, "jern: usage: jern ", usage);
    return 2;
}
