/* profiler_writer.c -- the profiler's writer thread: it writes one batch
 * to the sink (bulk rounds, side effects, offset commit, exactly as
 * profiler_flush_batch does on the loop's thread) while the loop reads
 * and parses the next records. Offsets are still committed only for what
 * the sink acknowledged, and one batch is in flight at a time, so the
 * sink sees the batches in read order. */
#include "profiler_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/common.h"

enum writer_state {
        W_IDLE, /* nothing in flight, fly is empty */
        W_BUSY, /* the thread is writing fly */
        W_DONE, /* fly written (or given up): the loop takes it back */
};

struct prof_writer {
        pthread_t         thr;
        pthread_mutex_t   mu;
        pthread_cond_t    cv;
        enum writer_state state;
        int               quit;
        struct profiler   fly; /* the batch in flight; its own stats */
};

static void *writer_main(void *arg)
{
        struct prof_writer *w = arg;

        pthread_mutex_lock(&w->mu);
        for (;;) {
                while (w->state != W_BUSY && !w->quit)
                        pthread_cond_wait(&w->cv, &w->mu);
                if (w->state != W_BUSY)
                        break;
                pthread_mutex_unlock(&w->mu);
                profiler_flush_batch(&w->fly); /* -1 only when stopping */
                pthread_mutex_lock(&w->mu);
                w->state = W_DONE;
                pthread_cond_broadcast(&w->cv);
        }
        pthread_mutex_unlock(&w->mu);
        return NULL;
}

int profiler_writer_start(struct profiler *p, char *errstr, size_t errstr_size)
{
        struct prof_writer *w = calloc(1, sizeof(*w));
        if (!w)
                return crmsync_err(errstr, errstr_size,
                                   "profiler: out of memory (writer)");
        w->fly.cfg       = p->cfg;
        w->fly.stop      = p->stop;
        w->fly.rk        = p->rk;
        w->fly.dlq       = p->dlq;
        w->fly.sink      = p->sink;
        w->fly.reads     = p->reads;
        w->fly.is_writer = 1;
        w->state         = W_IDLE;
        if (pthread_mutex_init(&w->mu, NULL)) {
                free(w);
                return crmsync_err(errstr, errstr_size,
                                   "profiler: writer mutex failed");
        }
        pthread_cond_init(&w->cv, NULL);
        if (pthread_create(&w->thr, NULL, writer_main, w)) {
                pthread_cond_destroy(&w->cv);
                pthread_mutex_destroy(&w->mu);
                free(w);
                return crmsync_err(errstr, errstr_size,
                                   "profiler: writer thread failed");
        }
        p->writer = w;
        return 0;
}

static void add_stats(struct stats *to, const struct stats *from)
{
        to->ms_sink += from->ms_sink;
        to->ms_fx += from->ms_fx;
        to->ms_commit += from->ms_commit;
        to->applied += from->applied;
        to->stale += from->stale;
        to->failed += from->failed;
        to->committed += from->committed;
        to->retries += from->retries;
        to->side_effects += from->side_effects;
        to->parked += from->parked;
        to->forced += from->forced;
}

/* Grow *arr (n used, *cap room, elem bytes) to hold need; -1 on ENOMEM. */
static int reserve(void **arr, size_t *cap, size_t need, size_t elem)
{
        if (need <= *cap)
                return 0;
        size_t c = *cap ? *cap : 64;
        while (c < need)
                c *= 2;
        void *q = realloc(*arr, c * elem);
        if (!q)
                return -1;
        *arr = q;
        *cap = c;
        return 0;
}

/* fly's leftovers (older) in front of p's batch (newer): ops in read
 * order, side effects, offsets (highest per partition), message count.
 * Called with the lock held and the writer not busy. */
