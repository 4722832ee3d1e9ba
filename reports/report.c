/* report.c -- render a run's summary as summary.json, junit.xml, report.md
 * and the one-screen verdict. */
#include "crmsync/report.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crmsync/common.h"

void crmsync_report_escape(FILE *fp, const char *s)
{
        for (; s && *s; s++) {
                switch (*s) {
                case '<':
                        fputs("&lt;", fp);
                        break;
                case '>':
                        fputs("&gt;", fp);
                        break;
                case '&':
                        fputs("&amp;", fp);
                        break;
                case '"':
                        fputs("&quot;", fp);
                        break;
                default:
                        if ((unsigned char)*s >= 0x20 || *s == '\n' ||
                            *s == '\t')
                                fputc(*s, fp);
                }
        }
}

static const char *str(const json_t *o, const char *k)
{
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "";
}

/* A freshness figure in ms, or "never" (null: it falls among the changes
 * the sink never caught up with). buf holds at least 24 bytes. */
static const char *ms_or_never(const json_t *o, const char *k, char *buf,
                               size_t size)
{
        const json_t *v = json_object_get(o, k);
        if (!json_is_integer(v))
                return "never";
        snprintf(buf, size, "%lld ms", (long long)json_integer_value(v));
        return buf;
}

/* Close fp; -1 (errno set) when any write to it failed. */
static int close_checked(FILE *fp)
{
        int failed = ferror(fp), err = errno;
        if (fclose(fp) == EOF)
                return -1;
        if (failed) {
                errno = err ? err : EIO;
                return -1;
        }
        return 0;
}

/* Each unexpected process exit: what, when, and its log's last lines,
 * each line after indent; entries after the first start with lead. Text
 * goes through put (raw or XML-escaped). */
static void exits_text(FILE *fp, const json_t *s, const char *lead,
                       const char *indent, void (*put)(FILE *, const char *))
{
        const json_t *x;
        size_t        i;
        json_array_foreach(json_object_get(s, "process_exits"), i, x)
        {
                char        head[256];
                const char *tail = str(x, "log_tail"), *nl;
                if (i)
                        put(fp, lead);
                snprintf(
                    head, sizeof(head), "%s (pid %lld) %s at %.1f s%s; ",
                    str(x, "child"),
                    (long long)json_integer_value(json_object_get(x, "pid")),
                    str(x, "status"),
                    json_number_value(json_object_get(x, "t_s")),
                    json_is_false(json_object_get(x, "ready"))
                        ? " before it became ready"
                        : "");
                put(fp, head);
                if (!*tail) {
                        put(fp, str(x, "log"));
                        put(fp, " is empty\n");
                        continue;
                }
                put(fp, "last lines of ");
                put(fp, str(x, "log"));
                put(fp, ":\n");
                for (; *tail; tail = nl ? nl + 1 : tail + strlen(tail)) {
                        char   line[1024];
                        size_t len;
                        nl  = strchr(tail, '\n');
                        len = nl ? (size_t)(nl - tail) : strlen(tail);
                        if (len >= sizeof(line))
                                len = sizeof(line) - 1;
                        memcpy(line, tail, len);
                        line[len] = '\0';
                        put(fp, indent);
                        put(fp, line);
                        put(fp, "\n");
                }
        }
}

static void put_raw(FILE *fp, const char *s)
{
        fputs(s, fp);
}

static void put_xml(FILE *fp, const char *s)
{
        crmsync_report_escape(fp, s);
}

static void junit_case(FILE *fp, const json_t *s, const char *name)
{
        fputs("  <testcase classname=\"crmsync.", fp);
        crmsync_report_escape(fp, str(s, "scenario"));
        fputs("\" name=\"", fp);
        crmsync_report_escape(fp, name);
        fputs("\">", fp);
}

static int interrupted(const json_t *s)
{
        return !strcmp(str(s, "verdict"), "interrupted");
}

/* An interrupted run: one test case in error with the reason, no
 * expectation judged. */
