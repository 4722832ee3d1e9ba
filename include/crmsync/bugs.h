/* bugs.h -- the reference pipeline's deliberate bug switches (--bug NAME).
 * Off by default; each re-creates a classic production mistake so that the
 * harness can prove it catches it. */
#ifndef CRMSYNC_BUGS_H
#define CRMSYNC_BUGS_H

#include <stdint.h>

enum crmsync_bug {
        CRMSYNC_BUG_COMMIT_BEFORE_SINK_ACK = 1u << 0,  /* profiler */
        CRMSYNC_BUG_NO_DEDUPE              = 1u << 1,  /* profiler */
        CRMSYNC_BUG_NO_VERSION_CHECK       = 1u << 2,  /* profiler */
        CRMSYNC_BUG_KEY_BY_RECORD_ID       = 1u << 3,  /* connector */
        CRMSYNC_BUG_CURSOR_BEFORE_DELIVERY = 1u << 4,  /* connector */
        CRMSYNC_BUG_STRICT_GT_TIMESTAMP    = 1u << 5,  /* connector */
        CRMSYNC_BUG_NO_LOOKBACK            = 1u << 6,  /* connector */
        CRMSYNC_BUG_IGNORE_MERGES          = 1u << 7,  /* profiler */
        CRMSYNC_BUG_IGNORE_DELETES         = 1u << 8,  /* profiler */
        CRMSYNC_BUG_NO_RETRY_429           = 1u << 9,  /* connector */
        CRMSYNC_BUG_IGNORE_410             = 1u << 10, /* connector */
        CRMSYNC_BUG_IGNORE_RETRY_AFTER     = 1u << 11, /* connector */
};

/* Parse one switch name ("no-dedupe"); returns its bit or 0 if unknown. */
uint32_t crmsync_bug_parse(const char *name);
/* Name of a single bit (static storage), or NULL. */
const char *crmsync_bug_name(uint32_t bit);
/* Comma-separated list of all names, for --help. Static storage. */
const char *crmsync_bug_names(void);

#endif
