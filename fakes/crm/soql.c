/* soql.c -- parse and evaluate the SOQL subset of soql.h. */
#include "soql.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "crmsync/common.h"
#include "hs_search.h"

enum tok_kind { T_END = 0, T_WORD, T_NUM, T_TIME, T_STR, T_COMMA, T_OP };

struct tok {
        int         kind;
        const char *s; /* into the query */
        size_t      len;
};

struct lexer {
        const char *p;
        struct tok  t; /* current token */
        int         bad;
};

static int is_word(int c)
{
        return isalnum(c) || c == '_' || c == '.';
}

static void next(struct lexer *lx)
{
        const char *p = lx->p;

        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                p++;
        lx->t.s    = p;
        lx->t.kind = T_END;
        if (!*p) {
                lx->t.len = 0;
                lx->p     = p;
                return;
        }
        if (*p == ',') {
                lx->t.kind = T_COMMA;
                p++;
        } else if (*p == '=' || *p == '<' || *p == '>' || *p == '!') {
                lx->t.kind = T_OP;
                p++;
                if (*p == '=' || (p[-1] == '<' && *p == '>'))
                        p++;
        } else if (*p == '\'') {
                lx->t.kind = T_STR;
                for (p++; *p && *p != '\''; p++)
                        if (*p == '\\' && p[1])
                                p++;
                if (*p != '\'')
                        lx->bad = 1;
                else
                        p++;
        } else if (isdigit((unsigned char)*p)) {
                lx->t.kind = T_NUM;
                while (isdigit((unsigned char)*p))
                        p++;
                if (*p == '-' || *p == 'T' || *p == ':') {
                        lx->t.kind = T_TIME;
                        while (isalnum((unsigned char)*p) || *p == '-' ||
                               *p == ':' || *p == '.' || *p == '+')
                                p++;
                }
        } else if (is_word((unsigned char)*p)) {
                lx->t.kind = T_WORD;
                while (is_word((unsigned char)*p))
                        p++;
        } else {
                lx->t.kind = T_OP; /* an unknown character: reported */
                p++;
        }
        lx->t.len = (size_t)(p - lx->t.s);
        lx->p     = p;
}

static int is_kw(const struct tok *t, const char *kw)
{
        return t->kind == T_WORD && t->len == strlen(kw) &&
               !strncasecmp(t->s, kw, t->len);
}

static int unexpected(const struct lexer *lx, char *errstr, size_t n)
{
        if (lx->t.kind == T_END)
                return crmsync_err(errstr, n, "unexpected end of query");
        return crmsync_err(errstr, n, "unexpected token: '%.*s'",
                           (int)(lx->t.len > 40 ? 40 : lx->t.len), lx->t.s);
}

static int copy_name(const struct tok *t, char *out, char *errstr, size_t n)
{
        if (t->kind != T_WORD || t->len >= SOQL_NAME_MAX)
                return crmsync_err(errstr, n, "expected a name, got '%.*s'",
                                   (int)(t->len > 40 ? 40 : t->len), t->s);
        memcpy(out, t->s, t->len);
        out[t->len] = '\0';
        return 0;
}

int crmsync_soql_time_parse(const char *s, size_t len, int64_t *ms)
{
        char    z[32];
        size_t  base = 19, frac = 0;
        int64_t off = 0;

        if (len < 20 || len > 29)
                return -1;
        if (s[19] == '.') {
                while (base + 1 + frac < len &&
                       isdigit((unsigned char)s[base + 1 + frac]))
                        frac++;
                if (frac != 3)
                        return -1;
        }
        const char *tz = s + 19 + (frac ? 4 : 0);
        size_t      tl = len - (size_t)(tz - s);
        if (tl == 1 && *tz == 'Z')
                off = 0;
        else if ((tl == 5 || tl == 6) && (*tz == '+' || *tz == '-')) {
                int h, m;
                if (tl == 5 && sscanf(tz + 1, "%2d%2d", &h, &m) != 2)
                        return -1;
                if (tl == 6 &&
                    (tz[3] != ':' || sscanf(tz + 1, "%2d:%2d", &h, &m) != 2))
                        return -1;
                if (!isdigit((unsigned char)tz[1]) || h > 23 || m > 59 ||
                    h < 0 || m < 0)
                        return -1;
                off = (*tz == '+' ? 1 : -1) * (h * 60 + m) * 60000LL;
        } else {
                return -1;
        }
        snprintf(z, sizeof(z), "%.19s.%.3sZ", s, frac ? s + 20 : "000");
        if (crmsync_hs_time_parse(z, ms))
                return -1;
        *ms -= off;
        return 0;
}