static void junit_interrupted(const json_t *s, FILE *fp)
{
        fputs("<testsuite name=\"", fp);
        crmsync_report_escape(fp, str(s, "scenario"));
        fprintf(fp,
                "\" tests=\"1\" failures=\"0\" errors=\"1\" "
                "time=\"%.3f\">\n",
                json_number_value(
                    json_object_get(json_object_get(s, "timing"), "run_s")));
        fputs("  <testcase classname=\"crmsync.", fp);
        crmsync_report_escape(fp, str(s, "scenario"));
        fputs("\" name=\"run\"><error type=\"interrupted\" message=\"", fp);
        crmsync_report_escape(fp, str(s, "reason"));
        fputs("\"/></testcase>\n</testsuite>\n", fp);
}

/* The CRM API etiquette totals as JUnit properties ("api.<name>"). */
static void junit_api_properties(FILE *fp, const json_t *api)
{
        const char *k;
        json_t     *v;

        if (!api)
                return;
        fputs("  <properties>\n", fp);
        json_object_foreach((json_t *)api, k, v)
        {
                if (json_is_integer(v))
                        fprintf(fp,
                                "    <property name=\"api.%s\" "
                                "value=\"%lld\"/>\n",
                                k, (long long)json_integer_value(v));
                else if (json_is_real(v))
                        fprintf(fp,
                                "    <property name=\"api.%s\" "
                                "value=\"%.3f\"/>\n",
                                k, json_real_value(v));
        }
        fputs("  </properties>\n", fp);
}

/* report.md: what the pipeline asked of the CRM and how it was answered,
 * per client. */
static void md_api(FILE *fp, const json_t *api)
{
        const char *k;
        json_t     *c;

        if (!api)
                return;
        fprintf(
            fp,
            "\n## CRM API etiquette\n\n%lld requests to the CRM "
            "(%.3f per committed change): %lld answered 429 (beyond the "
            "rate limit), %lld answered 403 (beyond the daily quota), "
            "%lld answered 5xx; %lld answers carried Retry-After and "
            "%lld requests came before one elapsed (%lld ms slack).\n\n"
            "| client | requests | 429 | 403 | 5xx | Retry-After "
            "answers | early retries | most ms early |\n"
            "|---|---|---|---|---|---|---|---|\n",
            (long long)json_integer_value(json_object_get(api, "requests")),
            json_number_value(json_object_get(api, "requests_per_change")),
            (long long)json_integer_value(json_object_get(api, "status_429")),
            (long long)json_integer_value(json_object_get(api, "status_403")),
            (long long)json_integer_value(json_object_get(api, "status_5xx")),
            (long long)json_integer_value(json_object_get(api, "retry_afters")),
            (long long)json_integer_value(
                json_object_get(api, "early_retries")),
            (long long)json_integer_value(
                json_object_get(api, "early_slack_ms")));
        json_object_foreach((json_t *)json_object_get(api, "clients"), k, c)
        {
                fprintf(fp, "| %s |", k);
                static const char *const cols[] = {
                    "requests",     "status_429",    "status_403", "status_5xx",
                    "retry_afters", "early_retries", "earliest_ms"};
                for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
                        fprintf(fp, " %lld |",
                                (long long)json_integer_value(
                                    json_object_get(c, cols[i])));
                fputc('\n', fp);
        }
}

/* The anomaly class an expectation bounds ("anomalies.stale <= 0" ->
 * "stale" into cls), or NULL. */
static const char *bound_class(const char *name, char *cls, size_t size)
{
        size_t n;
        if (strncmp(name, "anomalies.", 10))
                return NULL;
        name += 10;
        n = strcspn(name, " ");
        snprintf(cls, size, "%.*s", (int)n, name);
        return cls;
}

/* A lineage (`crmsync trace` lines) in brief, for a one-line message:
 * " [lineage: e-00000521 update contact/C-000084 v2 ...; +0 ms crm
 * committed; ...]", spaces collapsed, at most LINEAGE_BRIEF_MAX bytes. */
