/* dialect_hubspot_subs.c -- HubSpot's webhook event subscriptions in the
 * mock CRM: GET/POST /webhooks/v3/{appId}/subscriptions and GET, PATCH,
 * DELETE /webhooks/v3/{appId}/subscriptions/{subscriptionId}. An app with
 * subscriptions is sent only the events of its active ones (each with
 * its subscriptionId); an app without any gets every event, as before
 * (docs/crm-dialects.md). */
#include "crm_int.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs_search.h"

#define SUB_ID_BASE 1000 /* event subscription ids: 1001, 1002, ... */

static const char *const objects[] = {"contact", "company", "deal", "object",
                                      NULL};
static const char *const kinds[]   = {"creation", "deletion", "propertyChange",
                                      "restore",  "merge",    "associationChange",
                                      NULL};

/* "contact.propertyChange": a type the mock sends. */
static int type_ok(const char *t)
{
        const char *dot = t ? strchr(t, '.') : NULL;
        int         ok  = 0;

        for (int i = 0; dot && objects[i] && !ok; i++)
                ok = strlen(objects[i]) == (size_t)(dot - t) &&
                     !strncmp(objects[i], t, (size_t)(dot - t));
        for (int i = 0; ok && kinds[i]; i++)
                if (!strcmp(kinds[i], dot + 1))
                        return 1;
        return 0;
}

static struct hs_event_sub *sub_find(crm_server_t *s, int64_t app, int id)
{
        for (int i = 0; i < CRM_HS_SUBS_MAX; i++)
                if (s->hs_subs[i].app == app && s->hs_subs[i].id == id)
                        return &s->hs_subs[i];
        return NULL;
}

static json_t *sub_json(const struct hs_event_sub *x)
{
        char    id[16], c[40], u[40];
        json_t *o;

        snprintf(id, sizeof(id), "%d", x->id);
        crmsync_hs_time_format(x->created_ms, c, sizeof(c));
        crmsync_hs_time_format(x->updated_ms, u, sizeof(u));
        o = json_pack("{s:s,s:s,s:b,s:s,s:s}", "id", id, "eventType", x->type,
                      "active", x->active, "createdAt", c, "updatedAt", u);
        if (x->prop[0])
                json_object_set_new(o, "propertyName", json_string(x->prop));
        return o;
}

/* POST {"eventType":"contact.creation"} or {"eventType":
 * "contact.propertyChange","propertyName":"email"}, "active" optional. */
static void create(crm_server_t *s, struct evhttp_request *req, int64_t app)
{
        size_t               len;
        char                *body = crm_hubspot_body(s, req, &len);
        const char          *type, *prop;
        json_t              *act, *j;
        struct hs_event_sub *x = NULL;

        if (!body)
                return;
        j = json_loadb(body, len, 0, NULL);
        free(body);
        type = json_string_value(json_object_get(j, "eventType"));
        prop = json_string_value(json_object_get(j, "propertyName"));
        act  = json_object_get(j, "active");
        if (!json_is_object(j) || !type_ok(type) ||
            (act && !json_is_boolean(act)) ||
            (json_object_get(j, "propertyName") && !prop)) {
                crm_hubspot_error(s, req, 400, "VALIDATION_ERROR",
                                  "expected {\"eventType\":\"<object>.<kind>\""
                                  ",\"propertyName\":string,\"active\":bool}"
                                  " with object contact|company|deal|object"
                                  " and kind creation|deletion|"
                                  "propertyChange|restore|merge|"
                                  "associationChange");
                json_decref(j);
                return;
        }
        if (!strcmp(strchr(type, '.'), ".propertyChange") !=
            (prop && *prop && strlen(prop) < sizeof(x->prop))) {
                crm_hubspot_error(s, req, 400, "VALIDATION_ERROR",
                                  "propertyName (1..63 characters) is "
                                  "required for propertyChange and only "
                                  "there");
                json_decref(j);
                return;
        }
        for (int i = 0; i < CRM_HS_SUBS_MAX && !x; i++)
                if (!s->hs_subs[i].app)
                        x = &s->hs_subs[i];
        if (!x) {
                crm_hubspot_error(s, req, 409, "CONFLICT",
                                  "at most %d event subscriptions",
                                  CRM_HS_SUBS_MAX);
                json_decref(j);
                return;
        }
        memset(x, 0, sizeof(*x));
        x->app    = app;
        x->id     = SUB_ID_BASE + ++s->hs_subs_next;
        x->active = act ? json_is_true(act) : 1;
        snprintf(x->type, sizeof(x->type), "%s", type);
        snprintf(x->prop, sizeof(x->prop), "%s", prop ? prop : "");
        x->created_ms = x->updated_ms = crmsync_wall_ms();
        crm_hubspot_reply(s, req, 201, sub_json(x));
        json_decref(j);
}

