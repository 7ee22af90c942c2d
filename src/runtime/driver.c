/*
 * driver.c: the jn_driver_* wrappers every driver shares: they reset the error
 * message, dispatch to the ops table and check arguments once for all drivers.
 */
#include "core/common.h"

#include "runtime/driver.h"

#include <stdarg.h>

int jn_driver_fail(struct jn_driver *d, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->errmsg, sizeof(d->errmsg), fmt, ap);
    va_end(ap);
    return err;
}

static bool name_ok(const char *s, size_t max)
{
    if (!s || !*s || strlen(s) > max)
        return false;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
          (s[0] >= '0' && s[0] <= '9')))
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

int jn_driver_check_spec(struct jn_driver *d, const struct jn_instance_spec *spec)
{
    const char *drv = d->ops->name;
    if (!name_ok(spec->name, 127))
        return jn_driver_fail(d, JN_EBADINPUT,
                              "%s: instance name \"%s\" is invalid: use letters, digits, _ . - "
                              "(first a letter or digit), at most 127",
                              drv, spec->name ? spec->name : "");
    const char *labels[3][2] = {
        {"app", spec->app}, {"release", spec->release}, {"instance", spec->instance}};
    for (size_t i = 0; i < 3; i++)
        if (!name_ok(labels[i][1], 63))
            return jn_driver_fail(d, JN_EBADINPUT,
                                  "%s: label jern.%s \"%s\" is invalid: use letters, digits, _ . - "
                                  "(first a letter or digit), at most 63",
                                  drv, labels[i][0], labels[i][1] ? labels[i][1] : "");
    if (spec->daemon && !name_ok(spec->daemon, 63))
        return jn_driver_fail(d, JN_EBADINPUT,
                              "%s: label jern.daemon \"%s\" is invalid: use letters, digits, _ . - "
                              "(first a letter or digit), at most 63",
                              drv, spec->daemon);
    if (spec->host_port < 0 || spec->host_port > 65535 || spec->app_port < 0 ||
        spec->app_port > 65535)
        return jn_driver_fail(d, JN_EBADINPUT, "%s: ports must be 0..65535 (got %d -> %d)", drv,
                              spec->host_port, spec->app_port);
    if (spec->memory < 0 || spec->cpus < 0)
        return jn_driver_fail(d, JN_EBADINPUT, "%s: memory and cpus must not be negative", drv);
    for (const char *const *e = spec->env; e && *e; e++)
        if (!strchr(*e, '=') || **e == '=')
            return jn_driver_fail(d, JN_EBADINPUT,
                                  "%s: environment entry \"%.40s\" is not KEY=VALUE", drv, *e);
    return 0;
}

const char *jn_driver_name(const struct jn_driver *d)
{
    return d->ops->name;
}

const char *jn_driver_errmsg(const struct jn_driver *d)
{
    return d->errmsg;
}

static int check_id(struct jn_driver *d, const char *id)
{
    if (!name_ok(id, 127))
        return jn_driver_fail(d, JN_EBADINPUT, "%s: \"%s\" is not a valid instance id or name",
                              d->ops->name, id ? id : "");
    return 0;
}

int jn_driver_version(struct jn_driver *d, char *out, size_t len)
{
    d->errmsg[0] = '\0';
    return d->ops->version(d, out, len);
}

int jn_driver_image_ensure(struct jn_driver *d, const char *image,
                           const struct jn_registry_auth *auth, char *id, size_t idlen)
{
    d->errmsg[0] = '\0';
    if (!image || !*image)
        return jn_driver_fail(d, JN_EBADINPUT, "%s: no image given", d->ops->name);
    return d->ops->image_ensure(d, image, auth, id, idlen);
}

int jn_driver_build(struct jn_driver *d, const struct jn_build_spec *b, char *id, size_t idlen)
{
    d->errmsg[0] = '\0';
    if (!d->ops->build)
        return jn_driver_fail(d, JN_EUNSUPPORTED,
                              "%s: builds no images (deploy --build needs the container engine)",
                              d->ops->name);
    return d->ops->build(d, b, id, idlen);
}

int jn_driver_start(struct jn_driver *d, const struct jn_instance_spec *spec,
                    struct jn_instance *out)
{
    d->errmsg[0] = '\0';
    int rc = jn_driver_check_spec(d, spec);
    if (rc < 0)
        return rc;
    struct jn_instance tmp;
    return d->ops->start(d, spec, out ? out : &tmp);
}

int jn_driver_stop(struct jn_driver *d, const char *id, int timeout_ms)
{
    d->errmsg[0] = '\0';
    int rc = check_id(d, id);
    return rc < 0 ? rc : d->ops->stop(d, id, timeout_ms < 0 ? 0 : timeout_ms);
}

int jn_driver_remove(struct jn_driver *d, const char *id)
{
    d->errmsg[0] = '\0';
    int rc = check_id(d, id);
    return rc < 0 ? rc : d->ops->remove(d, id);
}

int jn_driver_inspect(struct jn_driver *d, const char *id, struct jn_instance *out)
{
    d->errmsg[0] = '\0';
    int rc = check_id(d, id);
    if (rc < 0)
        return rc;
    /* id may point into out (inspect(x.id, &x) refreshes x): copy it first. */
    char copy[128];
    snprintf(copy, sizeof(copy), "%s", id);
    memset(out, 0, sizeof(*out));
    return d->ops->inspect(d, copy, out);
}

int jn_driver_list(struct jn_driver *d, const char *app, struct jn_instance **out)
{
    d->errmsg[0] = '\0';
    *out = NULL;
    if (app && !name_ok(app, 63))
        return jn_driver_fail(d, JN_EBADINPUT, "%s: \"%s\" is not a valid app name", d->ops->name,
                              app);
    return d->ops->list(d, app, out);
}

int jn_driver_logs(struct jn_driver *d, const char *id, const struct jn_logs_opts *opts,
                   jn_log_sink sink, void *arg)
{
    d->errmsg[0] = '\0';
    static const struct jn_logs_opts defaults = {0};
    int rc = check_id(d, id);
    return rc < 0 ? rc : d->ops->logs(d, id, opts ? opts : &defaults, sink, arg);
}

int jn_driver_pause(struct jn_driver *d, const char *id)
{
    d->errmsg[0] = '\0';
    int rc = check_id(d, id);
    return rc < 0 ? rc : d->ops->pause(d, id, true);
}

int jn_driver_unpause(struct jn_driver *d, const char *id)
{
    d->errmsg[0] = '\0';
    int rc = check_id(d, id);
    return rc < 0 ? rc : d->ops->pause(d, id, false);
}

void jn_driver_destroy(struct jn_driver *d)
{
    if (d)
        d->ops->destroy(d);
}