#define LINEAGE_BRIEF_MAX 320
static void lineage_brief(FILE *fp, const char *lineage)
{
        char   buf[LINEAGE_BRIEF_MAX + 8];
        size_t n     = 0;
        int    space = 0;

        if (!*lineage)
                return;
        for (const char *p = lineage; *p && n < LINEAGE_BRIEF_MAX; p++) {
                if (*p == '\n') {
                        if (p[1] && n)
                                n += (size_t)snprintf(buf + n, 3, "; ");
                        space = 0;
                        while (p[1] == ' ')
                                p++;
                        continue;
                }
                if (*p == ' ') {
                        space = 1;
                        continue;
                }
                if (space && n && buf[n - 1] != ' ')
                        buf[n++] = ' ';
                space    = 0;
                buf[n++] = *p;
        }
        if (n >= LINEAGE_BRIEF_MAX)
                n += (size_t)snprintf(buf + n, 4, "...");
        buf[n] = '\0';
        fputs(" [lineage: ", fp);
        crmsync_report_escape(fp, buf);
        fputs("]", fp);
}

/* A failed expectation's message: its detail, and for an anomaly bound
 * the class and its first examples ("stale: account/a-1: sink has v2,
 * CRM v3; ..."). */
static void junit_failure_message(FILE *fp, const json_t *s, const json_t *e)
{
        char          cls[64];
        const json_t *ex, *x;
        size_t        i;

        crmsync_report_escape(fp, str(e, "detail"));
        if (!bound_class(str(e, "name"), cls, sizeof(cls)))
                return;
        ex = json_object_get(json_object_get(s, "anomaly_examples"), cls);
        fprintf(fp, " (class %s", cls);
        json_array_foreach(ex, i, x)
        {
                if (i == 3)
                        break;
                fputs(i ? "; " : "; first examples: ", fp);
                crmsync_report_escape(fp, str(x, "key"));
                fputs(": ", fp);
                crmsync_report_escape(fp, str(x, "detail"));
                lineage_brief(fp, str(x, "lineage"));
        }
        fputs(")", fp);
}

/* A failed anomaly bound's <failure> text: each first example's lineage
 * in full, as `crmsync trace` prints it. */
static void junit_failure_lineage(FILE *fp, const json_t *s, const json_t *e)
{
        char          cls[64];
        const json_t *x;
        size_t        i;

        if (!bound_class(str(e, "name"), cls, sizeof(cls)))
                return;
        json_array_foreach(
            json_object_get(json_object_get(s, "anomaly_examples"), cls), i, x)
        {
                if (i == 3)
                        break;
                if (!*str(x, "lineage"))
                        continue;
                crmsync_report_escape(fp, str(x, "key"));
                fputs(": ", fp);
                crmsync_report_escape(fp, str(x, "detail"));
                fputs("\n", fp);
                crmsync_report_escape(fp, str(x, "lineage"));
        }
}

void crmsync_report_junit_testsuite(const json_t *s, FILE *fp)
{
        const json_t *exp   = json_object_get(s, "expectations"), *e;
        const json_t *error = json_object_get(s, "error");
        size_t        i, failures = 0;
        if (interrupted(s)) {
                junit_interrupted(s, fp);
                return;
        }
        json_array_foreach(
            exp, i, e) if (!json_is_true(json_object_get(e, "ok"))) failures++;
        fputs("<testsuite name=\"", fp);
        crmsync_report_escape(fp, str(s, "scenario"));
        fprintf(
            fp,
            "\" tests=\"%zu\" failures=\"%zu\" errors=\"%d\" time=\"%.3f\">\n",
            json_array_size(exp) + (error ? 1 : 0), failures, error ? 1 : 0,
            json_number_value(
                json_object_get(json_object_get(s, "timing"), "run_s")));
        junit_api_properties(fp, json_object_get(s, "api"));
        /* A run that could not be set up, or could not write its files:
         * the reason, as an error (the harness failed, not the
         * pipeline). */
        if (error) {
                junit_case(fp, s, str(error, "phase"));
                fputs("<error message=\"", fp);
                crmsync_report_escape(fp, str(error, "reason"));
                fputs("\">", fp);
                exits_text(fp, s, "", "  ", put_xml);
                fputs("</error></testcase>\n", fp);
        }
        json_array_foreach(exp, i, e)
        {
                junit_case(fp, s, str(e, "name"));
                if (!json_is_true(json_object_get(e, "ok"))) {
                        fputs("<failure message=\"", fp);
                        junit_failure_message(fp, s, e);
                        fputs("\">", fp);
                        if (!strcmp(str(e, "name"),
                                    CRMSYNC_EXPECT_PROCESSES_UP))
                                exits_text(fp, s, "", "  ", put_xml);
                        junit_failure_lineage(fp, s, e);
                        fputs("</failure>", fp);
                }
                fputs("</testcase>\n", fp);
        }
        fputs("</testsuite>\n", fp);
}

