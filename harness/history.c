/* history.c -- compact run history and the history anomaly checks. */
#include "harness/history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"

struct apply_fact {
        uint32_t seq, record, version;
        uint8_t  applied, covers; /* covers: a full write or a delete */
};

struct history {
        uint32_t commits, records;
        size_t   max_facts;
        /* Per seq (index seq - 1). */
        uint32_t          *commit_record, *commit_version;
        uint8_t           *observed;   /* copies seen in the log, saturating */
        uint8_t           *written;    /* the sink got a write carrying seq */
        uint8_t           *dead;       /* dead-lettered */
        uint32_t          *side_count; /* side-effect requests */
        struct apply_fact *applies;
        size_t             apply_cnt;
        uint64_t           observed_total, log_dups, dropped;
        history_name_fn    name;
        void              *name_opaque;
};

history_t *crmsync_history_new(uint32_t commits, uint32_t records,
                               size_t max_facts)
{
        history_t *h = calloc(1, sizeof(*h));
        if (!h)
                return NULL;
        h->commits        = commits;
        h->records        = records;
        h->max_facts      = max_facts ? max_facts : (size_t)commits * 8 + 1024;
        h->commit_record  = calloc(commits + 1, sizeof(uint32_t));
        h->commit_version = calloc(commits + 1, sizeof(uint32_t));
        h->observed       = calloc(commits + 1, 1);
        h->written        = calloc(commits + 1, 1);
        h->dead           = calloc(commits + 1, 1);
        h->side_count     = calloc(commits + 1, sizeof(uint32_t));
        if (!h->commit_record || !h->commit_version || !h->observed ||
            !h->written || !h->dead || !h->side_count) {
                crmsync_history_destroy(h);
                return NULL;
        }
        return h;
}

void crmsync_history_destroy(history_t *h)
{
        if (!h)
                return;
        free(h->commit_record);
        free(h->commit_version);
        free(h->observed);
        free(h->written);
        free(h->dead);
        free(h->side_count);
        free(h->applies);
        free(h);
}

void crmsync_history_commit(history_t *h, uint32_t seq, uint32_t record,
                            uint32_t version)
{
        if (seq == 0 || seq > h->commits || record >= h->records)
                return;
        h->commit_record[seq - 1]  = record;
        h->commit_version[seq - 1] = version;
}

void crmsync_history_observe(history_t *h, uint32_t seq, int32_t partition,
                             int64_t offset)
{
        (void)partition;
        (void)offset;
        h->observed_total++;
        if (seq == 0 || seq > h->commits)
                return;
        if (h->observed[seq - 1])
                h->log_dups++;
        if (h->observed[seq - 1] < 255)
                h->observed[seq - 1]++;
}

void crmsync_history_dead_letter(history_t *h, uint32_t seq)
{
        if (seq && seq <= h->commits)
                h->dead[seq - 1] = 1;
}

void crmsync_history_apply(history_t *h, uint32_t seq, uint32_t record,
                           uint32_t version, int applied, unsigned flags)
{
        if (seq && seq <= h->commits)
                h->written[seq - 1] = 1;
        if (record >= h->records)
                return;
        if (h->apply_cnt >= h->max_facts) {
                h->dropped++;
                return;
        }
        if (!h->applies) {
                /* Allocated lazily, grown geometrically up to max_facts. */
                h->applies = malloc(1024 * sizeof(*h->applies));
                if (!h->applies)
                        return;
        } else if ((h->apply_cnt & (h->apply_cnt - 1)) == 0 &&
                   h->apply_cnt >= 1024) {
                struct apply_fact *n =
                    realloc(h->applies, h->apply_cnt * 2 * sizeof(*n));
                if (!n) {
                        h->dropped++;
                        return;
                }
                h->applies = n;
        }
        h->applies[h->apply_cnt++] = (struct apply_fact){
            seq, record, version, (uint8_t) !!applied,
            (uint8_t) !!(flags & (HISTORY_WRITE_FULL | HISTORY_WRITE_DELETE))};
}

void crmsync_history_side_effect(history_t *h, uint32_t seq, uint32_t count)
{
        if (seq && seq <= h->commits)
                h->side_count[seq - 1] += count;
}

