/* load.c: loading a configuration (file -> tree -> includes -> checks ->
 * struct jn_conf through the directive table) and freeing one. */
#include "config/load.h"

#include "config/build.h"
#include "config/conf.h"
#include "core/log.h"

#include <libgen.h>

/* jern serve without an http block: an empty one, so that apps get their
 * servers (jn_conf_jern_app_servers). Returns whether one was added. */
static bool add_http(struct jn_conf_tree *t, const struct jn_conf_src *src)
{
    for (size_t i = 0; i < t->root.nchildren; i++)
        if (strcmp(t->root.children[i].name, "http") == 0)
            return false;
    struct jn_conf_node *n = jn_conf_grow(&t->root.children, &t->root.nchildren, sizeof(*n));
    n->name = jn_strdup("http");
    n->args = jn_calloc(1, sizeof(char *));
    n->src = src;
    n->block = true;
    return true;
}

int jn_conf_load_text(const char *name, const char *dir, const char *text, size_t len,
                      unsigned flags, struct jn_conf **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    struct jn_conf_tree t = {0};
    const struct jn_conf_src *src = jn_conf_tree_add_src(&t, name, dir);
    t.nfiles = 1;
    int rc = jn_conf_parse(src, text, len, &t.root.children, &t.root.nchildren, err, errlen);
    if (rc == 0 && !(flags & JN_CONF_NO_INCLUDE))
        rc = jn_conf_include_expand(&t, err, errlen);

    struct jn_conf_build b = {.err = err, .errlen = errlen, .flags = flags};
    if (rc == 0 && (flags & JN_CONF_DAEMON))
        b.http_added = add_http(&t, src);

    struct jn_conf *c = jn_calloc(1, sizeof(*c));
    b.conf = c;
    c->jern.drain_timeout_ms = -1;
    c->jern.instance_log_files = -1;
    c->path = jn_strdup(name);
    c->worker_processes = 1; /* nginx's default */
    c->worker_connections = 1024;
    c->error_log_level = JN_LOG_NOTICE;
    if (rc == 0)
        rc = jn_conf_validate(&b, t.root.children, t.root.nchildren, JN_CTX_MAIN);
    if (rc == 0)
        rc = jn_conf_walk(&b, &t.root, JN_CTX_MAIN, NULL);
    jn_conf_tree_free(&t);
    if (rc < 0) {
        jn_conf_free(c);
        return JN_ECONFIG;
    }
    *out = c;
    return 0;
}

int jn_conf_load_string(const char *name, const char *text, size_t len, struct jn_conf **out,
                        char *err, size_t errlen)
{
    return jn_conf_load_text(name, ".", text, len, 0, out, err, errlen);
}

int jn_conf_load(const char *path, struct jn_conf **out, char *err, size_t errlen)
{
    return jn_conf_load_file(path, 0, out, err, errlen);
}

int jn_conf_load_file(const char *path, unsigned flags, struct jn_conf **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    char *text;
    size_t len;
    int rc = jn_conf_read_file(path, &text, &len);
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot read the configuration: %s", path,
                 rc == JN_ETOOBIG ? "larger than 16 MiB"
                 : rc == -EINVAL  ? "not a regular file"
                                  : strerror(-rc));
        return JN_ECONFIG;
    }
    char *copy = jn_strdup(path);
    rc = jn_conf_load_text(path, dirname(copy), text, len, flags, out, err, errlen);
    free(copy);
    free(text);
    return rc;
}

static void location_free(struct jn_conf_location *l)
{
    free(l->prefix);
    free(l->pass_target);
    free(l->pass_uri);
    free(l->return_text);
    free(l->alias);
    for (size_t i = 0; i < l->ntry_files; i++)
        free(l->try_files[i]);
    free(l->try_files);
    jn_conf_rewrites_free(l->rewrites, l->nrewrites);
    jn_conf_settings_free(&l->s);
}

static void server_free(struct jn_conf_server *s)
{
    for (size_t i = 0; i < s->nlistens; i++)
        free(s->listens[i].text);
    free(s->listens);
    for (size_t i = 0; i < s->nserver_names; i++)
        free(s->server_names[i]);
    free(s->server_names);
    for (size_t i = 0; i < s->nlocations; i++)
        location_free(&s->locations[i]);
    free(s->locations);
    jn_conf_settings_free(&s->s);
}

void jn_conf_free(struct jn_conf *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nupstreams; i++) {
        struct jn_conf_upstream *u = &c->upstreams[i];
        free(u->name);
        for (size_t j = 0; j < u->nservers; j++)
            free(u->servers[j].text);
        free(u->servers);
    }
    free(c->upstreams);
    for (size_t i = 0; i < c->nservers; i++)
        server_free(&c->servers[i]);
    free(c->servers);
    for (size_t i = 0; i < c->nlog_formats; i++) {
        free(c->log_formats[i].name);
        free(c->log_formats[i].format);
    }
    free(c->log_formats);
    for (size_t i = 0; i < c->nmaps; i++) {
        struct jn_conf_map *m = &c->maps[i];
        free(m->source);
        free(m->name);
        free(m->dflt);
        for (size_t k = 0; k < m->nentries; k++) {
            free(m->entries[k].name);
            free(m->entries[k].value);
        }
        free(m->entries);
    }
    free(c->maps);
    for (size_t i = 0; i < c->jern.nlisten; i++)
        free(c->jern.listen[i]);
    free(c->jern.state_dir);
    free(c->jern.cluster);
    free(c->jern.node);
    free(c->jern.advertise);
    for (size_t i = 0; i < c->jern.nlabels; i++)
        free(c->jern.labels[i]);
    free(c->jern.admin_unix);
    free(c->jern.admin_tcp);
    if (c->jern.admin_token)
        explicit_bzero(c->jern.admin_token, strlen(c->jern.admin_token));
    free(c->jern.admin_token);
    free(c->jern.base_domain);
    free(c->jern.acme_directory);
    free(c->jern.acme_email);
    free(c->jern.acme_ca_bundle);
    free(c->path);
    free(c->pid_path);
    free(c->error_log_path);
    free(c);
}