static int parse_op(const struct tok *t)
{
        if (t->kind != T_OP)
                return -1;
        if (t->len == 1)
                return *t->s == '='   ? SOQL_EQ
                       : *t->s == '<' ? SOQL_LT
                       : *t->s == '>' ? SOQL_GT
                                      : -1;
        if (t->len == 2 && t->s[1] == '=')
                return *t->s == '<' ? SOQL_LE : *t->s == '>' ? SOQL_GE : -1;
        return -1;
}

static int parse_cond(struct lexer *lx, struct soql_cond *c, char *errstr,
                      size_t n)
{
        struct tok f = lx->t;

        if (is_kw(&f, "SystemModstamp") || is_kw(&f, "LastModifiedDate"))
                c->prop = SOQL_PROP_MODSTAMP;
        else if (is_kw(&f, "Id"))
                c->prop = SOQL_PROP_ID;
        else if (f.kind == T_WORD)
                return crmsync_err(errstr, n,
                                   "WHERE on '%.*s' is not supported "
                                   "(SystemModstamp, LastModifiedDate, Id)",
                                   (int)(f.len > 40 ? 40 : f.len), f.s);
        else
                return unexpected(lx, errstr, n);
        next(lx);
        if ((c->op = parse_op(&lx->t)) < 0)
                return lx->t.kind == T_OP || lx->t.kind == T_WORD
                           ? crmsync_err(errstr, n,
                                         "operator '%.*s' is not supported "
                                         "(=, <, <=, >, >=)",
                                         (int)(lx->t.len > 20 ? 20 : lx->t.len),
                                         lx->t.s)
                           : unexpected(lx, errstr, n);
        next(lx);
        if (c->prop == SOQL_PROP_MODSTAMP) {
                if (lx->t.kind != T_TIME ||
                    crmsync_soql_time_parse(lx->t.s, lx->t.len, &c->ms))
                        return crmsync_err(
                            errstr, n,
                            "value of %.*s must be a datetime "
                            "(2026-01-31T12:00:00.000Z), got "
                            "'%.*s'",
                            (int)f.len, f.s,
                            (int)(lx->t.len > 40 ? 40 : lx->t.len), lx->t.s);
        } else {
                if (lx->bad)
                        return crmsync_err(errstr, n,
                                           "unterminated string literal");
                if (lx->t.kind != T_STR || lx->t.len < 2 ||
                    lx->t.len - 2 >= SOQL_NAME_MAX)
                        return crmsync_err(errstr, n,
                                           "value of Id must be a quoted id");
                memcpy(c->id, lx->t.s + 1, lx->t.len - 2);
                c->id[lx->t.len - 2] = '\0';
        }
        next(lx);
        return 0;
}

static int parse_order(struct lexer *lx, struct soql_query *q, char *errstr,
                       size_t n)
{
        int desc[2] = {0, 0}, cnt = 0;

        for (;;) {
                if (cnt == 0 && !(is_kw(&lx->t, "SystemModstamp") ||
                                  is_kw(&lx->t, "LastModifiedDate")))
                        return lx->t.kind == T_WORD
                                   ? crmsync_err(
                                         errstr, n,
                                         "ORDER BY '%.*s' is not "
                                         "supported (SystemModstamp"
                                         "[, Id])",
                                         (int)(lx->t.len > 40 ? 40 : lx->t.len),
                                         lx->t.s)
                                   : unexpected(lx, errstr, n);
                if (cnt == 1 && !is_kw(&lx->t, "Id"))
                        return crmsync_err(errstr, n,
                                           "ORDER BY: only Id may follow "
                                           "SystemModstamp");
                next(lx);
                if (is_kw(&lx->t, "ASC") || is_kw(&lx->t, "DESC")) {
                        desc[cnt] = is_kw(&lx->t, "DESC");
                        next(lx);
                }
                if (is_kw(&lx->t, "NULLS"))
                        return crmsync_err(errstr, n,
                                           "NULLS FIRST/LAST is not "
                                           "supported");
                cnt++;
                if (lx->t.kind != T_COMMA || cnt == 2)
                        break;
                next(lx);
        }
        if (cnt == 2 && desc[0] != desc[1])
                return crmsync_err(errstr, n,
                                   "ORDER BY: SystemModstamp and Id must "
                                   "have the same direction");
        q->order_desc = desc[0];
        return 0;
}

