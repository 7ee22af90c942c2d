/* cmd_certs.c: jern certs, jern cert add|renew|remove|show, jern domains APP set --https. */
#include "core/common.h"

#include "cli/client.h"
#include "cli/commands.h"

#include <stdio.h>
#include <time.h>

#define PEM_MAX (256 * 1024)

static void fmt_time(double t, char *out, size_t cap)
{
    time_t s = (time_t)t;
    struct tm tm;
    if (t <= 0)
        snprintf(out, cap, "-");
    else
        strftime(out, cap, "%Y-%m-%d %H:%M", gmtime_r(&s, &tm));
}

/* "/CN=Pebble Intermediate CA 4fca08" -> "Pebble Intermediate CA 4fca08". */
static const char *short_issuer(const char *issuer)
{
    const char *cn = strstr(issuer, "CN=");
    return cn ? cn + 3 : *issuer ? issuer : "-";
}

static void print_cert(const cJSON *e)
{
    char exp[32];
    fmt_time(jn_client_num(e, "not_after"), exp, sizeof(exp));
    const char *err = jn_client_str(e, "last_error");
    char next[64] = "";
    double wait = jn_client_num(e, "next_attempt_in_s");
    if (*err && wait > 0)
        snprintf(next, sizeof(next), " (attempt %.0f failed; next in %.0fs)",
                 jn_client_num(e, "failures"), wait);
    printf("%-30s %-6s %-8s %-32.32s %-17s %s%s\n", jn_client_str(e, "domain"),
           jn_client_str(e, "source"), jn_client_str(e, "state"),
           short_issuer(jn_client_str(e, "issuer")), exp, *err ? err : "-", next);
}

int jn_cmd_certs(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    if (argc != 1) {
        jn_client_free(&c);
        return jn_client_usage("certs [--json]");
    }
    cJSON *o;
    int rc = jn_client_request(&c, "GET", "/v1/certs", NULL, &o);
    if (rc == 0 && !c.json) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(o, "certs"), *e;
        if (cJSON_GetArraySize(list) == 0) {
            printf("no certificates: every app domain that is not *.localhost gets one (jern "
                   "domains APP add DOMAIN), or install your own (jern cert add DOMAIN --cert F "
                   "--key F)\n");
        } else {
            printf("%-30s %-6s %-8s %-32s %-17s %s\n", "DOMAIN", "SOURCE", "STATE", "ISSUER",
                   "EXPIRES (UTC)", "LAST ERROR");
            cJSON_ArrayForEach(e, list) print_cert(e);
        }
    }
    cJSON_Delete(o);
    jn_client_free(&c);
    return rc;
}

/* Reads a PEM file given on the command line into a new string. */
static char *read_pem(const char *path, const char *what)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "jern: cannot read the %s %s: %s\n", what, path, strerror(errno));
        return NULL;
    }
    char *buf = jn_malloc(PEM_MAX + 1);
    size_t n = fread(buf, 1, PEM_MAX + 1, f);
    fclose(f);
    if (n > PEM_MAX) {
        fprintf(stderr, "jern: the %s %s is larger than 256 KiB\n", what, path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static int cert_add(struct jn_client *c, int argc, char **argv, const char *path)
{
    const char *cert = NULL, *key = NULL;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--cert") == 0)
            cert = argv[i + 1];
        else if (strcmp(argv[i], "--key") == 0)
            key = argv[i + 1];
        else
            cert = key = NULL, i = argc;
    }
    if (!cert || !key || argc != 7)
        return jn_client_usage("cert add DOMAIN --cert FULLCHAIN.pem --key KEY.pem");
    char *cp = read_pem(cert, "certificate"), *kp = cp ? read_pem(key, "key") : NULL;
    if (!kp) {
        free(cp);
        return 1;
    }
    cJSON *body = cJSON_CreateObject(), *o = NULL;
    cJSON_AddStringToObject(body, "cert", cp);
    cJSON_AddStringToObject(body, "key", kp);
    explicit_bzero(kp, strlen(kp));
    free(cp);
    free(kp);
    int rc = jn_client_request(c, "PUT", path, body, &o);
    cJSON_Delete(body);
    if (rc == 0 && !c->json) {
        char exp[32];
        fmt_time(jn_client_num(o, "not_after"), exp, sizeof(exp));
        printf("installed the certificate for %s (%s, by %s, expires %s UTC); jern will not "
               "renew it\n",
               argv[2], jn_client_str(o, "key_type"), short_issuer(jn_client_str(o, "issuer")),
               exp);
    }
    cJSON_Delete(o);
    return rc;
}

int jn_cmd_cert(int argc, char **argv)
{
    static const char *u = "cert add|renew|remove|show DOMAIN [--cert F --key F]";
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    if (argc < 3 || argv[2][0] == '-') {
        jn_client_free(&c);
        return jn_client_usage(u);
    }
    char *dom = jn_client_escape(argv[2]);
    char path[1024];
    snprintf(path, sizeof(path), "/v1/certs/%s", dom);
    free(dom);
    cJSON *o = NULL;
    int rc;
    const char *verb = argv[1];
    if (strcmp(verb, "add") == 0) {
        rc = cert_add(&c, argc, argv, path);
    } else if (argc != 3) {
        rc = jn_client_usage(u);
    } else if (strcmp(verb, "renew") == 0) {
        strncat(path, "/renew", sizeof(path) - strlen(path) - 1);
        rc = jn_client_request(&c, "POST", path, NULL, &o);
        if (rc == 0 && !c.json)
            printf("renewing the certificate for %s (see: jern certs)\n", argv[2]);
    } else if (strcmp(verb, "remove") == 0) {
        rc = jn_client_request(&c, "DELETE", path, NULL, &o);
        if (rc == 0 && !c.json)
            printf("removed the certificate for %s\n", argv[2]);
    } else if (strcmp(verb, "show") == 0) {
        rc = jn_client_request(&c, "GET", path, NULL, &o);
        if (rc == 0 && !c.json)
            print_cert(o);
    } else {
        rc = jn_client_usage(u);
    }
    cJSON_Delete(o);
    jn_client_free(&c);
    return rc;
}

int jn_cmd_domains_set(int argc, char **argv)
{
    static const char *u = "domains APP set --https redirect|only|off";
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    if (argc != 5 || strcmp(argv[2], "set") != 0 || strcmp(argv[3], "--https") != 0) {
        jn_client_free(&c);
        return jn_client_usage(u);
    }
    char *app = jn_client_escape(argv[1]);
    char path[1024];
    snprintf(path, sizeof(path), "/v1/apps/%s/https", app);
    free(app);
    cJSON *body = cJSON_CreateObject(), *o = NULL;
    cJSON_AddStringToObject(body, "https", argv[4]);
    int rc = jn_client_request(&c, "PUT", path, body, &o);
    cJSON_Delete(body);
    if (rc == 0 && !c.json) {
        const char *m = jn_client_str(o, "https");
        if (strcmp(m, "redirect") == 0)
            printf("app '%s': plain HTTP redirects to HTTPS for every domain with a "
                   "certificate\n",
                   argv[1]);
        else if (strcmp(m, "only") == 0)
            printf("app '%s': answers over HTTPS only (plain HTTP gets 403, except ACME "
                   "challenges)\n",
                   argv[1]);
        else
            printf("app '%s': answers over plain HTTP and HTTPS\n", argv[1]);
    }
    cJSON_Delete(o);
    jn_client_free(&c);
    return rc;
}
