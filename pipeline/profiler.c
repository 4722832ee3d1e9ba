/* profiler.c -- the reference profile builder: consume crm.changes, dedupe
 * by event id, write versioned bulk ops to the sink, send side effects,
 * and commit offsets only after the sink acknowledged the batch. */
#include "profiler_int.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crmsync/bugs.h"
#include "crmsync/domain.h"
#include "crmsync/log.h"
#include "crmsync/pipeline.h"

#define DLQ_FLUSH_SLICE_MS 100

void profiler_log(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        crmsync_vlog("profiler", fmt, ap);
        va_end(ap);
}

static void print_stats(struct profiler *p)
{
        profiler_log(
            "consumed=%llu applied=%llu stale=%llu dup=%llu dlq=%llu "
            "skipped=%llu failed=%llu side_effects=%llu committed=%llu "
            "retries=%llu parked=%llu forced=%llu ms_poll=%lld "
            "ms_sink=%lld ms_fx=%lld ms_commit=%lld ms_wait=%lld",
            (unsigned long long)p->st.consumed,
            (unsigned long long)p->st.applied, (unsigned long long)p->st.stale,
            (unsigned long long)p->st.dup, (unsigned long long)p->st.dlq,
            (unsigned long long)p->st.skipped, (unsigned long long)p->st.failed,
            (unsigned long long)p->st.side_effects,
            (unsigned long long)p->st.committed,
            (unsigned long long)p->st.retries, (unsigned long long)p->st.parked,
            (unsigned long long)p->st.forced, (long long)p->st.ms_poll,
            (long long)p->st.ms_sink, (long long)p->st.ms_fx,
            (long long)p->st.ms_commit, (long long)p->st.ms_wait);
}

/* Give up retrying? While running: when *stop is set. While draining at
 * shutdown: when the drain deadline has passed. */
static int should_quit(const struct profiler *p)
{
        if (p->drain_until_ms)
                return crmsync_mono_ms() >= p->drain_until_ms;
        return *p->stop != 0;
}

/* Sleep ms in slices, returning early (1) when giving up. */
static int nap(struct profiler *p, int64_t ms)
{
        int64_t end = crmsync_mono_ms() + ms;
        while (!should_quit(p)) {
                int64_t left = end - crmsync_mono_ms();
                if (left <= 0)
                        return 0;
                if (left > 50)
                        left = 50;
                struct timespec ts = {0, (long)left * 1000000L};
                nanosleep(&ts, NULL);
        }
        return 1;
}

/* ---- offsets ----------------------------------------------------------- */

static int note_offset(struct profiler *p, int32_t partition, int64_t offset)
{
        for (size_t i = 0; i < p->noffs; i++) {
                if (p->offs[i].partition == partition) {
                        if (offset + 1 > p->offs[i].next_offset)
                                p->offs[i].next_offset = offset + 1;
                        return 0;
                }
        }
        if (crmsync_array_grow(&p->offs, &p->offs_cap, p->noffs,
                               sizeof(*p->offs), 16))
                return -1;
        p->offs[p->noffs].partition   = partition;
        p->offs[p->noffs].next_offset = offset + 1;
        p->noffs++;
        return 0;
}

/* Commit the offsets read so far, but never past an op not yet written
 * (unless unsafe: the commit-before-sink-ack bug). Synchronous; retried a
 * few times on transient errors (a lost commit only means a harmless
 * redelivery). */
static void commit_offsets(struct profiler *p, int unsafe)
{
        /* The lineage of what is about to be committed is on disk first
         * (a profiler killed before that only loses the lines of records
         * that its successor is given, and reads, again). */
        if (p->reads)
                fflush(p->reads);
        if (!p->noffs)
                return;
        rd_kafka_topic_partition_list_t *l =
            rd_kafka_topic_partition_list_new((int)p->noffs);
        for (size_t i = 0; i < p->noffs; i++) {
                int64_t off = p->offs[i].next_offset;
                for (size_t k = 0; !unsafe && k < p->nents; k++)
                        if (!p->ents[k].done &&
                            p->ents[k].partition == p->offs[i].partition &&
                            p->ents[k].offset < off)
                                off = p->ents[k].offset;
                rd_kafka_topic_partition_list_add(l, p->cfg->topic,
                                                  p->offs[i].partition)
                    ->offset = off;
        }
        int64_t t0 = crmsync_mono_ms();
        for (int attempt = 0; attempt < 3; attempt++) {
                rd_kafka_resp_err_t err = rd_kafka_commit(p->rk, l, 0);
                if (!err || err == RD_KAFKA_RESP_ERR__NO_OFFSET) {
                        p->st.committed++;
                        break;
                }
                profiler_log("commit failed: %s%s", rd_kafka_err2str(err),
                             attempt < 2 ? " (retrying)" : "");
                if (err == RD_KAFKA_RESP_ERR__STATE ||
                    err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
                    err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID || nap(p, 100))
                        break;
        }
        rd_kafka_topic_partition_list_destroy(l);
        p->st.ms_commit += crmsync_mono_ms() - t0;
}