static int parse_select(struct lexer *lx, struct soql_query *q, char *errstr,
                        size_t n)
{
        if (!is_kw(&lx->t, "SELECT"))
                return unexpected(lx, errstr, n);
        next(lx);
        for (;;) {
                if (q->nfields >= SOQL_FIELDS_MAX)
                        return crmsync_err(errstr, n,
                                           "at most %d fields in SELECT",
                                           SOQL_FIELDS_MAX);
                if (is_kw(&lx->t, "FROM") || is_kw(&lx->t, "FIELDS") ||
                    is_kw(&lx->t, "COUNT") || is_kw(&lx->t, "TYPEOF"))
                        return unexpected(lx, errstr, n);
                if (copy_name(&lx->t, q->fields[q->nfields++], errstr, n))
                        return -1;
                next(lx);
                if (lx->t.kind != T_COMMA)
                        break;
                next(lx);
        }
        if (!is_kw(&lx->t, "FROM"))
                return unexpected(lx, errstr, n);
        next(lx);
        if (copy_name(&lx->t, q->object, errstr, n))
                return -1;
        next(lx);
        return 0;
}

int crmsync_soql_parse(const char *qs, struct soql_query *q, char *errstr,
                       size_t n)
{
        struct lexer lx = {qs, {0, qs, 0}, 0};

        memset(q, 0, sizeof(*q));
        if (!qs || strlen(qs) > SOQL_MAX_LEN)
                return crmsync_err(errstr, n, "query longer than %d bytes",
                                   SOQL_MAX_LEN);
        next(&lx);
        if (parse_select(&lx, q, errstr, n))
                return -1;
        if (is_kw(&lx.t, "WHERE")) {
                do {
                        next(&lx);
                        if (q->nconds >= SOQL_CONDS_MAX)
                                return crmsync_err(errstr, n,
                                                   "at most %d conditions",
                                                   SOQL_CONDS_MAX);
                        if (parse_cond(&lx, &q->conds[q->nconds++], errstr, n))
                                return -1;
                } while (is_kw(&lx.t, "AND"));
        }
        if (is_kw(&lx.t, "ORDER")) {
                next(&lx);
                if (!is_kw(&lx.t, "BY"))
                        return unexpected(&lx, errstr, n);
                next(&lx);
                if (parse_order(&lx, q, errstr, n))
                        return -1;
        }
        if (is_kw(&lx.t, "LIMIT")) {
                uint64_t v = 0;
                next(&lx);
                if (lx.t.kind != T_NUM || lx.t.len > 9)
                        return unexpected(&lx, errstr, n);
                for (size_t i = 0; i < lx.t.len; i++)
                        v = v * 10 + (uint64_t)(lx.t.s[i] - '0');
                if (v < 1 || v > SOQL_LIMIT_MAX)
                        return crmsync_err(errstr, n, "LIMIT must be 1..%d",
                                           SOQL_LIMIT_MAX);
                q->limit = (uint32_t)v;
                next(&lx);
        }
        if (lx.bad)
                return crmsync_err(errstr, n, "unterminated string literal");
        if (lx.t.kind != T_END)
                return unexpected(&lx, errstr, n);
        return 0;
}

static int cmp_op(int op, int c)
{
        switch (op) {
        case SOQL_EQ:
                return c == 0;
        case SOQL_LT:
                return c < 0;
        case SOQL_LE:
                return c <= 0;
        case SOQL_GT:
                return c > 0;
        default:
                return c >= 0;
        }
}

int crmsync_soql_match(const struct soql_query *q, int64_t modstamp_ms,
                       const char *id)
{
        for (int i = 0; i < q->nconds; i++) {
                const struct soql_cond *c = &q->conds[i];
                int                     r = c->prop == SOQL_PROP_MODSTAMP
                                                ? (modstamp_ms > c->ms) - (modstamp_ms < c->ms)
                                                : strcmp(id, c->id);
                if (!cmp_op(c->op, r))
                        return 0;
        }
        return 1;
}
