/* crm_metrics.c -- tiny Prometheus text exposition (counters and gauges). */
#include "crm_metrics.h"

#include <event2/buffer.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmsync/hash.h"

enum mtype { MT_COUNTER, MT_GAUGE };

struct family {
        char      *name;
        char      *help; /* NULL = none */
        enum mtype type;
        int        has_type;    /* 0 until the first sample fixes the type */
        int32_t    first, last; /* series list in creation order (-1) */
};

struct series {
        int32_t  family;
        int32_t  next;     /* next series of the same family, or -1 */
        char    *key;      /* "name\x01raw labels": hash key */
        char    *rendered; /* "{k=\"v\",...}" or "" */
        uint64_t count;    /* counters */
        double   value;    /* gauges */
};

struct crm_metrics {
        pthread_mutex_t lock;
        uint32_t        max_series;
        struct family  *fam;
        uint32_t        fam_cnt;
        struct series  *ser;
        uint32_t        ser_cnt;
        int32_t        *slots; /* open addressing: series index or -1 */
        uint32_t        slot_mask;
        uint64_t        dropped;
};

crm_metrics_t *crmsync_metrics_new(uint32_t max_series)
{
        crm_metrics_t *m;
        uint32_t       slots = 16;

        if (max_series == 0)
                max_series = 4096;
        if (max_series > (1u << 20))
                max_series = 1u << 20;
        while (slots < max_series * 2)
                slots <<= 1;
        m = calloc(1, sizeof(*m));
        if (!m)
                return NULL;
        m->max_series = max_series;
        m->fam        = calloc(max_series, sizeof(*m->fam));
        m->ser        = calloc(max_series, sizeof(*m->ser));
        m->slots      = malloc(sizeof(*m->slots) * slots);
        if (!m->fam || !m->ser || !m->slots) {
                free(m->fam);
                free(m->ser);
                free(m->slots);
                free(m);
                return NULL;
        }
        memset(m->slots, 0xff, sizeof(*m->slots) * slots);
        m->slot_mask = slots - 1;
        pthread_mutex_init(&m->lock, NULL);
        return m;
}

void crmsync_metrics_destroy(crm_metrics_t *m)
{
        if (!m)
                return;
        for (uint32_t i = 0; i < m->fam_cnt; i++) {
                free(m->fam[i].name);
                free(m->fam[i].help);
        }
        for (uint32_t i = 0; i < m->ser_cnt; i++) {
                free(m->ser[i].key);
                free(m->ser[i].rendered);
        }
        free(m->fam);
        free(m->ser);
        free(m->slots);
        pthread_mutex_destroy(&m->lock);
        free(m);
}

static int valid_name(const char *s, int allow_colon)
{
        size_t n = 0;

        if (!s || !*s)
                return 0;
        for (; *s; s++, n++) {
                char c  = *s;
                int  ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         c == '_' || (allow_colon && c == ':') ||
                         (n > 0 && c >= '0' && c <= '9');
                if (!ok || n >= CRMSYNC_METRICS_NAME_MAX)
                        return 0;
        }
        return 1;
}

/* Render "k=v,k2=v2" as {k="v",k2="v2"} into a new string; NULL when
 * malformed. */
static char *render_labels(const char *labels)
{
        size_t      len = labels ? strlen(labels) : 0;
        char       *out, *o;
        const char *p = labels;

        if (len == 0)
                return strdup("");
        if (len > CRMSYNC_METRICS_LABELS_MAX)
                return NULL;
        /* Worst case: every value byte escaped to two, plus quotes. */
        out = malloc(len * 3 + 4);
        if (!out)
                return NULL;
        o    = out;
        *o++ = '{';
        while (*p) {
                const char *eq = strchr(p, '=');
                const char *q;
                size_t      klen;

                if (!eq)
                        goto bad;
                klen = (size_t)(eq - p);
                if (klen == 0 || klen >= CRMSYNC_METRICS_NAME_MAX)
                        goto bad;
                for (q = p; q < eq; q++) {
                        char c = *q;
                        if (!((c >= 'a' && c <= 'z') ||
                              (c >= 'A' && c <= 'Z') || c == '_' ||
                              (q > p && c >= '0' && c <= '9')))
                                goto bad;
                }
                if (o != out + 1)
                        *o++ = ',';
                memcpy(o, p, klen);
                o += klen;
                *o++ = '=';
                *o++ = '"';
                for (q = eq + 1; *q && *q != ','; q++) {
                        if (*q == '\\' || *q == '"') {
                                *o++ = '\\';
                                *o++ = *q;
                        } else if (*q == '\n') {
                                *o++ = '\\';
                                *o++ = 'n';
                        } else {
                                *o++ = *q;
                        }
                }
                *o++ = '"';
                p    = q;
                if (*p == ',') {
                        p++;
                        if (!*p)
                                goto bad; /* trailing comma */
                }
        }
        *o++ = '}';
        *o   = '\0';
        return out;
bad:
        free(out);
        return NULL;
}