/* Drop everything held, written or not (partitions revoked, stopping).
 * Unwritten records are uncommitted: forget their ids so that a
 * redelivery to us is not taken for a duplicate. */
void profiler_batch_reset(struct profiler *p)
{
        for (size_t i = 0; i < p->nents; i++) {
                if (!p->ents[i].done && p->dedupe)
                        profiler_dedupe_forget(p->dedupe,
                                               p->ents[i].op.event_id);
                profiler_op_clear(&p->ents[i].op);
        }
        p->nents = 0;
        p->noffs = 0;
        p->nmsgs = 0;
        p->nfx   = 0;
}

/* After a flush: keep only the parked ops (they carry over). */
static size_t batch_compact(struct profiler *p)
{
        size_t k = 0;
        for (size_t i = 0; i < p->nents; i++) {
                if (p->ents[i].done)
                        profiler_op_clear(&p->ents[i].op);
                else
                        p->ents[k++] = p->ents[i];
        }
        p->nents = k;
        p->nmsgs = 0;
        p->nfx   = 0;
        return k;
}

/* ---- the sink write ---------------------------------------------------- */

static int add_fx(struct profiler *p, const struct prof_op *op)
{
        if (crmsync_array_grow(&p->fx, &p->fx_cap, p->nfx, sizeof(*p->fx), 64))
                return -1;
        struct side_fx *f = &p->fx[p->nfx++];
        snprintf(f->event_id, sizeof(f->event_id), "%s", op->event_id);
        snprintf(f->key, sizeof(f->key), "%s/%s", op->entity, op->record_id);
        f->kind = op->side_effect;
        f->sent = 0;
        return 0;
}

/* The per-op results of the last bulk reply, exactly n of them: the
 * scanner's, or jansson's when the scanner does not take the reply. 0,
 * or -1 when the reply is unreadable; json_decref *tree after use. */
static int read_results(struct profiler *p, struct prof_result *out, size_t n,
                        json_t **tree)
{
        *tree = NULL;
        if (profiler_reply_scan(p->sink->buf, strlen(p->sink->buf), out, n) ==
            0)
                return 0;
        return profiler_reply_json(p->sink->buf, out, n, tree);
}

/* Read the per-op results of one bulk reply for the pending ops idx[0..n).
 * Returns how many were applied, or -1 when the reply is unreadable
 * (retry the request). */
static int take_results(struct profiler *p, const size_t *idx, size_t n)
{
        int                 applied = 0;
        json_t             *tree;
        struct prof_result *res = malloc(n * sizeof(*res));
        if (!res || read_results(p, res, n, &tree)) {
                free(res);
                json_decref(tree);
                return -1;
        }
        for (size_t k = 0; k < n; k++) {
                struct prof_pending *e  = &p->ents[idx[k]];
                int                  st = res[k].status;
                e->status               = st;
                if (st == 500 || st == 0)
                        continue; /* retried */
                if (st == 409 && res[k].is_gap) {
                        if (!e->parked_since_ms) {
                                e->parked_since_ms = crmsync_mono_ms();
                                p->st.parked++;
                        }
                        e->parked = 1;
                        continue;
                }
                e->done = 1;
                int fx  = 0;
                if (st == 200) {
                        p->st.applied++;
                        applied++;
                        fx = 1;
                } else if (st == 409) {
                        p->st.stale++;
                        /* Without dedupe the pipeline trusts each
                         * delivery and fires its effect again. */
                        fx = (p->cfg->bugs & CRMSYNC_BUG_NO_DEDUPE) != 0;
                } else {
                        p->st.failed++;
                        profiler_log("sink rejected %s (%s/%s v%u): %d %.*s",
                                     e->op.event_id, e->op.entity,
                                     e->op.record_id, e->op.version, st,
                                     res[k].msg ? res[k].msg_len : 0,
                                     res[k].msg ? res[k].msg : "");
                }
                if (fx && e->op.side_effect && !p->cfg->no_side_effects &&
                    add_fx(p, &e->op))
                        profiler_log("out of memory queueing a side effect");
        }
        free(res);
        json_decref(tree);
        return applied;
}

