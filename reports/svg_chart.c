/* svg_chart.c -- small charts as standalone SVG (see svg_chart.h). */
#include "crmsync/svg_chart.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crmsync/common.h"
#include "crmsync/report.h"

#define DEFAULT_W 900
#define DEFAULT_H 320
#define MARGIN_L 72
#define MARGIN_R_ONE 24
#define MARGIN_R_TWO 72
#define MARGIN_T 64 /* title, legend, band labels */
#define MARGIN_B 48

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c",
                                      "#9467bd", "#8c564b", "#e377c2",
                                      "#17becf", "#7f7f7f"};

struct series {
        char   *name, *color;
        char  **titles; /* per point, NULL = the default */
        int     axis, area;
        double *x, *y;
        size_t  n;
};

struct item { /* a band, marker, bar or tick */
        double a, b;
        char  *label, *color, *title;
};

struct axis {
        char       *label, *unit;
        double      min, max; /* NAN = from the data */
        unsigned    flags;
        struct item ticks[CRMSYNC_SVG_MAX_ITEMS];
        size_t      tick_cnt;
};

struct crmsync_svg_chart {
        char         *id, *title;
        int           w, h;
        struct axis   ax[3];
        struct series s[CRMSYNC_SVG_MAX_SERIES];
        size_t        s_cnt;
        struct item   bands[CRMSYNC_SVG_MAX_ITEMS];
        size_t        band_cnt;
        struct item   marks[CRMSYNC_SVG_MAX_ITEMS];
        size_t        mark_cnt;
        struct item   bars[CRMSYNC_SVG_MAX_ITEMS];
        size_t        bar_cnt;
};

/* An axis as drawn: its range (log10 of it on a log axis). */
struct range {
        double lo, hi;
        int    log, used;
};

static char *dup_or_null(const char *s)
{
        return s ? strdup(s) : NULL;
}

svg_chart_t *crmsync_svg_chart_new(const char *id, const char *title, int width,
                                   int height)
{
        svg_chart_t *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->id    = strdup(id ? id : "chart");
        c->title = strdup(title ? title : "");
        c->w     = width > 0 ? width : DEFAULT_W;
        c->h     = height > 0 ? height : DEFAULT_H;
        for (int i = 0; i < 3; i++)
                c->ax[i].min = c->ax[i].max = NAN;
        if (!c->id || !c->title) {
                crmsync_svg_chart_free(c);
                return NULL;
        }
        return c;
}

static void item_free(struct item *it, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(it[i].label);
                free(it[i].color);
                free(it[i].title);
        }
}

void crmsync_svg_chart_free(svg_chart_t *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->s_cnt; i++) {
                free(c->s[i].name);
                free(c->s[i].color);
                free(c->s[i].x);
                free(c->s[i].y);
                for (size_t j = 0; c->s[i].titles && j < c->s[i].n; j++)
                        free(c->s[i].titles[j]);
                free(c->s[i].titles);
        }
        for (int i = 0; i < 3; i++) {
                free(c->ax[i].label);
                free(c->ax[i].unit);
                item_free(c->ax[i].ticks, c->ax[i].tick_cnt);
        }
        item_free(c->bands, c->band_cnt);
        item_free(c->marks, c->mark_cnt);
        item_free(c->bars, c->bar_cnt);
        free(c->id);
        free(c->title);
        free(c);
}

void crmsync_svg_chart_axis(svg_chart_t *c, enum crmsync_svg_axis a,
                            const char *label, const char *unit, double min,
                            double max, unsigned flags)
{
        struct axis *ax = &c->ax[a];
        free(ax->label);
        free(ax->unit);
        ax->label = dup_or_null(label);
        ax->unit  = dup_or_null(unit);
        ax->min   = min;
        ax->max   = max;
        ax->flags = flags;
}

/* Append an item to arr (count *n); -1 past the limit or out of memory. */
static int item_add(struct item *arr, size_t *n, double a, double b,
                    const char *label, const char *color, const char *title)
{
        struct item *it;
        if (*n >= CRMSYNC_SVG_MAX_ITEMS)
                return -1;
        it        = &arr[*n];
        it->a     = a;
        it->b     = b;
        it->label = dup_or_null(label);
        it->color = dup_or_null(color);
        it->title = dup_or_null(title);
        if ((label && !it->label) || (color && !it->color) ||
            (title && !it->title)) {
                item_free(it, 1);
                return -1;
        }
        (*n)++;
        return 0;
}

