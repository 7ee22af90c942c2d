/*
 * tree.h: the generic directive tree of an nginx-syntax file, before any
 * meaning is given to it: each node is a name, its arguments, the file and
 * line it came from, and the children of its { block }. Built by
 * jn_conf_parse (pure, over a buffer) and jn_conf_include_expand (reads the
 * files that include directives name); read by the directive table.
 * One owner, one thread.
 */
#ifndef JN_CONFIG_TREE_H
#define JN_CONFIG_TREE_H

#include "core/common.h"

/* Blocks nest at most this deep (main > http > server > location is 4). */
#define JN_CONF_MAX_DEPTH 32

/* Where nodes came from. Owned by the tree; nodes point at it. */
struct jn_conf_src {
    char *name; /* as shown in messages: the path, or the name given for text */
    char *dir;  /* directory relative includes resolve against */
    struct jn_conf_src *next;
};

struct jn_conf_node {
    char *name;
    char **args;
    size_t nargs;
    int line;
    const struct jn_conf_src *src;
    bool block; /* written with { ... } (maybe empty) rather than ';' */
    struct jn_conf_node *children;
    size_t nchildren;
};

struct jn_conf_tree {
    struct jn_conf_node root; /* name "" ; children are the main context */
    struct jn_conf_src *srcs;
    int nfiles; /* files read so far, capped against include loops */
};

/* Adds a source to the tree and returns it (the tree owns it). dir NULL = ".". */
const struct jn_conf_src *jn_conf_tree_add_src(struct jn_conf_tree *t, const char *name,
                                               const char *dir);

/* Parses buf[0..len) into a list of nodes (allocated, caller frees with
 * jn_conf_nodes_free). Returns 0, or JN_ECONFIG with "NAME:LINE: why" in err. */
int jn_conf_parse(const struct jn_conf_src *src, const char *buf, size_t len,
                  struct jn_conf_node **out, size_t *nout, char *err, size_t errlen);

/* Frees a list of nodes and their children. */
void jn_conf_nodes_free(struct jn_conf_node *nodes, size_t n);

/* Frees a tree's nodes and sources (not the struct itself). */
void jn_conf_tree_free(struct jn_conf_tree *t);

/* Replaces every "include GLOB;" in the tree by the directives of the files it
 * names (sorted, relative to the including file's directory). A pattern
 * without wildcards must name an existing file; one with wildcards may match
 * nothing, as in nginx. Nesting is capped at JN_CONF_MAX_INCLUDE_DEPTH and the
 * total at JN_CONF_MAX_FILES. Returns 0 or JN_ECONFIG with err set. Blocking
 * file I/O: control side only. */
#define JN_CONF_MAX_INCLUDE_DEPTH 16
#define JN_CONF_MAX_FILES 512
#define JN_CONF_MAX_FILE_SIZE (16u << 20)
int jn_conf_include_expand(struct jn_conf_tree *t, char *err, size_t errlen);

/* Reads a whole regular file of at most JN_CONF_MAX_FILE_SIZE bytes into a
 * NUL-terminated allocation the caller frees. Returns 0 or -errno/JN_ETOOBIG. */
int jn_conf_read_file(const char *path, char **out, size_t *len);

#endif