/* Whether another op of the batch touches the same record and is not
 * parked itself: a newly read op (maybe the missing predecessor) or one
 * applied during this flush. Only then can a parked op succeed. */
static int record_progressed(const struct profiler *p, size_t i)
{
        const struct prof_op *op = &p->ents[i].op;
        for (size_t j = 0; j < p->nents; j++)
                if (j != i && !p->ents[j].parked &&
                    !strcmp(p->ents[j].op.record_id, op->record_id) &&
                    !strcmp(p->ents[j].op.entity, op->entity))
                        return 1;
        return 0;
}

/* Parked ops get another try after progress on their record; past the
 * deadline (or the cap) they are sent without the precondition: their
 * predecessor is lost upstream, and the checker will see what that did.
 * Returns how many became sendable. */
static size_t unpark(struct profiler *p, int progress, int64_t now)
{
        size_t n = 0, parked = 0;
        for (size_t i = 0; i < p->nents; i++)
                parked += p->ents[i].parked;
        for (size_t i = 0; i < p->nents; i++) {
                struct prof_pending *e = &p->ents[i];
                if (!e->parked)
                        continue;
                if (now - e->parked_since_ms >= PROFILER_PARK_MAX_MS ||
                    parked > PROFILER_PARK_CAP) {
                        profiler_log("%s/%s v%u: v%u never came after %lld ms; "
                                     "applying without it",
                                     e->op.entity, e->op.record_id,
                                     e->op.version, e->op.version - 1,
                                     (long long)(now - e->parked_since_ms));
                        e->op.if_version = -1;
                        p->st.forced++;
                        parked--;
                } else if (!progress || !record_progressed(p, i)) {
                        continue;
                }
                e->parked = 0;
                n++;
        }
        return n;
}

/* POST with retries until a 200 (or *stop). Returns 0 or -1 (stopped). */
static int post_until_ok(struct profiler *p, const char *path,
                         const char *ctype, const char *body, size_t len)
{
        char err[256];
        for (unsigned attempt = 0;; attempt++) {
                long st = profiler_http_post(p->sink, path, ctype, body, len,
                                             err, sizeof(err));
                if (st == 200)
                        return 0;
                int64_t now = crmsync_mono_ms();
                if (now - p->last_err_log_ms >= 1000 || attempt == 0) {
                        if (st)
                                profiler_log(
                                    "POST %s: HTTP %ld %.*s (retry %u)", path,
                                    st,
                                    (int)strcspn(p->sink->buf, "\r\n") > 200
                                        ? 200
                                        : (int)strcspn(p->sink->buf, "\r\n"),
                                    p->sink->buf, attempt + 1);
                        else
                                profiler_log("%s (retry %u)", err, attempt + 1);
                        p->last_err_log_ms = now;
                }
                p->st.retries++;
                if (nap(p,
                        profiler_backoff_ms(attempt, p->sink->retry_after_ms)))
                        return -1;
        }
}

/* The due side effects of the flush, in one bulk request per round
 * (POST /v1/side-effects/_bulk, one result each); the ones that did not
 * get a 200 are sent again, with backoff, until all did (or stop).
 * Returns 0 or -1 (stopped, or out of memory). */
