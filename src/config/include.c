/* include.c: "include GLOB;" expansion and file reading for the config tree. */
#include "config/tree.h"

#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

int jn_conf_read_file(const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    /* a fifo or device could block or never end: configuration is regular files */
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
    }
    if ((uint64_t)st.st_size > JN_CONF_MAX_FILE_SIZE) {
        close(fd);
        return JN_ETOOBIG;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = jn_malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap > JN_CONF_MAX_FILE_SIZE) {
                free(buf);
                close(fd);
                return JN_ETOOBIG;
            }
            cap *= 2;
            buf = jn_realloc(buf, cap + 1);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = -errno;
            free(buf);
            close(fd);
            return e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static int ierr(char *err, size_t errlen, const struct jn_conf_node *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int ierr(char *err, size_t errlen, const struct jn_conf_node *n, const char *fmt, ...)
{
    int k = snprintf(err, errlen, "%s:%d: ", n->src->name, n->line);
    if (k >= 0 && (size_t)k < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return JN_ECONFIG;
}

static bool has_wildcard(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

static int expand_list(struct jn_conf_tree *t, struct jn_conf_node **nodes, size_t *n, int depth,
                       char *err, size_t errlen);

/* Parses one included file into nodes (already expanded below depth). */
static int load_one(struct jn_conf_tree *t, const struct jn_conf_node *inc, const char *path,
                    int depth, struct jn_conf_node **out, size_t *nout, char *err, size_t errlen)
{
    if (++t->nfiles > JN_CONF_MAX_FILES)
        return ierr(err, errlen, inc, "too many included files (more than %d)", JN_CONF_MAX_FILES);
    char *text;
    size_t len;
    int rc = jn_conf_read_file(path, &text, &len);
    if (rc < 0)
        return ierr(err, errlen, inc, "cannot read included file \"%s\": %s", path,
                    rc == JN_ETOOBIG ? "larger than 16 MiB"
                    : rc == -EINVAL  ? "not a regular file"
                                     : strerror(-rc));
    char *copy = jn_strdup(path);
    const struct jn_conf_src *src = jn_conf_tree_add_src(t, path, dirname(copy));
    free(copy);
    rc = jn_conf_parse(src, text, len, out, nout, err, errlen);
    free(text);
    if (rc < 0)
        return rc;
    rc = expand_list(t, out, nout, depth + 1, err, errlen);
    if (rc < 0) {
        jn_conf_nodes_free(*out, *nout);
        *out = NULL;
        *nout = 0;
    }
    return rc;
}

/* Returns the nodes that "include ARG" stands for. */
static int include_nodes(struct jn_conf_tree *t, const struct jn_conf_node *inc, int depth,
                         struct jn_conf_node **out, size_t *nout, char *err, size_t errlen)
{
    *out = NULL;
    *nout = 0;
    if (inc->block || inc->nargs != 1)
        return ierr(err, errlen, inc,
                    "invalid number of arguments in \"include\" directive: "
                    "expected one file name or glob");
    if (depth >= JN_CONF_MAX_INCLUDE_DEPTH)
        return ierr(err, errlen, inc,
                    "includes nested too deeply (more than %d levels): does a file include itself?",
                    JN_CONF_MAX_INCLUDE_DEPTH);
    const char *arg = inc->args[0];
    if (arg[0] == '\0')
        return ierr(err, errlen, inc, "empty file name in \"include\" directive");
    size_t plen = strlen(inc->src->dir) + strlen(arg) + 2;
    char *pattern = jn_malloc(plen);
    if (arg[0] == '/')
        snprintf(pattern, plen, "%s", arg);
    else
        snprintf(pattern, plen, "%s/%s", inc->src->dir, arg);

    int rc = 0;
    if (!has_wildcard(arg)) {
        rc = load_one(t, inc, pattern, depth, out, nout, err, errlen);
        free(pattern);
        return rc;
    }
    glob_t g;
    int grc = glob(pattern, 0, NULL, &g);
    if (grc == GLOB_NOMATCH) {
        free(pattern);
        return 0; /* as nginx: a glob may match nothing */
    }
    if (grc != 0) {
        rc = ierr(err, errlen, inc, "cannot expand include pattern \"%s\"", pattern);
        free(pattern);
        return rc;
    }
    free(pattern);
    for (size_t i = 0; i < g.gl_pathc && rc == 0; i++) {
        struct stat st;
        /* globs skip directories and other non-files, as "conf.d/ *" users expect */
        if (stat(g.gl_pathv[i], &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        struct jn_conf_node *sub;
        size_t nsub;
        rc = load_one(t, inc, g.gl_pathv[i], depth, &sub, &nsub, err, errlen);
        if (rc < 0)
            break;
        if (nsub) {
            *out = jn_realloc(*out, (*nout + nsub) * sizeof(**out));
            memcpy(*out + *nout, sub, nsub * sizeof(*sub));
            *nout += nsub;
        }
        free(sub);
    }
    globfree(&g);
    if (rc < 0) {
        jn_conf_nodes_free(*out, *nout);
        *out = NULL;
        *nout = 0;
    }
    return rc;
}

static int expand_list(struct jn_conf_tree *t, struct jn_conf_node **nodes, size_t *n, int depth,
                       char *err, size_t errlen)
{
    for (size_t i = 0; i < *n;) {
        struct jn_conf_node *node = &(*nodes)[i];
        if (strcmp(node->name, "include") != 0) {
            if (node->block) {
                int rc = expand_list(t, &node->children, &node->nchildren, depth, err, errlen);
                if (rc < 0)
                    return rc;
            }
            i++;
            continue;
        }
        struct jn_conf_node *sub;
        size_t nsub;
        int rc = include_nodes(t, node, depth, &sub, &nsub, err, errlen);
        if (rc < 0)
            return rc;
        /* splice: nodes[0..i) + sub + nodes(i..n) */
        struct jn_conf_node inc = *node;
        size_t tail = *n - i - 1;
        size_t total = *n - 1 + nsub;
        if (nsub > 1)
            *nodes = jn_realloc(*nodes, total * sizeof(**nodes));
        memmove(*nodes + i + nsub, *nodes + i + 1, tail * sizeof(**nodes));
        if (nsub)
            memcpy(*nodes + i, sub, nsub * sizeof(*sub));
        free(sub);
        *n = total;
        inc.children = NULL;
        inc.nchildren = 0;
        struct jn_conf_node *one = jn_malloc(sizeof(*one));
        *one = inc;
        jn_conf_nodes_free(one, 1);
        i += nsub;
    }
    return 0;
}

int jn_conf_include_expand(struct jn_conf_tree *t, char *err, size_t errlen)
{
    return expand_list(t, &t->root.children, &t->root.nchildren, 0, err, errlen);
}
