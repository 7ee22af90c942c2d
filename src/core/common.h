/*
 * common.h: the first include of every jern source file.
 *
 * Return-value vocabulary, used by every module:
 *   >= 0            success, or a count of bytes / items
 *   -errno          a system error, passed through unchanged (e.g. -ECONNREFUSED)
 *   JN_E* (< -10000) a jern condition; jn_strerror() names it
 *
 * Parsers are pure functions over (buf, len) that return bytes consumed (> 0),
 * JN_EINCOMPLETE ("need more input") or JN_EBADINPUT ("bad input").
 */
#ifndef JN_CORE_COMMON_H
#define JN_CORE_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define JN_OK 0
#define JN_EBASE (-10000)
#define JN_EINCOMPLETE (-10001) /* parser: need more input */
#define JN_EBADINPUT (-10002)   /* parser: malformed input */
#define JN_ETOOBIG (-10003)     /* a configured or hard size limit was hit */
#define JN_ECONFIG (-10004)     /* invalid configuration */
#define JN_ENOTFOUND (-10005)   /* no such object */
#define JN_EEXIST (-10006)      /* object already exists */
#define JN_ETIMEDOUT (-10007)   /* a jern deadline expired */
#define JN_EUPSTREAM (-10008)   /* upstream failed or answered invalidly */
#define JN_EUNSUPPORTED (-10009) /* valid but not implemented */
#define JN_ECLOSED (-10010)     /* peer closed the connection */
#define JN_ELAST (-10011)

/* Returns a static, human-readable string for any value of the vocabulary above. */
const char *jn_strerror(int err);

#define JN_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define JN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define JN_MAX(a, b) ((a) > (b) ? (a) : (b))
#define JN_LIKELY(x) __builtin_expect(!!(x), 1)
#define JN_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define JN_UNUSED __attribute__((unused))
#define JN_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Control-plane allocation: aborts on failure (as redis and h2o do). The data path
 * uses per-worker free lists instead. */
void *jn_malloc(size_t n);
void *jn_calloc(size_t n, size_t size);
void *jn_realloc(void *p, size_t n);
char *jn_strdup(const char *s);
char *jn_strndup(const char *s, size_t n);

/* mkdir -p: creates path and its missing parents with mode 0700 (state
 * directories are private). Returns 0, or -errno (-ENAMETOOLONG past 4 KiB). */
int jn_mkdirs(const char *path);

/* Monotonic clock in milliseconds / nanoseconds. Any thread. */
int64_t jn_now_ms(void);
int64_t jn_now_ns(void);

/* Sleeps ms milliseconds, the whole time even when a signal arrives. */
void jn_sleep_ms(int ms);

/* Banned: unbounded string functions (HAProxy bans them too). Use snprintf/memcpy.
 * <stdio.h> and <string.h> are included above so their declarations pass. */
#pragma GCC poison strcpy strcat sprintf vsprintf gets

#endif