static int send_side_effects(struct profiler *p)
{
        size_t   left  = p->nfx;
        unsigned fails = 0;
        int64_t  t0    = crmsync_mono_ms();

        while (left > 0) {
                char  *body = NULL;
                size_t len = 0, k = 0;
                FILE  *fp = open_memstream(&body, &len);
                if (!fp)
                        return -1;
                for (size_t i = 0; i < p->nfx; i++) {
                        if (p->fx[i].sent)
                                continue;
                        json_t *b = json_pack(
                            "{s:s,s:s,s:s}", "event_id", p->fx[i].event_id,
                            "kind", p->fx[i].kind, "key", p->fx[i].key);
                        json_dumpf(b, fp, JSON_COMPACT);
                        fputc('\n', fp);
                        json_decref(b);
                }
                fclose(fp);
                int posted =
                    post_until_ok(p, "/v1/side-effects/_bulk",
                                  "application/x-ndjson", body, len) == 0;
                free(body);
                if (!posted)
                        return -1;
                json_t *r   = json_loads(p->sink->buf, 0, NULL);
                json_t *res = json_object_get(r, "results");
                if (json_is_array(res) && json_array_size(res) == left) {
                        for (size_t i = 0; i < p->nfx; i++) {
                                if (p->fx[i].sent)
                                        continue;
                                json_t *o = json_array_get(res, k++);
                                if (json_integer_value(
                                        json_object_get(o, "status")) == 200) {
                                        p->fx[i].sent = 1;
                                        p->st.side_effects++;
                                        left--;
                                }
                        }
                } else {
                        profiler_log("unreadable side-effect reply: %.200s",
                                     p->sink->buf);
                }
                json_decref(r);
                if (!left)
                        break;
                p->st.retries++;
                if (nap(p, profiler_backoff_ms(fails++, -1)))
                        return -1;
        }
        p->nfx = 0;
        p->st.ms_fx += crmsync_mono_ms() - t0;
        return 0;
}

/* Wait for DLQ deliveries so that their offsets may be committed. */
int profiler_flush_dlq(struct profiler *p)
{
        while (rd_kafka_outq_len(p->dlq) > 0) {
                if (should_quit(p))
                        return -1;
                rd_kafka_flush(p->dlq, DLQ_FLUSH_SLICE_MS);
        }
        return 0;
}

/* Write the batch to the sink until every op has a final result or is
 * parked, send the due side effects, then commit the offsets covered (up
 * to the first parked op of each partition). Parked ops carry over to the
 * next flush. Returns 0, or -1 when giving up (stop): nothing more is
 * committed and the batch will be redelivered. */
int profiler_flush_batch(struct profiler *p)
{
        size_t               *idx      = NULL;
        unsigned              fails    = 0; /* rounds with failures */
        int                   progress = 0;
        int                   rc       = -1;
        struct crmsync_dynbuf body;

        crmsync_dynbuf_init(&body, PROFILER_BODY_MAX);

        p->last_flush_ms = crmsync_mono_ms();
        if (!p->nmsgs && !p->nents)
                return 0;
        if (p->nents && !(idx = malloc(p->nents * sizeof(*idx))))
                return -1;
        /* The bug: commit what was read before writing it, so a crash
         * before the sink acknowledged loses the batch. The writer
         * thread's batch was committed when the loop read it (poll_once);
         * committing it again here could move the offset back behind a
         * batch the loop committed since. */
        if ((p->cfg->bugs & CRMSYNC_BUG_COMMIT_BEFORE_SINK_ACK) &&
            !p->is_writer)
                commit_offsets(p, 1);
        unpark(p, 1, p->last_flush_ms); /* new ops may be predecessors */
        for (;;) {
                size_t n = profiler_pick_round(p->ents, p->nents, idx);
                if (n == (size_t)-1)
                        goto out;
                if (!n) {
                        if (progress && unpark(p, 1, crmsync_mono_ms()) > 0) {
                                progress = 0;
                                continue;
                        }
                        if (unpark(p, 0, crmsync_mono_ms()) > 0)
                                continue; /* forced */
                        break;
                }
                /* The ops' lines, written directly: each op's fields go
                 * out as the text they came in. */
                crmsync_dynbuf_reset(&body);
                for (size_t k = 0; k < n; k++)
                        if (profiler_op_write(&p->ents[idx[k]].op, &body))
                                goto out; /* out of memory */
                int64_t t0     = crmsync_mono_ms();
                int     posted = post_until_ok(p, "/v1/profiles/_bulk",
                                               "application/x-ndjson",
                                               crmsync_dynbuf_ptr(&body),
                                               crmsync_dynbuf_len(&body)) == 0;
                p->st.ms_sink += crmsync_mono_ms() - t0;
                if (!posted)
                        goto out; /* only when giving up (stop) */
                int    applied = take_results(p, idx, n);
                size_t left    = n; /* unreadable reply: all again */
                if (applied >= 0) {
                        progress |= applied > 0;
                        left = 0; /* per-op 500s are retried */
                        for (size_t k = 0; k < n; k++)
                                left += !p->ents[idx[k]].done &&
                                        !p->ents[idx[k]].parked;
                } else {
                        profiler_log("unreadable bulk reply: %.200s",
                                     p->sink->buf);
                }
                if (!left) {
                        fails = 0;
                        continue;
                }
                /* Back off harder only while nothing gets through. */
                if (applied > 0)
                        fails = 0;
                p->st.retries++;
                if (nap(p, profiler_backoff_ms(fails++, -1)))
                        goto out;
        }
        /* The writer thread's batches: the loop flushed the DLQ before
         * handing the batch over (profiler_writer.c). */
        if (send_side_effects(p) || (!p->is_writer && profiler_flush_dlq(p)))
                goto out;
        if (!(p->cfg->bugs & CRMSYNC_BUG_COMMIT_BEFORE_SINK_ACK))
                commit_offsets(p, 0);
        batch_compact(p);
        rc = 0;
out:
        crmsync_dynbuf_free(&body);
        free(idx);
        return rc;
}

