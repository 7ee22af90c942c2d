/*
 * build.h: deploy from source (jern deploy APP --build DIR [--ref REF]). The
 * admin API resolves the source when the deploy is asked for (which commit,
 * which Dockerfile, the image's tag); the deploy job then packs the context
 * as a tar (git archive of the commit, or tar of the directory) and builds it
 * through the container engine (POST /build), its output as the job's
 * progress lines. docs/DEPLOY.md.
 */
#ifndef JN_CONTROL_DEPLOY_BUILD_H
#define JN_CONTROL_DEPLOY_BUILD_H

#include "core/common.h"

#define JN_BUILD_PATH_MAX 1024

/* A resolved source. */
struct jn_build_src {
    char context[JN_BUILD_PATH_MAX]; /* absolute directory (a git work tree with a ref) */
    char ref[256];                   /* as given; "" for a plain directory */
    char commit[41];                 /* the ref's commit; "" for a plain directory */
    char dockerfile[16];             /* "Containerfile" or "Dockerfile" */
    char tag[64];                    /* the commit's first 12 digits, or a UTC timestamp */
};

/* Checks dir (absolute, a directory) and ref (NULL or "": the directory as it
 * is; else a commit-ish of the git repository at dir, resolved with git),
 * and finds the Containerfile or Dockerfile. Returns 0, or JN_EBADINPUT with
 * err naming the thing and the fix. Blocks for a git rev-parse (bounded);
 * any thread. */
int jn_build_resolve(const char *dir, const char *ref, struct jn_build_src *out, char *err,
                     size_t errlen);

/* Packs src's context into tar_path: git archive of the commit, or the
 * directory's files (tar). Returns 0, or a negative code with err. Blocks;
 * a job's thread. */
int jn_build_pack(const struct jn_build_src *src, const char *tar_path, char *err,
                  size_t errlen);

#endif
