/* bugs.c -- names of the reference pipeline's bug switches (bugs.h).
 * Only the name table lives here: it is the contract between the harness,
 * which names switches in scenarios and passes them as --bug NAME, and the
 * pipeline, which acts on the bits. */
#include "crmsync/bugs.h"

#include <stddef.h>
#include <string.h>

static const struct {
        uint32_t    bit;
        const char *name;
} bug_table[] = {
    {CRMSYNC_BUG_COMMIT_BEFORE_SINK_ACK, "commit-before-sink-ack"},
    {CRMSYNC_BUG_NO_DEDUPE, "no-dedupe"},
    {CRMSYNC_BUG_NO_VERSION_CHECK, "no-version-check"},
    {CRMSYNC_BUG_KEY_BY_RECORD_ID, "key-by-record-id"},
    {CRMSYNC_BUG_CURSOR_BEFORE_DELIVERY, "cursor-before-delivery"},
    {CRMSYNC_BUG_STRICT_GT_TIMESTAMP, "strict-gt-timestamp"},
    {CRMSYNC_BUG_NO_LOOKBACK, "no-lookback"},
    {CRMSYNC_BUG_IGNORE_MERGES, "ignore-merges"},
    {CRMSYNC_BUG_IGNORE_DELETES, "ignore-deletes"},
    {CRMSYNC_BUG_NO_RETRY_429, "no-retry-429"},
    {CRMSYNC_BUG_IGNORE_410, "ignore-410"},
    {CRMSYNC_BUG_IGNORE_RETRY_AFTER, "ignore-retry-after"},
};

uint32_t crmsync_bug_parse(const char *name)
{
        for (size_t i = 0; i < sizeof(bug_table) / sizeof(bug_table[0]); i++)
                if (!strcmp(bug_table[i].name, name))
                        return bug_table[i].bit;
        return 0;
}

const char *crmsync_bug_name(uint32_t bit)
{
        for (size_t i = 0; i < sizeof(bug_table) / sizeof(bug_table[0]); i++)
                if (bug_table[i].bit == bit)
                        return bug_table[i].name;
        return NULL;
}

const char *crmsync_bug_names(void)
{
        static char buf[512];
        if (!buf[0]) {
                for (size_t i = 0; i < sizeof(bug_table) / sizeof(bug_table[0]);
                     i++) {
                        if (i)
                                strcat(buf, ", ");
                        strcat(buf, bug_table[i].name);
                }
        }
        return buf;
}