/* ---- messages ---------------------------------------------------------- */

static void dead_letter(struct profiler *p, const rd_kafka_message_t *m,
                        const char *reason)
{
        rd_kafka_headers_t *h = rd_kafka_headers_new(2);
        rd_kafka_header_add(h, "dlq_reason", -1, reason, -1);
        rd_kafka_header_add(h, "source_topic", -1, p->cfg->topic, -1);
        for (int attempt = 0;; attempt++) {
                rd_kafka_resp_err_t err = rd_kafka_producev(
                    p->dlq, RD_KAFKA_V_TOPIC(p->cfg->dlq_topic),
                    RD_KAFKA_V_KEY(m->key, m->key_len),
                    RD_KAFKA_V_VALUE(m->payload, m->len),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
                if (!err)
                        break; /* headers now owned by librdkafka */
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || attempt > 100 ||
                    *p->stop) {
                        profiler_log("DLQ produce failed: %s",
                                     rd_kafka_err2str(err));
                        rd_kafka_headers_destroy(h);
                        break;
                }
                rd_kafka_poll(p->dlq, 10);
        }
        p->st.dlq++;
}

static int add_op(struct profiler *p, struct prof_op *op, int32_t partition,
                  int64_t offset)
{
        if (crmsync_array_grow(&p->ents, &p->ents_cap, p->nents,
                               sizeof(*p->ents), 64))
                return -1;
        struct prof_pending *e = &p->ents[p->nents++];
        memset(e, 0, sizeof(*e));
        e->op        = *op; /* takes op->fields */
        e->partition = partition;
        e->offset    = offset;
        memset(op, 0, sizeof(*op));
        return 0;
}

static void handle_message(struct profiler *p, const rd_kafka_message_t *m)
{
        struct prof_op op;
        char           reason[256];

        p->st.consumed++;
        if (!p->nmsgs)
                p->first_ms = crmsync_mono_ms();
        p->nmsgs++;
        note_offset(p, m->partition, m->offset);
        if (profiler_map_event(m->payload, m->len, p->cfg->bugs, &op, reason,
                               sizeof(reason))) {
                dead_letter(p, m, reason);
                return;
        }
        if (p->reads)
                fprintf(p->reads, "%lld\t%s\t%d\t%lld\n",
                        (long long)crmsync_wall_ms(), op.event_id,
                        (int)m->partition, (long long)m->offset);
        if (!(p->cfg->bugs & CRMSYNC_BUG_NO_DEDUPE) &&
            !profiler_dedupe_add(p->dedupe, op.event_id)) {
                p->st.dup++;
                profiler_op_clear(&op);
                return;
        }
        /* A bounded-domain rebuild leaves other accounts' records alone
         * (the op's account is the record's owner after the change). */
        if (p->has_domain && op.action != PROF_SKIP &&
            !crmsync_domain_contains(&p->domain, op.account_id))
                op.action = PROF_SKIP;
        if (op.action == PROF_SKIP) {
                p->st.skipped++;
                profiler_op_clear(&op);
                return;
        }
        if (add_op(p, &op, m->partition, m->offset)) {
                profiler_log("out of memory: dead-lettering %s", op.event_id);
                dead_letter(p, m, "profiler out of memory");
                profiler_op_clear(&op);
        }
}

/* ---- the loop ---------------------------------------------------------- */