int crmsync_svg_chart_ticks(svg_chart_t *c, enum crmsync_svg_axis a,
                            const double *at, const char *const *labels,
                            size_t n)
{
        struct axis *ax = &c->ax[a];
        item_free(ax->ticks, ax->tick_cnt);
        ax->tick_cnt = 0;
        for (size_t i = 0; i < n; i++)
                if (item_add(ax->ticks, &ax->tick_cnt, at[i], 0, labels[i],
                             NULL, NULL))
                        return -1;
        return 0;
}

static int series_add(svg_chart_t *c, const char *name, const char *color,
                      enum crmsync_svg_axis y, const double *x,
                      const double *yv, size_t n, int area)
{
        struct series *s;
        if (c->s_cnt >= CRMSYNC_SVG_MAX_SERIES || n > CRMSYNC_SVG_MAX_POINTS)
                return -1;
        s        = &c->s[c->s_cnt];
        s->name  = strdup(name ? name : "");
        s->color = strdup(
            color ? color
                  : palette[c->s_cnt % (sizeof(palette) / sizeof(palette[0]))]);
        s->x = malloc((n + 1) * sizeof(double));
        s->y = malloc((n + 1) * sizeof(double));
        if (!s->name || !s->color || !s->x || !s->y) {
                free(s->name);
                free(s->color);
                free(s->x);
                free(s->y);
                memset(s, 0, sizeof(*s));
                return -1;
        }
        if (n) {
                memcpy(s->x, x, n * sizeof(double));
                memcpy(s->y, yv, n * sizeof(double));
        }
        s->n    = n;
        s->axis = y == CRMSYNC_SVG_Y2 ? CRMSYNC_SVG_Y2 : CRMSYNC_SVG_Y;
        s->area = area;
        c->s_cnt++;
        return 0;
}

int crmsync_svg_chart_line(svg_chart_t *c, const char *name, const char *color,
                           enum crmsync_svg_axis y, const double *x,
                           const double *yv, size_t n)
{
        return series_add(c, name, color, y, x, yv, n, 0);
}

int crmsync_svg_chart_area(svg_chart_t *c, const char *name, const char *color,
                           enum crmsync_svg_axis y, const double *x,
                           const double *yv, size_t n)
{
        return series_add(c, name, color, y, x, yv, n, 1);
}

int crmsync_svg_chart_point_titles(svg_chart_t *c, const char *const *titles,
                                   size_t n)
{
        struct series *s;
        if (!c->s_cnt || c->s[c->s_cnt - 1].n != n || c->s[c->s_cnt - 1].titles)
                return -1;
        s = &c->s[c->s_cnt - 1];
        if (!(s->titles = calloc(n + 1, sizeof(char *))))
                return -1;
        for (size_t i = 0; i < n; i++)
                if (titles[i] && !(s->titles[i] = strdup(titles[i])))
                        return -1; /* freed with the chart */
        return 0;
}

int crmsync_svg_chart_band(svg_chart_t *c, double x0, double x1,
                           const char *label, const char *color)
{
        return item_add(c->bands, &c->band_cnt, x0, x1, label,
                        color ? color : "rgba(214,39,40,0.16)", NULL);
}

int crmsync_svg_chart_marker(svg_chart_t *c, double x, const char *label,
                             const char *color)
{
        return item_add(c->marks, &c->mark_cnt, x, 0, label,
                        color ? color : "#444", NULL);
}

int crmsync_svg_chart_bar(svg_chart_t *c, const char *label, double value,
                          const char *color, const char *title)
{
        return item_add(
            c->bars, &c->bar_cnt, value, 0, label,
            color
                ? color
                : palette[c->bar_cnt % (sizeof(palette) / sizeof(palette[0]))],
            title);
}

/* -- ranges and mapping ---------------------------------------------------- */

static int usable(double v, int log)
{
        return isfinite(v) && (!log || v > 0);
}

static double tr(double v, int log)
{
        return log ? log10(v) : v;
}

