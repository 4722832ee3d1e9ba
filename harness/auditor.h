/* auditor.h -- an independent reader of the changes topic.
 *
 * The auditor reads every partition of the changes topic and its dead-
 * letter topic from the beginning on its own thread, with no consumer
 * group, and records where each event id landed. It is the harness's own
 * view of the log: it does not trust the pipeline's account of it. */
#ifndef CRMSYNC_AUDITOR_H
#define CRMSYNC_AUDITOR_H

#include <stddef.h>
#include <stdint.h>

/* 32 bytes: a 1,000,000-change run holds a fact per record read. */
struct auditor_fact {
        const char *event_id; /* "" if none; owned by the auditor, valid
                               * until crmsync_auditor_destroy */
        int64_t       offset;
        int64_t       ts_ms; /* the record's timestamp */
        int32_t       partition;
        unsigned char dlq;       /* 1 = read from the dead-letter topic */
        unsigned char misrouted; /* key is not the envelope's account_id */
        unsigned char full; /* the envelope holds the record's whole state */
};

typedef struct auditor auditor_t;

/* Start reading topic (partitions of it) and topic.dlq with the client
 * properties in props_file (librdkafka key=value, bootstrap included).
 * max_facts caps what is kept (facts past it are counted, not kept).
 * NULL + errstr on failure. The caller owns the result: free with
 * crmsync_auditor_destroy. */
auditor_t *crmsync_auditor_start(const char *props_file, const char *topic,
                                 int partitions, size_t max_facts, char *errstr,
                                 size_t errstr_size);
/* Read on until every partition reached its high watermark as of now (at
 * most timeout_ms), then stop the thread. Call once. */
void crmsync_auditor_finish(auditor_t *a, int timeout_ms);
/* After finish: the facts (borrowed, valid until destroy). */
size_t   crmsync_auditor_facts(const auditor_t            *a,
                               const struct auditor_fact **out);
uint64_t crmsync_auditor_bytes(const auditor_t *a);   /* key+value bytes */
uint64_t crmsync_auditor_dropped(const auditor_t *a); /* over max_facts */
/* Lowest offset still held by partition p at finish (> 0 when the broker
 * dropped old records), or -1 if unknown. */
int64_t crmsync_auditor_low_watermark(const auditor_t *a, int32_t p);
void    crmsync_auditor_destroy(auditor_t *a); /* accepts NULL */

#endif