static int check_config(const struct profiler_config *cfg, char *errstr,
                        size_t errstr_size)
{
        if (!cfg->topic || !*cfg->topic || !cfg->dlq_topic ||
            !*cfg->dlq_topic || !cfg->group_id || !*cfg->group_id)
                return crmsync_err(errstr, errstr_size,
                                   "profiler: topic, dlq_topic and group_id "
                                   "are required");
        if ((!cfg->bootstrap || !*cfg->bootstrap) && !cfg->kafka_config)
                return crmsync_err(errstr, errstr_size,
                                   "profiler: no bootstrap servers (and no "
                                   "kafka config file)");
        return 0;
}

/* Everything the loop needs: the sink client, the dedupe set, the replay
 * domain and start offsets, the Kafka clients and the read log. */
static int profiler_open(struct profiler *p, char *errstr, size_t errstr_size)
{
        const struct profiler_config *cfg = p->cfg;

        if (profiler_http_init(&p->http, cfg->sink_url, errstr, errstr_size))
                return -1;
        p->sink           = &p->http;
        p->http.fx_repeat = (cfg->bugs & CRMSYNC_BUG_NO_DEDUPE) != 0;
        if (!(p->dedupe = profiler_dedupe_new(PROFILER_DEDUPE_CAP)))
                return crmsync_err(errstr, errstr_size,
                                   "profiler: out of memory (dedupe set)");
        if (cfg->domain) {
                if (crmsync_domain_parse(cfg->domain, &p->domain, errstr,
                                         errstr_size))
                        return -1;
                p->has_domain = 1;
        }
        if (cfg->start_offsets) {
                if (!(p->start_offs = malloc(CRMSYNC_START_OFFSETS_MAX *
                                             sizeof(*p->start_offs))))
                        return crmsync_err(errstr, errstr_size,
                                           "profiler: out of memory");
                if (crmsync_start_offsets_parse(
                        cfg->start_offsets, p->start_offs,
                        CRMSYNC_START_OFFSETS_MAX, errstr, errstr_size))
                        return -1;
                profiler_log("partitions without a committed offset start at "
                             "the run's start offsets %s",
                             cfg->start_offsets);
        }
        if (profiler_open_kafka(p, errstr, errstr_size))
                return -1;
        /* Lineage: one line per record read (wall ms, event id, partition,
         * offset), when the harness asks for it. */
        if (getenv("CRMSYNC_READ_LOG") &&
            (p->reads = fopen(getenv("CRMSYNC_READ_LOG"), "a")))
                setvbuf(p->reads, NULL, _IOFBF, 1 << 16);
        return profiler_writer_start(p, errstr, errstr_size);
}

/* One round of the loop: poll a message (at most until the batch's
 * linger ends), serve the DLQ producer, flush when the batch is due and
 * print stats now and then. Returns -1 on a fatal Kafka error. */
