/* connector_poll.c -- POLL mode of the reference connector: list each
 * entity's records modified since a watermark (GET /v1/objects/{type}?
 * modified_since=&after=&limit=) and produce their current state.
 *
 * The watermark per entity is the largest (last_modified_ms, id) produced
 * and delivered; pages go on from the listing's "next" (>= with the id as
 * tie-breaker). Each round after catching up starts lookback_ms before the
 * watermark to pick up changes that became visible late; objects already
 * produced at the same version in this process are not produced again.
 * Bugs: strict-gt-timestamp pages with modified_since = last + 1 and no id
 * tie-breaker (records sharing the boundary millisecond are skipped);
 * no-lookback starts each round at the watermark itself. The watermarks
 * are stored in the cursor topic (key crmsync-connector.poll) as JSON. */
#include "connector_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/bugs.h"
#include "crmsync/common.h"

static const char *const entities[] = {"account", "contact", "opportunity",
                                       "entitlement"};
#define ENTITY_CNT (sizeof(entities) / sizeof(entities[0]))
#define SEEN_MAX 200000 /* records remembered for the lookback overlap */

struct wm {
        int64_t lm;
        char    id[CRMSYNC_ID_MAX * 2];
        int64_t last_lookback_mono_ms; /* in memory only */
};

static int wm_cmp(int64_t lm, const char *id, const struct wm *w)
{
        if (lm != w->lm)
                return lm < w->lm ? -1 : 1;
        return strcmp(id, w->id);
}

/* Cursor string <-> watermarks: {"account":[lm,"id"],...}. */
static void wm_load(const char *cursor, struct wm *wms)
{
        json_t *root = *cursor ? json_loads(cursor, 0, NULL) : NULL;

        for (size_t e = 0; e < ENTITY_CNT; e++) {
                json_t     *a  = json_object_get(root, entities[e]);
                const char *id = json_string_value(json_array_get(a, 1));
                wms[e].lm      = json_integer_value(json_array_get(a, 0));
                wms[e].last_lookback_mono_ms = 0;
                snprintf(wms[e].id, sizeof(wms[e].id), "%s", id ? id : "");
        }
        json_decref(root);
}

static char *wm_dump(const struct wm *wms)
{
        json_t *root = json_object();
        char   *s;

        for (size_t e = 0; e < ENTITY_CNT; e++)
                json_object_set_new(
                    root, entities[e],
                    json_pack("[I,s]", (json_int_t)wms[e].lm, wms[e].id));
        s = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(root);
        return s;
}

/* Forget overlap entries older than keep_from_ms. */
static void seen_prune(json_t *seen, int64_t keep_from_ms)
{
        const char *k;
        json_t     *v, *tmp;

        json_object_foreach_safe(seen, tmp, k, v)
        {
                if (json_integer_value(json_array_get(v, 1)) < keep_from_ms)
                        json_object_del(seen, k);
        }
}

/* One entity, one round. Returns 0 done, 1 stop, -1 fatal (errstr),
 * 2 delivery failed (watermark unchanged). *produced counts records. */
