/* dialect_hubspot_webhooks.c -- HubSpot's webhooks in the mock CRM: an
 * app's settings (PUT /webhooks/v3/{appId}/settings with its targetUrl)
 * subscribe it, and every change is delivered as HubSpot's events
 * (subscriptionType, eventId, subscriptionId, portalId, occurredAt,
 * attemptNumber, ...) by the same dispatcher as /v1 subscriptions
 * (crm_webhook.c), signed with X-HubSpot-Signature-v3. */
#include "crm_int.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm_query.h"

#define HS_PORTAL_ID 1
#define HS_HOOK_BATCH 25 /* changes per POST: at most 3 events each */
#define HS_APP_ID_MAX 999999999LL

/* ------------------------------------------------------------------ */
/* Delivery: crmsync events -> HubSpot events */

/* "contact", "company", "deal"; entitlements are the custom object. */
static const char *object_name(enum crm_entity t)
{
        return t == CRM_ENTITY_ACCOUNT       ? "company"
               : t == CRM_ENTITY_CONTACT     ? "contact"
               : t == CRM_ENTITY_OPPORTUNITY ? "deal"
                                             : "object";
}

static int64_t app_of(const crm_server_t *s, int sub_id)
{
        for (int i = 0; i < CRM_HS_APPS_MAX; i++)
                if (s->hs_app_sub[i] == sub_id)
                        return s->hs_app_id[i];
        return 0;
}

/* The members every event of one change shares. */
static json_t *base_event(const json_t *ev, enum crm_entity t, const char *kind,
                          int sub_id, int64_t app, uint32_t attempt)
{
        char    type[48];
        json_t *o = json_object();

        snprintf(type, sizeof(type), "%s.%s", object_name(t), kind);
        json_object_set_new(
            o, "eventId",
            json_integer(json_integer_value(json_object_get(ev, "seq"))));
        json_object_set_new(o, "subscriptionId", json_integer(sub_id));
        json_object_set_new(o, "portalId", json_integer(HS_PORTAL_ID));
        json_object_set_new(o, "appId", json_integer(app));
        json_object_set_new(o, "occurredAt",
                            json_integer(json_integer_value(
                                json_object_get(ev, "commit_ts_ms"))));
        json_object_set_new(o, "subscriptionType", json_string(type));
        json_object_set_new(o, "attemptNumber", json_integer(attempt));
        json_object_set_new(o, "objectId",
                            json_integer(crm_hubspot_num(json_string_value(
                                json_object_get(ev, "record_id")))));
        if (t == CRM_ENTITY_ENTITLEMENT)
                json_object_set_new(o, "objectTypeId",
                                    json_string("2-3000001"));
        json_object_set_new(o, "changeSource", json_string("CRM"));
        return o;
}

/* An update: merge, association change or one propertyChange per field. */
static void add_update(json_t *out, const json_t *ev, enum crm_entity t,
                       int sub_id, int64_t app, uint32_t attempt)
{
        const json_t *fields = json_object_get(ev, "fields");
        const json_t *merged = json_object_get(ev, "merged_ids");
        const char   *prev   = json_string_value(json_object_get(ev, "previous_"
                                                                         "account_id"));
        const char   *k;
        json_t       *v, *o;
        size_t        i;

        if (json_array_size(merged)) {
                json_t *ids = json_array();
                json_array_foreach(merged, i, v) json_array_append_new(
                    ids, json_integer(crm_hubspot_num(json_string_value(v))));
                o = base_event(ev, t, "merge", sub_id, app, attempt);
                json_object_set(o, "primaryObjectId",
                                json_object_get(o, "objectId"));
                json_object_set(o, "newObjectId",
                                json_object_get(o, "objectId"));
                json_object_set_new(o, "mergedObjectIds", ids);
                json_object_set_new(
                    o, "numberOfPropertiesMoved",
                    json_integer((json_int_t)json_object_size(fields)));
                json_array_append_new(out, o);
        }
        if (prev && t != CRM_ENTITY_ACCOUNT) {
                const char *acct =
                    json_string_value(json_object_get(ev, "account_id"));
                char assoc[48];
                snprintf(assoc, sizeof(assoc), "%s_TO_COMPANY",
                         t == CRM_ENTITY_CONTACT       ? "CONTACT"
                         : t == CRM_ENTITY_OPPORTUNITY ? "DEAL"
                                                       : "ENTITLEMENT");
                o = base_event(ev, t, "associationChange", sub_id, app,
                               attempt);
                json_object_set(o, "fromObjectId",
                                json_object_get(o, "objectId"));
                json_object_set_new(
                    o, "toObjectId",
                    json_integer(crm_hubspot_num(acct ? acct : "")));
                json_object_set_new(o, "associationType", json_string(assoc));
                json_object_set_new(o, "associationRemoved", json_false());
                json_object_set_new(o, "isPrimaryAssociation", json_true());
                json_array_append_new(out, o);
        }
        json_object_foreach((json_t *)fields, k, v)
        {
                o = base_event(ev, t, "propertyChange", sub_id, app, attempt);
                json_object_set_new(o, "propertyName",
                                    json_string(crm_hubspot_prop(t, k)));
                json_t *pv = crm_prop_string(v);
                json_object_set_new(o, "propertyValue",
                                    pv ? pv : json_string(""));
                json_array_append_new(out, o);
        }
}