/* PATCH {"active":bool} */
static void patch(crm_server_t *s, struct evhttp_request *req,
                  struct hs_event_sub *x)
{
        size_t  len;
        char   *body = crm_hubspot_body(s, req, &len);
        json_t *j, *act;

        if (!body)
                return;
        j = json_loadb(body, len, 0, NULL);
        free(body);
        act = json_object_get(j, "active");
        if (!json_is_boolean(act) || json_object_size(j) != 1) {
                crm_hubspot_error(s, req, 400, "VALIDATION_ERROR",
                                  "expected {\"active\":true|false}");
        } else {
                x->active     = json_is_true(act);
                x->updated_ms = crmsync_wall_ms();
                crm_hubspot_reply(s, req, 200, sub_json(x));
        }
        json_decref(j);
}

void crm_hubspot_subs_handle(crm_server_t *s, struct evhttp_request *req,
                             int64_t app, const char *rest)
{
        enum evhttp_cmd_type m = evhttp_request_get_command(req);
        struct evkeyvalq    *h = evhttp_request_get_output_headers(req);
        struct hs_event_sub *x;
        char                *end;
        long                 id;

        if (!*rest) { /* .../subscriptions */
                if (m == EVHTTP_REQ_POST) {
                        create(s, req, app);
                        return;
                }
                if (m != EVHTTP_REQ_GET) {
                        evhttp_add_header(h, "Allow", "GET, POST");
                        crm_hubspot_error(s, req, 405, "VALIDATION_ERROR",
                                          "use GET or POST for this path");
                        return;
                }
                json_t *res = json_array();
                for (int i = 0; i < CRM_HS_SUBS_MAX; i++)
                        if (s->hs_subs[i].app == app)
                                json_array_append_new(res,
                                                      sub_json(&s->hs_subs[i]));
                crm_hubspot_reply(s, req, 200,
                                  json_pack("{s:o}", "results", res));
                return;
        }
        id = rest[0] == '/' ? strtol(rest + 1, &end, 10) : 0;
        if (!id || *end || !(x = sub_find(s, app, (int)id))) {
                crm_hubspot_error(s, req, 404, "OBJECT_NOT_FOUND",
                                  "app %" PRId64 " has no subscription %.20s",
                                  app, rest[0] ? rest + 1 : rest);
                return;
        }
        if (m == EVHTTP_REQ_GET) {
                crm_hubspot_reply(s, req, 200, sub_json(x));
        } else if (m == EVHTTP_REQ_PATCH) {
                patch(s, req, x);
        } else if (m == EVHTTP_REQ_DELETE) {
                struct evbuffer *b = evbuffer_new();
                memset(x, 0, sizeof(*x));
                crm_reply_json(s, req, 204, b);
                evbuffer_free(b);
        } else {
                evhttp_add_header(h, "Allow", "GET, PATCH, DELETE");
                crm_hubspot_error(s, req, 405, "VALIDATION_ERROR",
                                  "use GET, PATCH or DELETE for this path");
        }
}

/* The active subscription of app that event o falls under, its id; 0
 * when the app has subscriptions but none for o; -1 when it has none. */
static int sub_for(const crm_server_t *s, int64_t app, const json_t *o)
{
        const char *t =
            json_string_value(json_object_get(o, "subscriptionType"));
        const char *p   = json_string_value(json_object_get(o, "propertyName"));
        int         any = 0;

        for (int i = 0; i < CRM_HS_SUBS_MAX; i++) {
                const struct hs_event_sub *x = &s->hs_subs[i];
                if (x->app != app)
                        continue;
                any = 1;
                if (x->active && t && !strcmp(x->type, t) &&
                    (!x->prop[0] || (p && !strcmp(x->prop, p))))
                        return x->id;
        }
        return any ? 0 : -1;
}

void crm_hubspot_subs_filter(const crm_server_t *s, int64_t app, json_t *events)
{
        size_t i = 0;

        while (i < json_array_size(events)) {
                json_t *o  = json_array_get(events, i);
                int     id = sub_for(s, app, o);
                if (id < 0)
                        return; /* no subscriptions: every event */
                if (!id) {
                        json_array_remove(events, i);
                        continue;
                }
                json_object_set_new(o, "subscriptionId", json_integer(id));
                i++;
        }
}