static void write_junit(const json_t *s, FILE *fp)
{
        fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n", fp);
        crmsync_report_junit_testsuite(s, fp);
        fputs("</testsuites>\n", fp);
}

/* A figure as report.md shows it: integers as they are, reals with three
 * decimals, null as "-". */
static void md_value(FILE *fp, const json_t *v)
{
        if (json_is_integer(v))
                fprintf(fp, "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v))
                fprintf(fp, "%.3f", json_real_value(v));
        else if (json_is_string(v))
                fputs(json_string_value(v), fp);
        else if (json_is_boolean(v))
                fputs(json_is_true(v) ? "true" : "false", fp);
        else
                fputs("-", fp);
}

/* One table row per scalar of v, named by its path ("replay.seconds",
 * "catch_up[0].catch_up_s"), so no figure summary.json has can be left
 * out of the report. */
static void md_flatten(FILE *fp, const char *path, const json_t *v)
{
        char        sub[256];
        const char *k;
        json_t     *x;
        size_t      i;

        if (json_is_object(v)) {
                json_object_foreach((json_t *)v, k, x)
                {
                        snprintf(sub, sizeof(sub), "%s%s%s", path,
                                 *path ? "." : "", k);
                        md_flatten(fp, sub, x);
                }
        } else if (json_is_array(v)) {
                if (!json_array_size(v))
                        fprintf(fp, "| `%s` | none |\n", path);
                json_array_foreach(v, i, x)
                {
                        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
                        md_flatten(fp, sub, x);
                }
        } else {
                fprintf(fp, "| `%s` | ", path);
                md_value(fp, v);
                fputs(" |\n", fp);
        }
}

/* The entry of a per-fault timing array (fault_convergence, catch_up,
 * broker_unavailable) for fault i, or NULL. */
static const json_t *fault_entry(const json_t *t, const char *arr, size_t i)
{
        const json_t *e;
        size_t        j;
        json_array_foreach(
            json_object_get(t, arr), j,
            e) if (json_integer_value(json_object_get(e, "fault")) ==
                   (json_int_t)i) return e;
        return NULL;
}

static void md_seconds(FILE *fp, const json_t *v)
{
        if (json_is_number(v))
                fprintf(fp, " %.2f |", json_number_value(v));
        else
                fputs(" - |", fp);
}

static void md_timing(FILE *fp, const json_t *s, const json_t *t)
{
        const json_t *l  = json_object_get(t, "apply_latency");
        const json_t *fr = json_object_get(t, "freshness");
        const json_t *st = json_object_get(fr, "steady_state");
        const json_t *rp = json_object_get(t, "replay"), *e;
        char          b[4][24];
        size_t        i;

        fprintf(fp,
                "\n## Timing\n\nFreshness (CRM commit -> the sink holds "
                "the record at a version at least as new; superseded "
                "changes count), %lld changes (%lld excluded: deleted or "
                "merged away before they could be seen; %lld never "
                "seen): p50 %s, p95 %s, p99 %s, max %s.\n",
                (long long)json_integer_value(json_object_get(fr, "count")),
                (long long)json_integer_value(json_object_get(fr, "excluded")),
                (long long)json_integer_value(json_object_get(fr, "unseen")),
                ms_or_never(fr, "p50", b[0], sizeof(b[0])),
                ms_or_never(fr, "p95", b[1], sizeof(b[1])),
                ms_or_never(fr, "p99", b[2], sizeof(b[2])),
                ms_or_never(fr, "max", b[3], sizeof(b[3])));
        fprintf(fp,
                "Steady state (changes committed %.1f s or more after the "
                "start), %lld changes (%lld excluded): p50 %s, p95 %s, "
                "p99 %s, max %s.\n",
                json_number_value(json_object_get(st, "from_s")),
                (long long)json_integer_value(json_object_get(st, "count")),
                (long long)json_integer_value(json_object_get(st, "excluded")),
                ms_or_never(st, "p50", b[0], sizeof(b[0])),
                ms_or_never(st, "p95", b[1], sizeof(b[1])),
                ms_or_never(st, "p99", b[2], sizeof(b[2])),
                ms_or_never(st, "max", b[3], sizeof(b[3])));
        fprintf(fp,
                "Apply latency (CRM commit -> the change's own applied "
                "write; only the %lld changes that got one): p50 %lld ms, "
                "p95 %lld ms, p99 %lld ms, p99.9 %lld ms, max %lld ms.\n",
                (long long)json_integer_value(json_object_get(l, "count")),
                (long long)json_integer_value(json_object_get(l, "p50")),
                (long long)json_integer_value(json_object_get(l, "p95")),
                (long long)json_integer_value(json_object_get(l, "p99")),
                (long long)json_integer_value(json_object_get(l, "p99_9")),
                (long long)json_integer_value(json_object_get(l, "max")));
        if (json_is_number(json_object_get(t, "convergence_s")))
                fprintf(fp,
                        "Converged %.2f s after the workload and faults "
                        "ended.\n",
                        json_number_value(json_object_get(t, "convergence_s")));
        else
                fputs("Did not converge.\n", fp);
        if (json_is_number(json_object_get(t, "catch_up_s")))
                fprintf(fp,
                        "Slowest catch-up after a process was back: "
                        "%.2f s.\n",
                        json_number_value(json_object_get(t, "catch_up_s")));
        if (json_is_true(json_object_get(rp, "performed"))) {
                fprintf(
                    fp, "Replay: %lld events (%lld bytes) in %.2f s",
                    (long long)json_integer_value(
                        json_object_get(rp, "events")),
                    (long long)json_integer_value(json_object_get(rp, "bytes")),
                    json_number_value(json_object_get(rp, "seconds")));
                if (json_is_number(json_object_get(rp, "events_per_s")))
                        fprintf(fp, ", %.1f events/s, %.0f bytes/s",
                                json_number_value(
                                    json_object_get(rp, "events_per_s")),
                                json_number_value(
                                    json_object_get(rp, "bytes_per_s")));
                fprintf(fp,
                        "; rebuilt the CRM's state: %s; window "
                        "complete: %s; side effects re-sent: %lld.\n",
                        json_is_true(json_object_get(rp, "matches_oracle"))
                            ? "yes"
                            : "**no**",
                        json_is_true(json_object_get(rp, "complete"))
                            ? "yes"
                            : "**no**",
                        (long long)json_integer_value(
                            json_object_get(rp, "side_effects")));
        } else if (rp) {
                fprintf(fp, "Replay not performed: %s.\n", str(rp, "reason"));
        }

        /* Per fault: when, and how the pipeline came through it. */
        fputs("\n## Faults\n\n| # | type | start s | end s | skipped | "
              "converged s after its end | back at s | catch-up s | broker "
              "unavailable s |\n|---|---|---|---|---|---|---|---|---|\n",
              fp);
        json_array_foreach(json_object_get(s, "faults"), i, e)
        {
                const json_t *c  = fault_entry(t, "fault_convergence", i);
                const json_t *cu = fault_entry(t, "catch_up", i);
                const json_t *u  = fault_entry(t, "broker_unavailable", i);
                fprintf(fp, "| %zu | %s |", i, str(e, "type"));
                md_seconds(fp, json_object_get(e, "start_s"));
                md_seconds(fp, json_object_get(e, "end_s"));
                fprintf(fp, " %s |",
                        json_is_true(json_object_get(e, "skipped"))
                            ? str(e, "reason")
                            : "no");
                md_seconds(fp, json_object_get(c, "convergence_s"));
                md_seconds(fp, json_object_get(cu, "back_s"));
                md_seconds(fp, json_object_get(cu, "catch_up_s"));
                md_seconds(fp, json_object_get(u, "unavailable_s"));
                fputc('\n', fp);
        }

        fputs("\n## Every timing figure\n\nAs in summary.json's `timing` "
              "(seconds and milliseconds as named).\n\n| figure | value "
              "|\n|---|---|\n",
              fp);
        md_flatten(fp, "", t);
}

/* The lineage of the examples that have one, as `crmsync trace` prints
 * it, in one code block. */
static void md_lineage(FILE *fp, const json_t *examples)
{
        const json_t *ex;
        size_t        i;
        int           any = 0;
        json_array_foreach(examples, i, ex)
        {
                if (!*str(ex, "lineage"))
                        continue;
                if (!any++)
                        fputs("\nLineage of the first examples (`crmsync "
                              "trace`):\n\n```\n",
                              fp);
                fputs(str(ex, "lineage"), fp);
        }
        if (any)
                fputs("```\n", fp);
}

static void write_md(const json_t *s, FILE *fp)
{
        const json_t *w   = json_object_get(s, "workload");
        const json_t *t   = json_object_get(s, "timing");
        const json_t *exp = json_object_get(s, "expectations"), *e, *v;
        const char   *k;
        size_t        i;

        fprintf(fp,
                "# crmsync run %s\n\nScenario **%s** (`%s`): verdict "
                "**%s**.\n\n",
                str(s, "run_id"), str(s, "scenario"), str(s, "scenario_file"),
                str(s, "verdict"));
        if (interrupted(s)) {
                fprintf(fp, "The run was %s.\n", str(s, "reason"));
                return;
        }
        if ((e = json_object_get(s, "error")))
                fprintf(fp, "**Error (%s):** %s\n\n", str(e, "phase"),
                        str(e, "reason"));
        if (json_array_size(json_object_get(s, "process_exits"))) {
                fputs("## Unexpected process exits\n\n```\n", fp);
                exits_text(fp, s, "", "  ", put_raw);
                fputs("```\n\n", fp);
        }
        if (!w) /* set-up failed: nothing ran */
                return;
        fprintf(fp,
                "Workload: %lld committed changes, %lld accounts, seed "
                "%lld, commit log sha256 `%s`.\n\n",
                (long long)json_integer_value(
                    json_object_get(w, "events_committed")),
                (long long)json_integer_value(json_object_get(w, "accounts")),
                (long long)json_integer_value(json_object_get(w, "seed")),
                str(w, "commit_log_sha256"));
        fputs(
            "## Expectations\n\n| expectation | ok | detail |\n|---|---|---|\n",
            fp);
        json_array_foreach(exp, i, e)
            fprintf(fp, "| %s | %s | %s |\n", str(e, "name"),
                    json_is_true(json_object_get(e, "ok")) ? "yes" : "**NO**",
                    str(e, "detail"));
        fputs("\n## Anomalies\n\n| class | count |\n|---|---|\n", fp);
        json_object_foreach((json_t *)json_object_get(s, "anomalies"), k, v)
            fprintf(fp, "| %s | %lld |\n", k, (long long)json_integer_value(v));
        json_object_foreach((json_t *)json_object_get(s, "anomaly_examples"), k,
                            v)
        {
                const json_t *ex;
                fprintf(fp, "\nExamples of %s:\n\n", k);
                json_array_foreach(v, i, ex) fprintf(
                    fp, "- `%s`: %s\n", str(ex, "key"), str(ex, "detail"));
                md_lineage(fp, v);
        }
        crmsync_report_md_charts(s, fp);
        md_timing(fp, s, t);
        md_api(fp, json_object_get(s, "api"));
        fputs("\n## Target limits\n\n", fp);
        json_array_foreach(
            json_object_get(json_object_get(s, "target"), "limits"), i, e)
            fprintf(fp, "- %s\n", json_string_value(e));
}

static void write_json(const json_t *s, FILE *fp)
{
        json_dumpf(s, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', fp);
}

/* Write path through path.tmp and a rename: a file that cannot be
 * written completely is not left behind truncated. -1 + errno. */
static int write_file(const json_t *s, const char *path,
                      void (*render)(const json_t *, FILE *))
{
        char  tmp[640];
        FILE *fp;
        int   err;

        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        if (!(fp = fopen(tmp, "w")))
                return -1;
        render(s, fp);
        if (close_checked(fp) || rename(tmp, path)) {
                err = errno;
                unlink(tmp);
                errno = err;
                return -1;
        }
        return 0;
}

int crmsync_report_write(const json_t *summary, const char *dir, char *errstr,
                         size_t errstr_size)
{
        char path[600], werr[512];
        static const struct {
                const char *name;
                void (*render)(const json_t *, FILE *);
        } files[] = {{"summary.json", write_json},
                     {"junit.xml", write_junit},
                     {"report.md", write_md}};
        int rc    = 0;

        /* Every file is tried; the first failure is the one reported. */
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
                if (write_file(summary, path, files[i].render) && !rc)
                        rc = crmsync_err(errstr, errstr_size, "%s: %s", path,
                                         strerror(errno));
        }
        if (crmsync_report_html_write(summary, dir, werr, sizeof(werr)) && !rc)
                rc = crmsync_err(errstr, errstr_size, "%s", werr);
        return rc;
}

/* The closing line: where the run's files are. */
static void files_line(FILE *fp, const json_t *s)
{
        const char *h = json_string_value(json_object_get(s, "history_file"));
        fprintf(fp,
                "report     %s/summary.json (also report.html, junit.xml, "
                "report.md, %s)\n",
                str(s, "run_dir"), h ? h : "history.jsonl");
}

/* The verdict's freshness and apply lines. */
static void timing_lines(FILE *fp, const json_t *fr, const json_t *st,
                         const json_t *l)
{
        char b[4][32];
        fprintf(fp,
                "\nfreshness  p50 %s  p99 %s  max %s (%lld changes, "
                "%lld never seen, %lld excluded); steady state p99 %s "
                "(from %.1f s)\n",
                ms_or_never(fr, "p50", b[0], sizeof(b[0])),
                ms_or_never(fr, "p99", b[1], sizeof(b[1])),
                ms_or_never(fr, "max", b[2], sizeof(b[2])),
                (long long)json_integer_value(json_object_get(fr, "count")),
                (long long)json_integer_value(json_object_get(fr, "unseen")),
                (long long)json_integer_value(json_object_get(fr, "excluded")),
                ms_or_never(st, "p99", b[3], sizeof(b[3])),
                json_number_value(json_object_get(st, "from_s")));
        fprintf(fp,
                "apply      p50 %lld ms  p99 %lld ms  max %lld ms (%lld "
                "changes with their own applied write)\n",
                (long long)json_integer_value(json_object_get(l, "p50")),
                (long long)json_integer_value(json_object_get(l, "p99")),
                (long long)json_integer_value(json_object_get(l, "max")),
                (long long)json_integer_value(json_object_get(l, "count")));
}

/* A --preload run has no live pipeline: no freshness to give. */
static void preload_line(FILE *fp, const json_t *s)
{
        const json_t *p =
            json_object_get(json_object_get(s, "timing"), "preload");
        fprintf(fp,
                "\npreload    %lld records produced straight to the topic "
                "in %.2f s (no live pipeline: freshness not measured; the "
                "replay is judged)\n",
                (long long)json_integer_value(json_object_get(p, "records")),
                json_number_value(json_object_get(p, "seconds")));
}

void crmsync_report_print(const json_t *s, FILE *fp)
{
        const json_t *w   = json_object_get(s, "workload");
        const json_t *t   = json_object_get(s, "timing");
        const json_t *l   = json_object_get(t, "apply_latency");
        const json_t *fr  = json_object_get(t, "freshness");
        const json_t *st  = json_object_get(fr, "steady_state");
        const json_t *exp = json_object_get(s, "expectations"), *e, *v, *a;
        const char   *k;
        size_t        i;

        char          verdict[32];
        const json_t *error = json_object_get(s, "error");

        /* PASS, FAIL, INTERRUPTED, ERROR. */
        for (i = 0; i < sizeof(verdict) - 1 && str(s, "verdict")[i]; i++)
                verdict[i] = (char)toupper((unsigned char)str(s, "verdict")[i]);
        verdict[i] = '\0';
        fprintf(fp, "\n== crmsync verdict: %s ==  scenario %s\n", verdict,
                str(s, "scenario"));
        if (interrupted(s)) {
                fprintf(fp, "%s\n", str(s, "reason"));
                files_line(fp, s);
                return;
        }
        if (error)
                fprintf(fp, "error      %s: %s\n", str(error, "phase"),
                        str(error, "reason"));
        if (json_array_size(json_object_get(s, "process_exits"))) {
                fputs("exited     ", fp);
                exits_text(fp, s, "           ", "           | ", put_raw);
        }
        if (!w) { /* set-up failed: nothing ran */
                files_line(fp, s);
                return;
        }
        fprintf(
            fp,
            "workload   %lld changes, %lld accounts, %lld live "
            "records, sha256 %.16s...\n",
            (long long)json_integer_value(
                json_object_get(w, "events_committed")),
            (long long)json_integer_value(json_object_get(w, "accounts")),
            (long long)json_integer_value(json_object_get(w, "records_live")),
            str(w, "commit_log_sha256"));
        fputs("anomalies ", fp);
        json_object_foreach((json_t *)json_object_get(s, "anomalies"), k, v)
            fprintf(fp, " %s=%lld", k, (long long)json_integer_value(v));
        if (json_is_true(json_object_get(s, "preload")))
                preload_line(fp, s);
        else
                timing_lines(fp, fr, st, l);
        if ((a = json_object_get(s, "api")))
                fprintf(fp,
                        "crm api    %lld requests (%.3f per change)  429=%lld "
                        "403=%lld 5xx=%lld  early retries %lld\n",
                        (long long)json_integer_value(
                            json_object_get(a, "requests")),
                        json_number_value(
                            json_object_get(a, "requests_per_change")),
                        (long long)json_integer_value(
                            json_object_get(a, "status_429")),
                        (long long)json_integer_value(
                            json_object_get(a, "status_403")),
                        (long long)json_integer_value(
                            json_object_get(a, "status_5xx")),
                        (long long)json_integer_value(
                            json_object_get(a, "early_retries")));
        json_array_foreach(exp, i, e)
            fprintf(fp, "  [%s] %-36s %s\n",
                    json_is_true(json_object_get(e, "ok")) ? " ok " : "FAIL",
                    str(e, "name"), str(e, "detail"));
        json_object_foreach((json_t *)json_object_get(s, "anomaly_examples"), k,
                            v)
        {
                const json_t *ex = json_array_get(v, 0);
                if (ex)
                        fprintf(fp, "  e.g. %s %s: %s\n", k, str(ex, "key"),
                                str(ex, "detail"));
        }
        json_array_foreach(json_object_get(s, "faults"), i,
                           e) if (json_is_true(json_object_get(e, "skipped")))
            fprintf(fp, "  fault %s SKIPPED: %s\n", str(e, "type"),
                    str(e, "reason"));
        files_line(fp, s);
}
