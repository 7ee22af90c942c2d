/*
 * assets.c: looks up the embedded dashboard files.
 */
#include "core/common.h"

#include "control/ui/assets.h"

const struct jn_ui_asset *jn_ui_asset_find(const char *name)
{
    for (size_t i = 0; i < jn_ui_nassets; i++)
        if (strcmp(jn_ui_assets[i].name, name) == 0)
            return &jn_ui_assets[i];
    return NULL;
}