static int poll_once(struct profiler *p, uint32_t batch_size,
                     uint32_t linger_ms, char *errstr, size_t errstr_size)
{
        int64_t             now     = crmsync_mono_ms();
        int                 timeout = 100;
        rd_kafka_message_t *m;

        if (p->nmsgs) {
                int64_t left = p->first_ms + linger_ms - now;
                timeout      = left < 0 ? 0 : left < 100 ? (int)left : 100;
                /* Due, but the writer is busy: poll a little for more
                 * records (not a busy loop), then look at it again. */
                if (!timeout && profiler_writer_busy(p))
                        timeout = PROFILER_BUSY_POLL_MS;
        }
        m = rd_kafka_consumer_poll(p->rk, timeout);
        p->st.ms_poll += crmsync_mono_ms() - now;
        if (m) {
                if (!m->err)
                        handle_message(p, m);
                else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        profiler_error_cb(p->rk, m->err,
                                          rd_kafka_message_errstr(m), p);
                rd_kafka_message_destroy(m);
        }
        rd_kafka_poll(p->dlq, 0);
        if (rd_kafka_fatal_error(p->rk, NULL, 0) ||
            rd_kafka_fatal_error(p->dlq, NULL, 0)) {
                char        fe[256];
                rd_kafka_t *bad =
                    rd_kafka_fatal_error(p->rk, NULL, 0) ? p->rk : p->dlq;
                rd_kafka_fatal_error(bad, fe, sizeof(fe));
                return crmsync_err(errstr, errstr_size,
                                   "profiler: fatal kafka error: %s", fe);
        }
        now = crmsync_mono_ms();
        if ((p->nmsgs &&
             (p->nents >= batch_size || p->nmsgs >= 4 * (size_t)batch_size ||
              now - p->first_ms >= linger_ms)) ||
            (p->nents && now - p->last_flush_ms >= 200)) {
                /* Due: to the writer thread. While it writes the batch
                 * before, read on, up to PROFILER_READ_AHEAD batches'
                 * worth, and wait for it only then. */
                int full =
                    p->nents >= PROFILER_READ_AHEAD * (size_t)batch_size ||
                    p->nmsgs >= 4 * PROFILER_READ_AHEAD * (size_t)batch_size;
                /* The bug commits a batch once it is read, even while the
                 * writer still retries the one before: a crash then loses
                 * what was read, whichever batch the sink's outage caught
                 * (also one whose write the sink applied but whose answer
                 * was cut). */
                if ((p->cfg->bugs & CRMSYNC_BUG_COMMIT_BEFORE_SINK_ACK) &&
                    p->nmsgs != p->bug_committed_msgs) {
                        commit_offsets(p, 1);
                        p->bug_committed_msgs = p->nmsgs;
                }
                if (profiler_writer_submit(p, full))
                        p->bug_committed_msgs = 0;
        } else {
                profiler_writer_busy(p); /* take a finished batch back */
        }
        if (now - p->last_stats_ms >= PROFILER_STATS_EVERY_MS) {
                print_stats(p);
                p->last_stats_ms = now;
        }
        return 0;
}

/* Clean stop: write and commit what we hold, retrying for a few seconds
 * at most; what cannot be written stays uncommitted and is redelivered to
 * the next profiler. */
static void drain(struct profiler *p)
{
        profiler_writer_wait(p);
        p->drain_until_ms = crmsync_mono_ms() + 5000;
        if (profiler_flush_batch(p) || p->nents) {
                profiler_log("stopping with %zu record(s) unwritten (%s)",
                             p->nents + p->nmsgs,
                             (p->cfg->bugs & CRMSYNC_BUG_COMMIT_BEFORE_SINK_ACK)
                                 ? "offsets already committed: lost"
                                 : "uncommitted: they will be redelivered");
                profiler_batch_reset(p);
        }
}

static void profiler_free(struct profiler *p)
{
        profiler_writer_stop(p); /* before the clients it uses go */
        if (p->dlq) {
                rd_kafka_flush(p->dlq, 2000);
                rd_kafka_destroy(p->dlq);
        }
        if (p->rk)
                rd_kafka_destroy(p->rk);
        profiler_batch_reset(p);
        free(p->ents);
        free(p->offs);
        free(p->fx);
        profiler_dedupe_free(p->dedupe);
        profiler_http_fini(&p->http);
        if (p->reads)
                fclose(p->reads);
        crmsync_domain_clear(&p->domain);
        free(p->start_offs);
}

int crmsync_profiler_run(const struct profiler_config *cfg,
                         volatile sig_atomic_t *stop, char *errstr,
                         size_t errstr_size)
{
        struct profiler p;
        uint32_t        batch_size = cfg->batch_size ? cfg->batch_size : 500;
        uint32_t        linger_ms  = cfg->linger_ms ? cfg->linger_ms : 50;
        int             rc         = -1;

        memset(&p, 0, sizeof(p));
        p.cfg  = cfg;
        p.stop = stop;
        if (check_config(cfg, errstr, errstr_size))
                return -1;
        if (profiler_open(&p, errstr, errstr_size))
                goto out;
        profiler_log("consuming %s as group %s, writing to %s (batch %u, "
                     "linger %u ms, bugs 0x%x)",
                     cfg->topic, cfg->group_id, p.http.base_url, batch_size,
                     linger_ms, cfg->bugs);
        p.last_stats_ms = crmsync_mono_ms();
        while (!*stop)
                if (poll_once(&p, batch_size, linger_ms, errstr, errstr_size))
                        goto out_close;
        drain(&p);
        rc = 0;
out_close:
        if (p.rk) {
                if (!p.drain_until_ms)
                        p.drain_until_ms = crmsync_mono_ms() + 1;
                rd_kafka_consumer_close(p.rk);
        }
        print_stats(&p);
out:
        profiler_free(&p);
        return rc;
}
