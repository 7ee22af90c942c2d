/*
 * migrations.c: the store schema, one entry per version, applied in order.
 * Never edit a released entry: add a new one. Each runs in its own
 * transaction together with the bump of PRAGMA user_version, so a crash
 * leaves the database at a whole version.
 */
#include "core/common.h"

#include "store/migrations.h"

static const char *const migrations[] = {
    /* 1: apps, domains, runtime upstream servers, settings, releases, instances */
    "CREATE TABLE apps ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE domains ("
    "  domain TEXT PRIMARY KEY,"
    "  app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE"
    ");"
    "CREATE INDEX domains_app ON domains(app_id);"
    /* origin 'api': a server added at runtime; 'config': an override of a
     * server written in the config file (weight/state, or 'removed'). */
    "CREATE TABLE upstream_servers ("
    "  id INTEGER PRIMARY KEY,"
    "  upstream TEXT NOT NULL,"
    "  addr TEXT NOT NULL,"
    "  weight INTEGER NOT NULL DEFAULT 1 CHECK (weight BETWEEN 1 AND 1000),"
    "  state TEXT NOT NULL DEFAULT 'ready'"
    "    CHECK (state IN ('ready','drain','maint','removed')),"
    "  origin TEXT NOT NULL DEFAULT 'api' CHECK (origin IN ('api','config')),"
    "  CHECK (state <> 'removed' OR origin = 'config'),"
    "  UNIQUE (upstream, addr)"
    ");"
    "CREATE TABLE settings ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ");"
    "CREATE TABLE releases ("
    "  id INTEGER PRIMARY KEY,"
    "  app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,"
    "  version INTEGER NOT NULL,"
    "  image TEXT,"
    "  command TEXT,"
    "  env TEXT NOT NULL DEFAULT '{}',"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (app_id, version)"
    ");"
    "CREATE TABLE instances ("
    "  id INTEGER PRIMARY KEY,"
    "  app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,"
    "  release_id INTEGER REFERENCES releases(id) ON DELETE SET NULL,"
    "  driver TEXT NOT NULL CHECK (driver IN ('docker','podman','exec')),"
    "  external_id TEXT,"
    "  host_port INTEGER CHECK (host_port IS NULL OR host_port BETWEEN 1 AND 65535),"
    "  state TEXT NOT NULL DEFAULT 'starting',"
    "  started_at INTEGER,"
    "  restarts INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX instances_app ON instances(app_id);",
    /* 2: deploys (control/deploy/deploy.c): the release an app serves and how many
     * instances it wants; a release's resolved image, settings snapshot and
     * status; an instance's driver-side name and health. */
    "ALTER TABLE apps ADD COLUMN release_id INTEGER;"
    "ALTER TABLE apps ADD COLUMN scale INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE releases ADD COLUMN image_id TEXT;"
    "ALTER TABLE releases ADD COLUMN spec TEXT NOT NULL DEFAULT '{}';"
    "ALTER TABLE releases ADD COLUMN status TEXT NOT NULL DEFAULT 'pending';"
    "ALTER TABLE instances ADD COLUMN name TEXT;"
    "ALTER TABLE instances ADD COLUMN health TEXT NOT NULL DEFAULT 'unknown';",
    /* 3: scale to zero and autoscaling (control/scale/autoscale.c): the app's
     * settings as a JSON object, NULL when its instance count is fixed. */
    "ALTER TABLE apps ADD COLUMN autoscale TEXT;",
    /* 4: managed databases (src/db): one MariaDB server each, and which apps
     * are attached to it. Passwords live in 0600 files, never here. */
    "CREATE TABLE databases ("
    "  name TEXT PRIMARY KEY,"
    "  memory_mb INTEGER NOT NULL,"
    "  dedicated INTEGER NOT NULL DEFAULT 0,"
    "  port INTEGER NOT NULL UNIQUE CHECK (port BETWEEN 1 AND 65535),"
    "  backup_every_s INTEGER NOT NULL DEFAULT 0,"
    "  backup_keep INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE db_attachments ("
    "  db TEXT NOT NULL REFERENCES databases(name) ON DELETE CASCADE,"
    "  app TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (db, app)"
    ");",
    /* 5: config that lasts (control/api/config.c): an app's environment, secret
     * values sealed (control/appconfig/secret.h); the config a release was
     * deployed with (NULL before this version: its env held everything); and
     * the history of changes made through the admin API, kept when the app
     * goes (by name, no reference). */
    "ALTER TABLE apps ADD COLUMN config TEXT NOT NULL DEFAULT '{}';"
    "ALTER TABLE releases ADD COLUMN config TEXT;"
    "CREATE TABLE history ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  app TEXT,"
    "  who TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  detail TEXT NOT NULL DEFAULT ''"
    ");"
    "CREATE INDEX history_app ON history(app, id);",
    /* 6: an instance reached over a unix socket (deploy --socket unix) has its
     * path here; NULL: over loopback TCP on host_port. */
    "ALTER TABLE instances ADD COLUMN sock TEXT;",
};

int jn_store_migrations_count(void)
{
    return (int)JN_ARRAY_LEN(migrations);
}

const char *jn_store_migration(int version)
{
    if (version < 1 || version > (int)JN_ARRAY_LEN(migrations))
        return NULL;
    return migrations[version - 1];
}