/* The HubSpot events of one crmsync event (none when it is unreadable:
 * a schema-drifted event without record_id). */
static void add_events(json_t *out, const json_t *ev, int sub_id, int64_t app,
                       uint32_t attempt)
{
        const char *ent = json_string_value(json_object_get(ev, "entity"));
        const char *chg = json_string_value(json_object_get(ev, "change_type"));
        int         t   = ent ? crmsync_entity_parse(ent) : -1;
        const char *kind = NULL;

        if (t < 0 || !chg || !json_is_string(json_object_get(ev, "record_id")))
                return;
        if (!strcmp(chg, "create"))
                kind = "creation";
        else if (!strcmp(chg, "delete"))
                kind = "deletion";
        else if (!strcmp(chg, "undelete"))
                kind = "restore";
        if (kind) {
                json_array_append_new(out,
                                      base_event(ev, (enum crm_entity)t, kind,
                                                 sub_id, app, attempt));
                return;
        }
        if (!strcmp(chg, "gap")) {
                /* HubSpot has no gap: a change whose property is unknown;
                 * the receiver reads the object. */
                json_t *o = base_event(ev, (enum crm_entity)t, "propertyChange",
                                       sub_id, app, attempt);
                json_object_set_new(o, "propertyName",
                                    json_string("hs_lastmodifieddate"));
                json_array_append_new(out, o);
                return;
        }
        add_update(out, ev, (enum crm_entity)t, sub_id, app, attempt);
}

char *crm_hubspot_webhook_body(void *opaque, int sub_id,
                               const char *const *ev_json, const size_t *ev_len,
                               int n, uint32_t attempt, size_t *out_len)
{
        crm_server_t *s   = opaque;
        json_t       *out = json_array();
        int64_t       app = app_of(s, sub_id);
        char         *body;

        for (int i = 0; i < n; i++) {
                json_t *ev = json_loadb(ev_json[i], ev_len[i], 0, NULL);
                if (ev)
                        add_events(out, ev, sub_id, app, attempt);
                json_decref(ev);
        }
        crm_hubspot_subs_filter(s, app, out);
        body = json_dumps(out, JSON_COMPACT);
        json_decref(out);
        if (body)
                *out_len = strlen(body);
        return body;
}

/* ------------------------------------------------------------------ */
/* Settings: PUT, GET, DELETE /webhooks/v3/{appId}/settings */

static int app_slot(const crm_server_t *s, int64_t app)
{
        for (int i = 0; i < CRM_HS_APPS_MAX; i++)
                if (s->hs_app_sub[i] && s->hs_app_id[i] == app)
                        return i;
        return -1;
}

static void reply_settings(crm_server_t *s, struct evhttp_request *req,
                           int status, const char *url)
{
        crm_hubspot_reply(s, req, status,
                          json_pack("{s:s,s:{s:i,s:s}}", "targetUrl", url,
                                    "throttling", "maxConcurrentRequests", 10,
                                    "period", "SECONDLY"));
}

/* PUT: {"targetUrl":"http://127.0.0.1:P/path","clientSecret":"..."} (the
 * client secret is the mock's stand-in for the app's, which HubSpot
 * knows); "throttling" is accepted. Replaces the app's earlier target. */
