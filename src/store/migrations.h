/* migrations.h: the numbered schema migrations (internal to src/store). */
#ifndef JN_STORE_MIGRATIONS_H
#define JN_STORE_MIGRATIONS_H

/* The SQL of migration version (1-based), or NULL past the last. Static. */
const char *jn_store_migration(int version);

/* Declared in store.h too: the number of migrations compiled in. */
int jn_store_migrations_count(void);

#endif