void crmsync_history_set_names(history_t *h, history_name_fn fn, void *opaque)
{
        h->name        = fn;
        h->name_opaque = opaque;
}

/* An example's key (the record) and the change's name ("e-00000042"). */
static void example_names(const history_t *h, uint32_t seq, uint32_t rec,
                          char *key, size_t key_size, char *chg,
                          size_t chg_size)
{
        if (h->name) {
                h->name(h->name_opaque, 0, rec, key, key_size);
                if (seq)
                        h->name(h->name_opaque, seq, UINT32_MAX, chg, chg_size);
                else
                        snprintf(chg, chg_size, "no change id");
        } else {
                snprintf(key, key_size, "seq:%u", seq);
                snprintf(chg, chg_size, "record #%u", rec);
        }
}

int crmsync_history_check(history_t *h, struct check_result *r,
                          struct history_stats *st)
{
        /* Per record: highest version applied so far (reordered), highest
         * version applied at all, and highest version covered by a full
         * write or a delete (lost). */
        uint32_t *max_applied  = calloc(h->records + 1, sizeof(uint32_t));
        uint32_t *max_cover    = calloc(h->records + 1, sizeof(uint32_t));
        struct history_stats s = {0};
        char                 key[CRMSYNC_KEY_MAX], chg[CRMSYNC_KEY_MAX];

        if (!max_applied || !max_cover) {
                free(max_applied);
                free(max_cover);
                return -1;
        }
        for (size_t i = 0; i < h->apply_cnt; i++) {
                const struct apply_fact *a = &h->applies[i];
                /* A full write carries the whole record and a delete ends
                 * it: either supersedes every older change, even when a
                 * newer write beat it to the sink. */
                if (a->covers && a->version > max_cover[a->record])
                        max_cover[a->record] = a->version;
                if (!a->applied)
                        continue;
                if (a->version < max_applied[a->record]) {
                        example_names(h, a->seq, a->record, key, sizeof(key),
                                      chg, sizeof(chg));
                        crmsync_check_result_add(r, ANOMALY_REORDERED, key,
                                                 "v%u (%s) applied after v%u",
                                                 a->version, chg,
                                                 max_applied[a->record]);
                } else {
                        max_applied[a->record] = a->version;
                }
        }
        for (uint32_t i = 0; i < h->commits; i++) {
                uint32_t rec = h->commit_record[i], v = h->commit_version[i];
                if (h->dead[i]) {
                        example_names(h, i + 1, rec, key, sizeof(key), chg,
                                      sizeof(chg));
                        crmsync_check_result_add(r, ANOMALY_DEAD_LETTERED, key,
                                                 "v%u (%s) sent to the "
                                                 "dead-letter topic",
                                                 v, chg);
                        continue;
                }
                if (h->side_count[i] > 1) {
                        example_names(h, i + 1, rec, key, sizeof(key), chg,
                                      sizeof(chg));
                        crmsync_check_result_add(
                            r, ANOMALY_DUPLICATE_SIDE_EFFECT, key,
                            "v%u (%s): side effect requested %u times", v, chg,
                            h->side_count[i]);
                }
                if (h->written[i] || max_cover[rec] >= v ||
                    max_applied[rec] <= v)
                        continue;
                example_names(h, i + 1, rec, key, sizeof(key), chg,
                              sizeof(chg));
                if (!h->observed[i]) {
                        s.lost_before_topic++;
                        crmsync_check_result_add(
                            r, ANOMALY_LOST, key,
                            "v%u (%s) never reached the topic; v%u was "
                            "applied",
                            v, chg, max_applied[rec]);
                } else {
                        s.lost_after_topic++;
                        crmsync_check_result_add(
                            r, ANOMALY_LOST, key,
                            "v%u (%s) reached the topic but not the sink; "
                            "v%u was applied",
                            v, chg, max_applied[rec]);
                }
        }
        s.observed       = h->observed_total;
        s.log_duplicates = h->log_dups;
        s.applies        = h->apply_cnt;
        s.dropped_facts  = h->dropped;
        if (st)
                *st = s;
        free(max_applied);
        free(max_cover);
        return 0;
}
