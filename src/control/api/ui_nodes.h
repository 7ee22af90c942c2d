/*
 * ui_nodes.h: what a single node tells the dashboard's nodes page about
 * itself, in the shape of the cluster's GET /v1/nodes and GET /v1/where
 * (docs/UI.md). A cluster node answers those routes themselves.
 */
#ifndef JN_CONTROL_API_UI_NODES_H
#define JN_CONTROL_API_UI_NODES_H

#include "control/api/api.h"

/* This node's name: the cluster's name for it, else the host name. Static
 * storage; control thread. */
const char *jn_ui_node_name(const struct jn_api *api);

/* {"cluster": false, "etcd": false, "node", "scheduler": "", "nodes": [this
 * node: name, labels, memory, gateway, health, draining, instances]}. */
void jn_ui_local_nodes(struct jn_api_call *c);

/* {"cluster": false, "apps": [{app, require: {}, inside: true, items: [this
 * node's instances and the app's logs, each with node, labels, inside]}]};
 * app NULL: every app, else that one (404 when it does not exist). */
void jn_ui_local_where(struct jn_api_call *c, const char *app);

#endif