static void put_settings(crm_server_t *s, struct evhttp_request *req,
                         int64_t app)
{
        char         why[256];
        size_t       len;
        json_error_t jerr;
        char        *body = crm_hubspot_body(s, req, &len);
        json_t      *j;
        const char  *url, *secret;
        int          slot, id;

        if (!body)
                return;
        j = json_loadb(body, len, 0, &jerr);
        free(body);
        url    = json_string_value(json_object_get(j, "targetUrl"));
        secret = json_string_value(json_object_get(j, "clientSecret"));
        if (!json_is_object(j) || !url || !secret) {
                crm_hubspot_error(s, req, 400, "VALIDATION_ERROR",
                                  "expected {\"targetUrl\":string,"
                                  "\"clientSecret\":string} (%s)",
                                  j ? "targetUrl or clientSecret missing"
                                    : jerr.text);
                json_decref(j);
                return;
        }
        slot = app_slot(s, app);
        if (slot < 0)
                for (int i = 0; i < CRM_HS_APPS_MAX && slot < 0; i++)
                        if (!s->hs_app_sub[i])
                                slot = i;
        if (slot < 0) {
                crm_hubspot_error(s, req, 409, "CONFLICT",
                                  "at most %d apps have webhook settings",
                                  CRM_HS_APPS_MAX);
                json_decref(j);
                return;
        }
        id = crmsync_webhook_subscribe(s->webhook, url, secret, HS_HOOK_BATCH,
                                       why, sizeof(why));
        if (id < 0) {
                crm_hubspot_error(s, req, 400, "VALIDATION_ERROR",
                                  "targetUrl: %s", why);
                json_decref(j);
                return;
        }
        crmsync_webhook_set_hubspot(s->webhook, id);
        if (s->hs_app_sub[slot])
                crmsync_webhook_unsubscribe(s->webhook, s->hs_app_sub[slot],
                                            why, sizeof(why));
        s->hs_app_id[slot]  = app;
        s->hs_app_sub[slot] = id;
        reply_settings(s, req, 200, url);
        json_decref(j);
}

void crm_hubspot_webhooks_handle(crm_server_t *s, struct evhttp_request *req,
                                 const char *path, const char *query)
{
        char                 key[128], app_s[16];
        const char          *p = path + 13, *slash = strchr(p, '/');
        int64_t              app = 0;
        int                  slot;
        enum evhttp_cmd_type m = evhttp_request_get_command(req);

        /* The webhooks API takes the developer API key (hapikey). */
        if (crmsync_query_get(query, "hapikey", key, sizeof(key)) != 0 ||
            !key[0]) {
                crm_hubspot_error(s, req, 401, "INVALID_AUTHENTICATION",
                                  "the webhooks API needs the developer API "
                                  "key (hapikey=...)");
                return;
        }
        if (!crm_hubspot_throttle_ok(s, req, key))
                return;
        if (!slash ||
            (strcmp(slash, "/settings") &&
             strncmp(slash, "/subscriptions", 14)) ||
            slash == p || (size_t)(slash - p) >= sizeof(app_s)) {
                crm_hubspot_error(s, req, 404, "OBJECT_NOT_FOUND",
                                  "no route for %.128s (webhooks/v3/{appId}/"
                                  "settings or subscriptions)",
                                  path);
                return;
        }
        memcpy(app_s, p, (size_t)(slash - p));
        app_s[slash - p] = '\0';
        for (const char *c = app_s; *c; c++)
                app = (*c >= '0' && *c <= '9' && app <= HS_APP_ID_MAX)
                          ? app * 10 + (*c - '0')
                          : -1;
        if (app <= 0 || app > HS_APP_ID_MAX) {
                crm_hubspot_error(s, req, 400, "VALIDATION_ERROR",
                                  "appId must be a positive integer");
                return;
        }
        if (!strncmp(slash, "/subscriptions", 14)) {
                crm_hubspot_subs_handle(s, req, app, slash + 14);
                return;
        }
        slot = app_slot(s, app);
        if (m == EVHTTP_REQ_PUT) {
                put_settings(s, req, app);
        } else if (m == EVHTTP_REQ_DELETE && slot >= 0) {
                char why[128];
                crmsync_webhook_unsubscribe(s->webhook, s->hs_app_sub[slot],
                                            why, sizeof(why));
                s->hs_app_sub[slot] = 0;
                struct evbuffer *b  = evbuffer_new();
                crm_reply_json(s, req, 204, b);
                evbuffer_free(b);
        } else if (m == EVHTTP_REQ_DELETE) {
                crm_hubspot_error(s, req, 404, "OBJECT_NOT_FOUND",
                                  "app %" PRId64 " has no webhook settings",
                                  app);
        } else {
                evhttp_add_header(evhttp_request_get_output_headers(req),
                                  "Allow", "PUT, DELETE");
                crm_hubspot_error(s, req, 405, "VALIDATION_ERROR",
                                  "use PUT or DELETE for this path");
        }
}
