/*
 * assets.h: the dashboard's files (ui/ and the pinned uPlot from npm),
 * embedded into the binary at build time by scripts/embed-assets.py into
 * build/gen/ui_assets.c. The page loads nothing from anywhere else.
 */
#ifndef JN_CONTROL_UI_ASSETS_H
#define JN_CONTROL_UI_ASSETS_H

#include "core/common.h"

struct jn_ui_asset {
    const char *name; /* "dashboard.js" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
};

extern const struct jn_ui_asset jn_ui_assets[];
extern const size_t jn_ui_nassets;

/* The asset called name, or NULL. */
const struct jn_ui_asset *jn_ui_asset_find(const char *name);

#endif
