/* timing.c -- convergence after a moment, from commit and apply logs. */
#include "crmsync/timing.h"

#include <stdlib.h>

double crmsync_timing_convergence_s(const struct timing_facts *f, int64_t t_ms)
{
        uint32_t *target  = calloc(f->record_cnt + 1, sizeof(uint32_t));
        uint32_t *held    = calloc(f->record_cnt + 1, sizeof(uint32_t));
        size_t    pending = 0;
        int64_t   last    = t_ms;
        double    result  = -1;

        if (!target || !held)
                goto out;
        /* What the sink must hold: each record's last version by t_ms. */
        for (size_t i = 0; i < f->ev_cnt && f->ev_wall_ms[i] <= t_ms; i++)
                if (f->ev_record[i] < f->record_cnt)
                        target[f->ev_record[i]] = f->ev_version[i];
        for (uint32_t r = 0; r < f->record_cnt; r++)
                if (target[r])
                        pending++;
        /* Walk the applies in order; a record is done at the first applied
         * write of a version >= its target. */
        for (size_t i = 0; i < f->ap_cnt && pending; i++) {
                uint32_t r = f->ap_record[i];
                if (r >= f->record_cnt || !f->ap_applied[i] || !target[r] ||
                    held[r] >= target[r])
                        continue;
                held[r] = f->ap_version[i];
                if (held[r] >= target[r]) {
                        pending--;
                        if (f->ap_wall_ms[i] > last)
                                last = f->ap_wall_ms[i];
                }
        }
        if (!pending)
                result = (double)(last - t_ms) / 1000.0;
out:
        free(target);
        free(held);
        return result;
}