static int32_t family_find(crm_metrics_t *m, const char *name, int create)
{
        for (uint32_t i = 0; i < m->fam_cnt; i++)
                if (!strcmp(m->fam[i].name, name))
                        return (int32_t)i;
        if (!create || m->fam_cnt >= m->max_series)
                return -1;
        m->fam[m->fam_cnt].name = strdup(name);
        if (!m->fam[m->fam_cnt].name)
                return -1;
        m->fam[m->fam_cnt].first = -1;
        m->fam[m->fam_cnt].last  = -1;
        return (int32_t)m->fam_cnt++;
}

/* Find (or create) a series; lock held. Returns its index or -1. */
static int32_t series_get(crm_metrics_t *m, const char *name,
                          const char *labels, enum mtype type, int create)
{
        char keybuf[CRMSYNC_METRICS_NAME_MAX + CRMSYNC_METRICS_LABELS_MAX + 2];
        size_t         nlen, llen;
        uint32_t       slot;
        int32_t        fi;
        struct series *s;

        if (!valid_name(name, 1))
                return -1;
        labels = labels ? labels : "";
        nlen   = strlen(name);
        llen   = strlen(labels);
        if (llen > CRMSYNC_METRICS_LABELS_MAX)
                return -1;
        memcpy(keybuf, name, nlen);
        keybuf[nlen] = '\x01';
        memcpy(keybuf + nlen + 1, labels, llen + 1);

        slot = (uint32_t)crmsync_fnv1a64_str(keybuf) & m->slot_mask;
        for (uint32_t probe = 0; probe <= m->slot_mask; probe++) {
                int32_t idx = m->slots[slot];
                if (idx < 0)
                        break;
                if (!strcmp(m->ser[idx].key, keybuf)) {
                        if (create && m->fam[m->ser[idx].family].type != type)
                                return -1;
                        return idx;
                }
                slot = (slot + 1) & m->slot_mask;
        }
        if (!create)
                return -1;
        if (m->ser_cnt >= m->max_series) {
                m->dropped++;
                return -1;
        }
        s           = &m->ser[m->ser_cnt];
        s->rendered = render_labels(labels);
        if (!s->rendered)
                return -1;
        fi = family_find(m, name, 1);
        if (fi < 0 || (m->fam[fi].has_type && m->fam[fi].type != type)) {
                if (fi < 0)
                        m->dropped++;
                goto out_free_rendered;
        }
        s->key = strdup(keybuf);
        if (!s->key)
                goto out_free_rendered;
        s->family           = fi;
        s->next             = -1;
        m->fam[fi].type     = type;
        m->fam[fi].has_type = 1;
        if (m->fam[fi].last >= 0)
                m->ser[m->fam[fi].last].next = (int32_t)m->ser_cnt;
        else
                m->fam[fi].first = (int32_t)m->ser_cnt;
        m->fam[fi].last = (int32_t)m->ser_cnt;
        m->slots[slot]  = (int32_t)m->ser_cnt;
        return (int32_t)m->ser_cnt++;
out_free_rendered:
        free(s->rendered);
        s->rendered = NULL;
        return -1;
}

int crmsync_metrics_inc(crm_metrics_t *m, const char *name, const char *labels,
                        uint64_t delta)
{
        int32_t idx;

        if (!m)
                return -1;
        pthread_mutex_lock(&m->lock);
        idx = series_get(m, name, labels, MT_COUNTER, 1);
        if (idx >= 0)
                m->ser[idx].count += delta;
        pthread_mutex_unlock(&m->lock);
        return idx >= 0 ? 0 : -1;
}

