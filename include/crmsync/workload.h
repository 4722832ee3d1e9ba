/* workload.h -- the mock CRM's data model and seeded workload generator.
 *
 * A workload is a commit log: an ordered array of changes, each with a
 * commit time relative to the workload start. The same configuration (and
 * seed) gives a byte-identical commit log. The final state of every record,
 * with merges and deletes applied, is the ground truth for the checker. */
#ifndef CRMSYNC_WORKLOAD_H
#define CRMSYNC_WORKLOAD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "crmsync/common.h"

enum crm_entity {
        CRM_ENTITY_ACCOUNT,
        CRM_ENTITY_CONTACT,
        CRM_ENTITY_OPPORTUNITY,
        CRM_ENTITY_ENTITLEMENT,
        CRM_ENTITY_CNT
};

enum crm_change {
        CRM_CHANGE_CREATE,
        CRM_CHANGE_UPDATE,
        CRM_CHANGE_DELETE,
        CRM_CHANGE_UNDELETE,
        CRM_CHANGE_GAP, /* header only: the reader must fetch the record */
        CRM_CHANGE_CNT
};

/* "account", "contact", ...; "create", "update", ... (static strings). */
const char *crmsync_entity_name(enum crm_entity e);
const char *crmsync_change_name(enum crm_change c);
/* Parse a name; returns -1 when unknown. */
int crmsync_entity_parse(const char *s);
int crmsync_change_parse(const char *s);

/* Hard bound on workload.changes (each event is ~200 bytes plus fields). */
#define CRM_WORKLOAD_MAX_CHANGES 10000000u
/* An explicit zero where 0 means "the default": contacts_per_account =
 * CRM_WORKLOAD_NONE creates accounts without initial contacts. */
#define CRM_WORKLOAD_NONE UINT32_MAX

/* Generator input. Zero values take the documented defaults. */
struct crm_workload_config {
        uint64_t seed;
        uint32_t accounts;                  /* accounts created first (2000) */
        uint32_t contacts_per_account;      /* initial contacts per account (2;
                                             * CRM_WORKLOAD_NONE for none) */
        uint32_t opportunities_per_account; /* (0) */
        uint32_t entitlements_per_account;  /* (0) */
        uint32_t changes;      /* total committed changes, creates included */
        double   rate_per_s;   /* mean commit rate (2000) */
        double   burst_factor; /* rate multiplier inside bursts (1 = none) */
        uint32_t burst_every_s, burst_len_s;
        /* Mix of changes after the initial creates, as weights. */
        double mix_update, mix_create, mix_delete, mix_undelete, mix_merge;
        double zipf_s;    /* hot-key skew of which account is touched (0 =
                           * uniform, 1.0 = classic Zipf) */
        uint32_t txn_max; /* changes grouped per transaction (1 = none) */
};

/* One committed change. Immutable once generated. The ids are strings the
 * workload owns (valid until destroy, shared between events: a record's
 * id is stored once); an absent one is "" (never NULL). */
struct crm_event {
        uint64_t    seq;        /* 1-based position in the commit log */
        const char *event_id;   /* "e-00000001" */
        const char *record_id;  /* "C-000001" */
        const char *account_id; /* owner after change */
        /* Merge: set on the winner's UPDATE (HubSpot mergedObjectIds);
         * merged_cnt of them. */
        const char *merged_ids[2];
        /* Merge: set on each loser's DELETE (Salesforce MasterRecordId). */
        const char *merged_into;
        /* Merge: set on each child's UPDATE that moves it to the winner
         * (the owner before the move; HubSpot's associationChange). */
        const char *previous_account_id;
        /* Changed fields (create/undelete: all fields; delete: none) as
         * compact JSON object text, owned by the workload: a jansson tree
         * an event was ~450 bytes, at a million changes most of the
         * harness's memory. crmsync_event_fields gives the object. */
        const char     *fields_json;
        int64_t         commit_ms; /* offset from the workload start */
        enum crm_entity entity;
        enum crm_change change;
        uint32_t        version; /* record version after this change */
        uint32_t        txn;     /* transaction key number */
        uint32_t        txn_seq; /* sequence number inside the txn */
        int             merged_cnt;
};

/* Final state of one record: the ground truth. The ids are strings the
 * workload owns (valid until destroy; the record's id is the one its
 * events share, its owner's and its merge winner's are those accounts'
 * ids): three 48-byte arrays a record were 168 bytes a record, now 48. */
struct crm_record {
        enum crm_entity entity;
        uint32_t        version;
        int             deleted;
        const char     *id;          /* "C-000001" */
        const char     *account_id;  /* owner ("" never: an id) */
        const char     *merged_into; /* "" unless merged away */
        /* All fields as compact JSON object text in the order written,
         * owned by the workload (a jansson tree a record was ~600 bytes);
         * crmsync_record_fields gives the object. */
        const char *fields_json;
};

typedef struct crm_workload crm_workload_t;

/* The effective configuration of cfg (defaults applied) into out. Returns
 * 0, or -1 + errstr when the generator would refuse cfg. */
int crmsync_workload_resolve(const struct crm_workload_config *cfg,
                             struct crm_workload_config *out, char *errstr,
                             size_t errstr_size);
/* Generate the commit log and final state. Returns NULL and fills errstr on
 * a bad configuration. The caller owns the result: free with
 * crmsync_workload_destroy. */
crm_workload_t *crmsync_workload_generate(const struct crm_workload_config *cfg,
                                          char *errstr, size_t errstr_size);
void            crmsync_workload_destroy(crm_workload_t *w); /* accepts NULL */

size_t crmsync_workload_event_cnt(const crm_workload_t *w);
/* Borrowed, valid until destroy. i is 0-based (seq = i + 1). */
const struct crm_event *crmsync_workload_event(const crm_workload_t *w,
                                               size_t                i);
/* Final state; borrowed, valid until destroy. */
size_t                   crmsync_workload_record_cnt(const crm_workload_t *w);
const struct crm_record *crmsync_workload_record(const crm_workload_t *w,
                                                 size_t                i);
/* Look up a record's final state by entity and id, or NULL. Borrowed,
 * valid until destroy. */
const struct crm_record *crmsync_workload_find(const crm_workload_t *w,
                                               enum crm_entity       e,
                                               const char           *id);
/* Commit time of the last event (ms from start). */
int64_t crmsync_workload_duration_ms(const crm_workload_t *w);
/* Lowercase hex SHA-256 of the canonical commit log. */
void crmsync_workload_sha256(const crm_workload_t *w, char out_hex[65]);

/* The effective configuration (defaults applied); borrowed, valid until
 * destroy. */
const struct crm_workload_config *
crmsync_workload_config(const crm_workload_t *w);

/* The final fields of r as a new JSON object (caller decrefs), in the
 * order they were written; NULL when out of memory. */
json_t *crmsync_record_fields(const struct crm_record *r);

/* The changed fields of ev as a new JSON object (caller decrefs), in the
 * order they were written; NULL when out of memory. */
json_t *crmsync_event_fields(const struct crm_event *ev);

/* The wire form of an event (docs/crm-api.md) with commit_ts_ms =
 * start_wall_ms + commit_ms. New reference for the caller. */
json_t *crmsync_event_to_json(const struct crm_event *ev,
                              int64_t                 start_wall_ms);

#endif