static void take_back(struct profiler *p, struct profiler *f)
{
        size_t n = f->nents + p->nents, nfx = f->nfx + p->nfx;

        add_stats(&p->st, &f->st);
        memset(&f->st, 0, sizeof(f->st));
        /* On ENOMEM the newer ops are dropped uncommitted (redelivered
         * later), never the older ones the writer may have applied. */
        if (reserve((void **)&f->ents, &f->ents_cap, n, sizeof(*f->ents))) {
                profiler_batch_reset(p);
                n = f->nents;
        } else if (p->nents) {
                memcpy(f->ents + f->nents, p->ents,
                       p->nents * sizeof(*p->ents));
        }
        if (!reserve((void **)&f->fx, &f->fx_cap, nfx, sizeof(*f->fx))) {
                if (p->nfx)
                        memcpy(f->fx + f->nfx, p->fx, p->nfx * sizeof(*p->fx));
                p->nfx = nfx;
        } else {
                p->nfx = f->nfx; /* out of memory: the newer are lost */
        }
        struct prof_pending *e  = p->ents;
        size_t               c  = p->ents_cap;
        struct side_fx      *x  = p->fx;
        size_t               xc = p->fx_cap;
        p->ents = f->ents, p->ents_cap = f->ents_cap, p->nents = n;
        p->fx = f->fx, p->fx_cap = f->fx_cap;
        f->ents = e, f->ents_cap = c, f->nents = 0;
        f->fx = x, f->fx_cap = xc, f->nfx = 0;
        for (size_t i = 0; i < f->noffs; i++) {
                size_t k = 0;
                while (k < p->noffs &&
                       p->offs[k].partition != f->offs[i].partition)
                        k++;
                if (k == p->noffs) {
                        if (reserve((void **)&p->offs, &p->offs_cap, k + 1,
                                    sizeof(*p->offs)))
                                continue; /* not committed: redelivered */
                        p->offs[p->noffs++] = f->offs[i];
                } else if (f->offs[i].next_offset > p->offs[k].next_offset) {
                        p->offs[k].next_offset = f->offs[i].next_offset;
                }
        }
        f->noffs = 0;
        if (f->nmsgs && (!p->nmsgs || f->first_ms < p->first_ms))
                p->first_ms = f->first_ms;
        p->nmsgs += f->nmsgs;
        f->nmsgs = 0;
}

/* With the lock held: take back a finished batch. */
static void reap_locked(struct profiler *p, struct prof_writer *w)
{
        if (w->state == W_DONE) {
                take_back(p, &w->fly);
                w->state = W_IDLE;
        }
}

int profiler_writer_busy(struct profiler *p)
{
        struct prof_writer *w = p->writer;
        int                 busy;
        if (!w)
                return 0;
        pthread_mutex_lock(&w->mu);
        reap_locked(p, w);
        busy = w->state == W_BUSY;
        pthread_mutex_unlock(&w->mu);
        return busy;
}

void profiler_writer_wait(struct profiler *p)
{
        struct prof_writer *w = p->writer;
        if (!w)
                return;
        int64_t t0 = crmsync_mono_ms();
        pthread_mutex_lock(&w->mu);
        while (w->state == W_BUSY)
                pthread_cond_wait(&w->cv, &w->mu);
        reap_locked(p, w);
        pthread_mutex_unlock(&w->mu);
        p->st.ms_wait += crmsync_mono_ms() - t0;
}

int profiler_writer_submit(struct profiler *p, int wait)
{
        struct prof_writer *w = p->writer;
        struct profiler    *f;

        if (wait)
                profiler_writer_wait(p);
        else if (profiler_writer_busy(p))
                return 0;
        /* Dead-lettered records must be delivered before the writer may
         * commit their offsets; the writer does not touch the producer. */
        if (profiler_flush_dlq(p))
                return 0;
        pthread_mutex_lock(&w->mu);
        f = &w->fly; /* idle: empty, and only this thread touches it */
        struct prof_pending *e  = f->ents;
        size_t               c  = f->ents_cap;
        struct part_off     *o  = f->offs;
        size_t               oc = f->offs_cap;
        struct side_fx      *x  = f->fx;
        size_t               xc = f->fx_cap;
        f->ents = p->ents, f->ents_cap = p->ents_cap, f->nents = p->nents;
        f->offs = p->offs, f->offs_cap = p->offs_cap, f->noffs = p->noffs;
        f->fx = p->fx, f->fx_cap = p->fx_cap, f->nfx = p->nfx;
        f->nmsgs    = p->nmsgs;
        f->first_ms = p->first_ms;
        p->ents = e, p->ents_cap = c, p->nents = 0;
        p->offs = o, p->offs_cap = oc, p->noffs = 0;
        p->fx = x, p->fx_cap = xc, p->nfx = 0;
        p->nmsgs         = 0;
        p->last_flush_ms = crmsync_mono_ms();
        w->state         = W_BUSY;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        return 1;
}

void profiler_writer_stop(struct profiler *p)
{
        struct prof_writer *w = p->writer;
        if (!w)
                return;
        profiler_writer_wait(p);
        pthread_mutex_lock(&w->mu);
        w->quit = 1;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thr, NULL);
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w->fly.ents);
        free(w->fly.offs);
        free(w->fly.fx);
        free(w);
        p->writer = NULL;
}