static int poll_entity(struct connector *c, size_t e, struct wm *w,
                       json_t *seen, uint64_t *produced, char *errstr,
                       size_t errstr_size)
{
        uint32_t bugs   = c->cfg->bugs;
        int      strict = !!(bugs & CRMSYNC_BUG_STRICT_GT_TIMESTAMP);
        int      lookback =
            !(bugs & CRMSYNC_BUG_NO_LOOKBACK) && c->cfg->lookback_ms > 0;
        int64_t   now   = crmsync_mono_ms();
        int64_t   since = w->lm;
        char      after[sizeof(w->id)];
        struct wm best = *w;

        snprintf(after, sizeof(after), "%s", w->id);
        /* Re-read the overlap a few times per lookback window, not on every
         * round: a change that turns visible up to 3/4 lookback_ms late
         * is still caught, at a fraction of the listing load. */
        if (lookback &&
            now - w->last_lookback_mono_ms < (int64_t)c->cfg->lookback_ms / 4)
                lookback = 0;
        else if (lookback)
                w->last_lookback_mono_ms = now;
        if (lookback) {
                since    = w->lm > c->cfg->lookback_ms
                               ? w->lm - c->cfg->lookback_ms
                               : 0;
                after[0] = '\0';
        }
        if (strict)
                after[0] = '\0';
        for (uint32_t page = 0; page < 10000000; page++) {
                json_t *objs, *o;
                int     has_more, rc, failed;
                int64_t nsince;
                char    nafter[sizeof(after)], cur[96];
                size_t  i;

                rc = connector_list_page(
                    c, entities[e], since, strict && (page > 0 || !lookback),
                    after, &objs, &has_more, &nsince, nafter, sizeof(nafter));
                if (rc == 1)
                        return 1;
                if (rc == 2)
                        return 0; /* entity not served */
                connector_delivery_reset(c);
                json_array_foreach(objs, i, o)
                {
                        const char *id =
                            json_string_value(json_object_get(o, "id"));
                        json_int_t ver =
                            json_integer_value(json_object_get(o, "version"));
                        json_int_t lm = json_integer_value(
                            json_object_get(o, "last_modified_ms"));
                        char    key[96];
                        json_t *prev, *ev;

                        if (!id)
                                continue;
                        c->st.polled++;
                        if (wm_cmp(lm, id, &best) > 0) {
                                best.lm = lm;
                                snprintf(best.id, sizeof(best.id), "%s", id);
                        }
                        snprintf(key, sizeof(key), "%s/%s", entities[e], id);
                        prev = json_object_get(seen, key);
                        if (prev &&
                            json_integer_value(json_array_get(prev, 0)) >= ver)
                                continue; /* overlap re-read */
                        ev = connector_object_event(entities[e], o, "poll",
                                                    "polled");
                        if (!ev)
                                continue;
                        snprintf(cur, sizeof(cur), "%s@%lld/%s", entities[e],
                                 (long long)lm, id);
                        rc = connector_produce_event(c, ev, cur, "poll", errstr,
                                                     errstr_size);
                        json_decref(ev);
                        if (rc) {
                                json_decref(objs);
                                return -1;
                        }
                        (*produced)++;
                        if (json_object_size(seen) < SEEN_MAX)
                                json_object_set_new(
                                    seen, key, json_pack("[I,I]", ver, lm));
                }
                json_decref(objs);
                failed = connector_wait_delivered(c);
                if (c->fatal)
                        return crmsync_err(errstr, errstr_size, "%s",
                                           c->fatal_err);
                if (failed != 0) {
                        fprintf(stderr,
                                "connector: poll %s: delivery "
                                "failed (%s); watermark kept\n",
                                entities[e], c->last_delivery_err);
                        /* Forget what was not confirmed. */
                        json_object_clear(seen);
                        return 2;
                }
                best.last_lookback_mono_ms = w->last_lookback_mono_ms;
                *w                         = best;
                if (!has_more || nsince < 0)
                        break;
                since = nsince;
                snprintf(after, sizeof(after), "%s", strict ? "" : nafter);
                connector_stats_maybe(c, 0);
        }
        return 0;
}

int connector_run_poll(struct connector *c, char *errstr, size_t errstr_size)
{
        struct wm wms[ENTITY_CNT];
        json_t   *seen    = json_object();
        unsigned  attempt = 0;
        int       rc      = 0;

        if (!seen)
                return crmsync_err(errstr, errstr_size, "out of memory");
        wm_load(c->cursor, wms);
        while (!*c->stop && !c->fatal) {
                uint64_t produced = 0;
                int      failed   = 0;
                int64_t  min_lm   = INT64_MAX;
                char    *cur;

                for (size_t e = 0; e < ENTITY_CNT && !*c->stop; e++) {
                        int r = poll_entity(c, e, &wms[e], seen, &produced,
                                            errstr, errstr_size);
                        if (r < 0) {
                                rc = -1;
                                goto out;
                        }
                        if (r == 2)
                                failed = 1;
                        if (wms[e].lm > 0 && wms[e].lm < min_lm)
                                min_lm = wms[e].lm;
                }
                cur = wm_dump(wms);
                if (cur && strcmp(cur, c->cursor)) {
                        char serr[256];
                        if (connector_store_cursor(c, cur, serr, sizeof(serr)))
                                fprintf(stderr, "connector: %s\n", serr);
                }
                free(cur);
                if (min_lm != INT64_MAX)
                        seen_prune(seen,
                                   min_lm - 2 * (int64_t)c->cfg->lookback_ms);
                connector_stats_maybe(c, 0);
                if (failed)
                        connector_nap(c, connector_backoff_ms(attempt++));
                else {
                        attempt = 0;
                        connector_nap(c, c->cfg->poll_idle_ms);
                }
        }
        if (c->fatal)
                rc = crmsync_err(errstr, errstr_size, "%s", c->fatal_err);
out:
        json_decref(seen);
        return rc;
}