int crmsync_metrics_set(crm_metrics_t *m, const char *name, const char *labels,
                        double value)
{
        int32_t idx;

        if (!m)
                return -1;
        pthread_mutex_lock(&m->lock);
        idx = series_get(m, name, labels, MT_GAUGE, 1);
        if (idx >= 0)
                m->ser[idx].value = value;
        pthread_mutex_unlock(&m->lock);
        return idx >= 0 ? 0 : -1;
}

int crmsync_metrics_help(crm_metrics_t *m, const char *name, const char *help)
{
        int32_t fi;
        char   *copy;
        size_t  n = 0;

        if (!m || !valid_name(name, 1) || !help)
                return -1;
        /* HELP text: escape '\\' and newline. */
        copy = malloc(strlen(help) * 2 + 1);
        if (!copy)
                return -1;
        for (const char *p = help; *p; p++) {
                if (*p == '\\') {
                        copy[n++] = '\\';
                        copy[n++] = '\\';
                } else if (*p == '\n') {
                        copy[n++] = '\\';
                        copy[n++] = 'n';
                } else {
                        copy[n++] = *p;
                }
        }
        copy[n] = '\0';
        pthread_mutex_lock(&m->lock);
        fi = family_find(m, name, 1);
        if (fi >= 0) {
                free(m->fam[fi].help);
                m->fam[fi].help = copy;
                copy            = NULL;
        }
        pthread_mutex_unlock(&m->lock);
        free(copy);
        return fi >= 0 ? 0 : -1;
}

double crmsync_metrics_get(crm_metrics_t *m, const char *name,
                           const char *labels)
{
        double  v = 0;
        int32_t idx;

        if (!m)
                return 0;
        pthread_mutex_lock(&m->lock);
        idx = series_get(m, name, labels, MT_COUNTER, 0);
        if (idx >= 0)
                v = m->fam[m->ser[idx].family].type == MT_COUNTER
                        ? (double)m->ser[idx].count
                        : m->ser[idx].value;
        pthread_mutex_unlock(&m->lock);
        return v;
}

uint64_t crmsync_metrics_dropped(crm_metrics_t *m)
{
        uint64_t d;

        if (!m)
                return 0;
        pthread_mutex_lock(&m->lock);
        d = m->dropped;
        pthread_mutex_unlock(&m->lock);
        return d;
}

static int render_value(struct evbuffer *out, const struct series *s,
                        enum mtype type)
{
        if (type == MT_COUNTER)
                return evbuffer_add_printf(out, " %llu\n",
                                           (unsigned long long)s->count);
        if (isnan(s->value))
                return evbuffer_add_printf(out, " NaN\n");
        if (isinf(s->value))
                return evbuffer_add_printf(out, " %cInf\n",
                                           s->value > 0 ? '+' : '-');
        return evbuffer_add_printf(out, " %.17g\n", s->value);
}

int crmsync_metrics_render(crm_metrics_t *m, struct evbuffer *out)
{
        int rc = 0;

        if (!m || !out)
                return -1;
        pthread_mutex_lock(&m->lock);
        for (uint32_t f = 0; f < m->fam_cnt && rc == 0; f++) {
                const struct family *fam = &m->fam[f];

                if (!fam->has_type)
                        continue; /* HELP without samples */
                if (fam->help && evbuffer_add_printf(out, "# HELP %s %s\n",
                                                     fam->name, fam->help) < 0)
                        rc = -1;
                if (rc == 0 &&
                    evbuffer_add_printf(out, "# TYPE %s %s\n", fam->name,
                                        fam->type == MT_COUNTER ? "counter"
                                                                : "gauge") < 0)
                        rc = -1;
                for (int32_t i = fam->first; i >= 0 && rc == 0;
                     i         = m->ser[i].next) {
                        if (evbuffer_add_printf(out, "%s%s", fam->name,
                                                m->ser[i].rendered) < 0 ||
                            render_value(out, &m->ser[i], fam->type) < 0)
                                rc = -1;
                }
        }
        pthread_mutex_unlock(&m->lock);
        return rc;
}

const char *crmsync_metrics_content_type(void)
{
        return "text/plain; version=0.0.4; charset=utf-8";
}