/* A round step for about n ticks over span. */
static double nice_step(double span, int n)
{
        double raw = span / n, mag = pow(10, floor(log10(raw)));
        double f = raw / mag;
        return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

/* The drawn range of axis a: the data's, widened to round numbers where
 * the caller left an end open. */
static struct range axis_range(const svg_chart_t *c, int a)
{
        const struct axis *ax = &c->ax[a];
        struct range       r  = {INFINITY, -INFINITY, !!(ax->flags & 1), 0};
        double             step;

        if (a == CRMSYNC_SVG_X && c->bar_cnt) {
                r.lo  = 0;
                r.hi  = (double)c->bar_cnt;
                r.log = 0;
                return r;
        }
        for (size_t i = 0; i < c->s_cnt; i++) {
                const struct series *s = &c->s[i];
                if (a != CRMSYNC_SVG_X && s->axis != a)
                        continue;
                r.used = 1;
                for (size_t j = 0; j < s->n; j++) {
                        double v = a == CRMSYNC_SVG_X ? s->x[j] : s->y[j];
                        if (!usable(v, r.log))
                                continue;
                        v    = tr(v, r.log);
                        r.lo = v < r.lo ? v : r.lo;
                        r.hi = v > r.hi ? v : r.hi;
                }
        }
        if (a == CRMSYNC_SVG_Y && c->bar_cnt) {
                r.used = 1;
                for (size_t i = 0; i < c->bar_cnt; i++) {
                        double v = tr(c->bars[i].a, r.log);
                        if (!isfinite(v))
                                continue;
                        r.lo = v < r.lo ? v : r.lo;
                        r.hi = v > r.hi ? v : r.hi;
                }
        }
        if (a == CRMSYNC_SVG_X)
                for (size_t i = 0; i < c->band_cnt; i++) {
                        if (isfinite(c->bands[i].a) && c->bands[i].a < r.lo)
                                r.lo = c->bands[i].a;
                        if (isfinite(c->bands[i].b) && c->bands[i].b > r.hi)
                                r.hi = c->bands[i].b;
                }
        if (usable(ax->min, r.log))
                r.lo = tr(ax->min, r.log);
        if (usable(ax->max, r.log))
                r.hi = tr(ax->max, r.log);
        if (!isfinite(r.lo) || !isfinite(r.hi)) {
                r.lo = 0;
                r.hi = 1;
        }
        if (r.hi <= r.lo)
                r.hi = r.lo + (r.log ? 1 : fabs(r.lo) > 0 ? fabs(r.lo) : 1);
        if (!r.log && a != CRMSYNC_SVG_X) {
                step = nice_step(r.hi - r.lo, 5);
                if (!usable(ax->min, 0))
                        r.lo = floor(r.lo / step) * step;
                if (!usable(ax->max, 0))
                        r.hi = ceil(r.hi / step) * step;
        }
        if (r.log) {
                if (!usable(ax->min, 1))
                        r.lo = floor(r.lo);
                if (!usable(ax->max, 1))
                        r.hi = ceil(r.hi);
                if (r.hi <= r.lo)
                        r.hi = r.lo + 1;
        }
        return r;
}

struct plot {
        double       l, r, t, b;
        struct range x, y, y2;
};

static struct plot plot_of(const svg_chart_t *c)
{
        struct plot p;
        p.x  = axis_range(c, CRMSYNC_SVG_X);
        p.y  = axis_range(c, CRMSYNC_SVG_Y);
        p.y2 = axis_range(c, CRMSYNC_SVG_Y2);
        p.l  = MARGIN_L;
        p.r  = c->w - (p.y2.used ? MARGIN_R_TWO : MARGIN_R_ONE);
        p.t  = MARGIN_T;
        p.b  = c->h - MARGIN_B;
        return p;
}

static double map_x(const struct plot *p, double v)
{
        return p->l + (tr(v, p->x.log) - p->x.lo) / (p->x.hi - p->x.lo) *
                          (p->r - p->l);
}

static double map_y(const struct plot *p, const struct range *y, double v)
{
        return p->b - (tr(v, y->log) - y->lo) / (y->hi - y->lo) * (p->b - p->t);
}

double crmsync_svg_chart_px(const svg_chart_t *c, double x)
{
        struct plot p = plot_of(c);
        return map_x(&p, x);
}

static double clamp(double v, double lo, double hi)
{
        return v < lo ? lo : v > hi ? hi : v;
}

/* -- writing --------------------------------------------------------------- */

static void esc(FILE *fp, const char *s)
{
        crmsync_report_escape(fp, s);
}

/* A value as a label: integers without decimals, else up to 3
 * significant decimals. */
static void fmt_num(char *buf, size_t size, double v)
{
        if (fabs(v - round(v)) < 1e-9 && fabs(v) < 1e15)
                snprintf(buf, size, "%.0f", v);
        else if (fabs(v) >= 100)
                snprintf(buf, size, "%.1f", v);
        else
                snprintf(buf, size, "%.3g", v);
}

static void axis_title(FILE *fp, const struct axis *ax)
{
        esc(fp, ax->label ? ax->label : "");
        if (ax->unit && *ax->unit) {
                fputs(" (", fp);
                esc(fp, ax->unit);
                fputc(')', fp);
        }
}

/* Ticks and grid of a y axis; side 0 left, 1 right. */
static void y_ticks(FILE *fp, const svg_chart_t *c, const struct plot *p, int a)
{
        const struct axis  *ax     = &c->ax[a];
        const struct range *y      = a == CRMSYNC_SVG_Y ? &p->y : &p->y2;
        double              x      = a == CRMSYNC_SVG_Y ? p->l : p->r;
        const char         *anchor = a == CRMSYNC_SVG_Y ? "end" : "start";
        double              dx     = a == CRMSYNC_SVG_Y ? -6 : 6;
        double              step   = y->log ? 1 : nice_step(y->hi - y->lo, 5);
        char                num[32];

        for (int i = 0; i <= 40; i++) {
                double v = ax->tick_cnt ? 0 : y->lo + i * step, py;
                if (ax->tick_cnt) {
                        if ((size_t)i >= ax->tick_cnt)
                                break;
                        v = tr(ax->ticks[i].a, y->log);
                } else if (v > y->hi + step * 1e-6) {
                        break;
                }
                py = p->b - (v - y->lo) / (y->hi - y->lo) * (p->b - p->t);
                if (py < p->t - 0.5 || py > p->b + 0.5)
                        continue;
                fmt_num(num, sizeof(num), y->log ? pow(10, v) : v);
                if (a == CRMSYNC_SVG_Y)
                        fprintf(fp,
                                "<line class=\"grid\" x1=\"%.2f\" y1=\"%.2f\" "
                                "x2=\"%.2f\" y2=\"%.2f\"/>\n",
                                p->l, py, p->r, py);
                fprintf(fp,
                        "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"%s\" "
                        "dominant-baseline=\"middle\">",
                        x + dx, py, anchor);
                esc(fp, ax->tick_cnt ? ax->ticks[i].label : num);
                fputs("</text>\n", fp);
        }
        fprintf(fp,
                "<text class=\"axis-label\" transform=\"translate(%.2f %.2f) "
                "rotate(-90)\" text-anchor=\"middle\">",
                a == CRMSYNC_SVG_Y ? 16.0 : c->w - 10.0, (p->t + p->b) / 2);
        axis_title(fp, ax);
        fputs("</text>\n", fp);
}

static void x_ticks(FILE *fp, const svg_chart_t *c, const struct plot *p)
{
        const struct axis *ax = &c->ax[CRMSYNC_SVG_X];
        double step           = p->x.log ? 1 : nice_step(p->x.hi - p->x.lo, 8);
        double first = p->x.log ? ceil(p->x.lo) : ceil(p->x.lo / step) * step;
        char   num[32];

        for (int i = 0; i <= 60 && !c->bar_cnt; i++) {
                double v = first + i * step, px;
                if (ax->tick_cnt) {
                        if ((size_t)i >= ax->tick_cnt)
                                break;
                        v = tr(ax->ticks[i].a, p->x.log);
                } else if (v > p->x.hi + step * 1e-6) {
                        break;
                }
                px = p->l + (v - p->x.lo) / (p->x.hi - p->x.lo) * (p->r - p->l);
                if (px < p->l - 0.5 || px > p->r + 0.5)
                        continue;
                fmt_num(num, sizeof(num), p->x.log ? pow(10, v) : v);
                fprintf(fp,
                        "<line class=\"tick\" x1=\"%.2f\" y1=\"%.2f\" "
                        "x2=\"%.2f\" y2=\"%.2f\"/>\n<text x=\"%.2f\" "
                        "y=\"%.2f\" text-anchor=\"middle\">",
                        px, p->b, px, p->b + 5, px, p->b + 17);
                esc(fp, ax->tick_cnt ? ax->ticks[i].label : num);
                fputs("</text>\n", fp);
        }
        fprintf(fp,
                "<text class=\"axis-label\" x=\"%.2f\" y=\"%.2f\" "
                "text-anchor=\"middle\">",
                (p->l + p->r) / 2, (double)c->h - 8);
        axis_title(fp, ax);
        fputs("</text>\n", fp);
}

static void bands(FILE *fp, const svg_chart_t *c, const struct plot *p)
{
        for (size_t i = 0; i < c->band_cnt; i++) {
                const struct item *b  = &c->bands[i];
                double             x0 = clamp(map_x(p, b->a), p->l, p->r);
                double             x1 =
                    isfinite(b->b) ? clamp(map_x(p, b->b), p->l, p->r) : p->r;
                char n0[32], n1[32];
                fmt_num(n0, sizeof(n0), b->a);
                fmt_num(n1, sizeof(n1), b->b);
                fprintf(fp,
                        "<rect class=\"band\" x=\"%.2f\" y=\"%.2f\" "
                        "width=\"%.2f\" height=\"%.2f\" fill=\"",
                        x0, p->t, x1 - x0 > 1 ? x1 - x0 : 1, p->b - p->t);
                esc(fp, b->color);
                fprintf(fp, "\" data-x0=\"%.3f\" data-x1=\"%s\" data-label=\"",
                        b->a, isfinite(b->b) ? n1 : "open");
                esc(fp, b->label);
                fputs("\"><title>", fp);
                esc(fp, b->label);
                fprintf(fp, ": %s to %s %s</title></rect>\n", n0,
                        isfinite(b->b) ? n1 : "the end",
                        c->ax[0].unit ? c->ax[0].unit : "");
                /* Labels stagger downwards so overlapping bands stay
                 * readable. */
                fprintf(fp, "<text class=\"band-label\" x=\"%.2f\" y=\"%.2f\">",
                        x0 + 3, p->t + 12 + (double)(i % 4) * 12);
                esc(fp, b->label);
                fputs("</text>\n", fp);
        }
}

static void markers(FILE *fp, const svg_chart_t *c, const struct plot *p)
{
        for (size_t i = 0; i < c->mark_cnt; i++) {
                const struct item *m = &c->marks[i];
                double             x = map_x(p, m->a);
                char               n[32];
                if (x < p->l - 0.5 || x > p->r + 0.5)
                        continue;
                fmt_num(n, sizeof(n), m->a);
                fprintf(fp,
                        "<line class=\"marker\" x1=\"%.2f\" y1=\"%.2f\" "
                        "x2=\"%.2f\" y2=\"%.2f\" stroke=\"",
                        x, p->t, x, p->b);
                esc(fp, m->color);
                fputs("\"><title>", fp);
                esc(fp, m->label);
                fprintf(fp, " at %s %s</title></line>\n", n,
                        c->ax[0].unit ? c->ax[0].unit : "");
                fprintf(fp,
                        "<text class=\"marker-label\" x=\"%.2f\" y=\"%.2f\" "
                        "text-anchor=\"end\">",
                        x - 3, p->b - 6 - (double)(i % 5) * 12);
                esc(fp, m->label);
                fputs("</text>\n", fp);
        }
}

static void point_title(FILE *fp, const svg_chart_t *c, const struct series *s,
                        size_t j)
{
        const struct axis *xa = &c->ax[0], *ya = &c->ax[s->axis];
        char               xv[32], yv[32];
        if (s->titles && s->titles[j]) {
                fputs("<title>", fp);
                esc(fp, s->titles[j]);
                fputs("</title>", fp);
                return;
        }
        fmt_num(xv, sizeof(xv), s->x[j]);
        fmt_num(yv, sizeof(yv), s->y[j]);
        fputs("<title>", fp);
        esc(fp, s->name);
        fprintf(fp, ": %s ", yv);
        esc(fp, ya->unit ? ya->unit : "");
        fprintf(fp, " at %s ", xv);
        esc(fp, xa->label ? xa->label : "x");
        fputs(" ", fp);
        esc(fp, xa->unit ? xa->unit : "");
        fputs("</title>", fp);
}

static void series_draw(FILE *fp, const svg_chart_t *c, const struct plot *p,
                        const struct series *s)
{
        const struct range *y   = s->axis == CRMSYNC_SVG_Y2 ? &p->y2 : &p->y;
        int                 pen = 0;

        fputs("<g class=\"series\" data-name=\"", fp);
        esc(fp, s->name);
        fputs("\">\n<path fill=\"", fp);
        esc(fp, s->area ? s->color : "none");
        fputs("\" fill-opacity=\"0.25\" stroke=\"", fp);
        esc(fp, s->color);
        fputs("\" stroke-width=\"1.6\" d=\"", fp);
        for (size_t j = 0; j < s->n; j++) {
                double px, py;
                if (!usable(s->x[j], p->x.log) || !usable(s->y[j], y->log)) {
                        if (pen && s->area)
                                fprintf(fp, " V%.2f", p->b);
                        pen = 0;
                        continue;
                }
                px = clamp(map_x(p, s->x[j]), p->l, p->r);
                py = clamp(map_y(p, y, s->y[j]), p->t, p->b);
                if (!pen)
                        fprintf(fp,
                                s->area ? " M%.2f %.2f V%.2f" : " M%.2f %.2f",
                                px, s->area ? p->b : py, py);
                else if (s->area)
                        fprintf(fp, " H%.2f V%.2f", px, py);
                else
                        fprintf(fp, " L%.2f %.2f", px, py);
                pen = 1;
        }
        if (pen && s->area)
                fprintf(fp, " V%.2f", p->b);
        fputs("\"/>\n", fp);
        for (size_t j = 0; j < s->n; j++) {
                if (!usable(s->x[j], p->x.log) || !usable(s->y[j], y->log))
                        continue;
                fprintf(fp, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%s\" fill=\"",
                        clamp(map_x(p, s->x[j]), p->l, p->r),
                        clamp(map_y(p, y, s->y[j]), p->t, p->b),
                        s->n > 400 ? "1.2" : "2.2");
                esc(fp, s->color);
                fputs("\">", fp);
                point_title(fp, c, s, j);
                fputs("</circle>\n", fp);
        }
        fputs("</g>\n", fp);
}

static void bars_draw(FILE *fp, const svg_chart_t *c, const struct plot *p)
{
        double slot = (p->r - p->l) / (double)c->bar_cnt;
        char   v[32];
        for (size_t i = 0; i < c->bar_cnt; i++) {
                const struct item *b  = &c->bars[i];
                double             y0 = map_y(p, &p->y,
                                  p->y.log ? pow(10, p->y.lo)
                                                       : (p->y.lo > 0 ? p->y.lo : 0));
                /* No value (NAN): a faint bar the whole height. */
                int    none = !isfinite(b->a);
                double y1 =
                    none ? p->t : clamp(map_y(p, &p->y, b->a), p->t, p->b);
                double x = p->l + slot * (double)i + slot * 0.15;
                if (none)
                        snprintf(v, sizeof(v), "no value");
                else
                        fmt_num(v, sizeof(v), b->a);
                y0 = clamp(y0, p->t, p->b);
                fprintf(fp,
                        "<rect class=\"bar\" x=\"%.2f\" y=\"%.2f\" "
                        "width=\"%.2f\" height=\"%.2f\"%s fill=\"",
                        x, y1 < y0 ? y1 : y0, slot * 0.7, fabs(y0 - y1),
                        none ? " fill-opacity=\"0.3\"" : "");
                esc(fp, b->color);
                fputs("\"><title>", fp);
                if (b->title) {
                        esc(fp, b->title);
                } else {
                        esc(fp, b->label);
                        fprintf(fp, ": %s ", v);
                        esc(fp, c->ax[1].unit ? c->ax[1].unit : "");
                }
                fprintf(fp,
                        "</title></rect>\n<text x=\"%.2f\" y=\"%.2f\" "
                        "text-anchor=\"middle\">",
                        x + slot * 0.35, p->b + 17);
                esc(fp, b->label);
                fprintf(fp,
                        "</text>\n<text x=\"%.2f\" y=\"%.2f\" "
                        "text-anchor=\"middle\">%s</text>\n",
                        x + slot * 0.35,
                        none ? (p->t + p->b) / 2 : (y1 < y0 ? y1 : y0) - 4, v);
        }
}

static void legend(FILE *fp, const svg_chart_t *c)
{
        double x = MARGIN_L;
        for (size_t i = 0; i < c->s_cnt; i++) {
                const struct series *s = &c->s[i];
                fprintf(fp,
                        "<rect x=\"%.1f\" y=\"32\" width=\"14\" "
                        "height=\"4\" fill=\"",
                        x);
                esc(fp, s->color);
                fprintf(fp, "\"/><text x=\"%.1f\" y=\"38\">", x + 18);
                esc(fp, s->name);
                if (c->ax[2].label && s->axis == CRMSYNC_SVG_Y2)
                        fputs(" (right axis)", fp);
                fputs("</text>\n", fp);
                x += 30 +
                     6.5 * (double)(strlen(s->name) +
                                    (s->axis == CRMSYNC_SVG_Y2 && c->ax[2].label
                                         ? 13
                                         : 0));
        }
        if (c->band_cnt) {
                fprintf(fp,
                        "<rect x=\"%.1f\" y=\"28\" width=\"14\" height=\"12\" "
                        "fill=\"rgba(214,39,40,0.16)\"/><text x=\"%.1f\" "
                        "y=\"38\">shaded: fault window</text>\n",
                        x, x + 18);
        }
}

int crmsync_svg_chart_write(const svg_chart_t *c, FILE *fp)
{
        struct plot p = plot_of(c);

        fputs("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"", fp);
        esc(fp, c->id);
        fprintf(fp,
                "\" class=\"chart\" width=\"%d\" height=\"%d\" "
                "viewBox=\"0 0 %d %d\" data-x-min=\"%.6g\" "
                "data-x-max=\"%.6g\" data-x-scale=\"%s\" "
                "data-plot-left=\"%.2f\" data-plot-right=\"%.2f\" "
                "data-plot-top=\"%.2f\" data-plot-bottom=\"%.2f\" "
                "font-family=\"sans-serif\" font-size=\"11\">\n",
                c->w, c->h, c->w, c->h, p.x.log ? pow(10, p.x.lo) : p.x.lo,
                p.x.log ? pow(10, p.x.hi) : p.x.hi, p.x.log ? "log" : "linear",
                p.l, p.r, p.t, p.b);
        fputs("<style>.grid{stroke:#e4e4e4}.tick{stroke:#888}"
              ".axis{stroke:#333;fill:none}.axis-label{font-size:12px;"
              "fill:#222}.band-label{font-size:10px;fill:#a01010}"
              ".marker{stroke-dasharray:4 3}.marker-label{font-size:10px;"
              "fill:#333}.title{font-size:14px;font-weight:bold}"
              "</style>\n",
              fp);
        fprintf(fp, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", c->w,
                c->h);
        fputs("<text class=\"title\" x=\"12\" y=\"18\">", fp);
        esc(fp, c->title);
        fputs("</text>\n", fp);
        legend(fp, c);
        if (p.y.used || c->bar_cnt)
                y_ticks(fp, c, &p, CRMSYNC_SVG_Y);
        if (p.y2.used)
                y_ticks(fp, c, &p, CRMSYNC_SVG_Y2);
        x_ticks(fp, c, &p);
        bands(fp, c, &p);
        if (c->bar_cnt)
                bars_draw(fp, c, &p);
        else
                for (size_t i = 0; i < c->s_cnt; i++)
                        series_draw(fp, c, &p, &c->s[i]);
        markers(fp, c, &p);
        fprintf(fp,
                "<rect class=\"axis\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
                "height=\"%.2f\"/>\n</svg>\n",
                p.l, p.t, p.r - p.l, p.b - p.t);
        return ferror(fp) ? -1 : 0;
}

static int save_cb(void *arg, FILE *fp)
{
        fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", fp);
        return crmsync_svg_chart_write(arg, fp);
}

int crmsync_svg_chart_save(const svg_chart_t *c, const char *path, char *errstr,
                           size_t errstr_size)
{
        return crmsync_write_file_atomic(path, save_cb, (void *)c, errstr,
                                         errstr_size);
}
