#!/usr/bin/python3
"""pg_profiler.py -- tests/byo/profiler.py writing to PostgreSQL with
psycopg2 instead of the HTTP sink, plugged into `crmsync run` through
pipeline.profiler.command with "sink": {"type": "postgres"}.

Everything but the sink write is profiler.py's (dedupe, one op per record
per round, parking a partial update until its predecessor is there,
offsets committed only after the sink answered). The sink write is SQL on
the schema of docs/sink-postgres.md, one transaction per round:
  whole record  INSERT ... ON CONFLICT (type, id) DO UPDATE ...
                WHERE crmsync_profiles.version < excluded.version
  delete        the same as a tombstone (deleted, fields {}, its version)
  changed fields  UPDATE ... WHERE version = if_version (on top of exactly
                the version before; 0 = a new record)
A write that changed no row is stale (the stored version is as new) or a
gap (the predecessor is missing): the same answers as the HTTP sink's.
Side effects are rows of crmsync_side_effects, written only when the
event's row is not there yet (a commit whose answer was lost is not
requested again by the retry). A failed transaction
(connection lost, terminated, the trigger's injected failure) is rolled
back and retried with backoff.

Environment: CRMSYNC_PG_DSN (set by crmsync run for the postgres sink)
and profiler.py's. Needs python3-psycopg2 and python3-confluent-kafka.
"""

import json
import os
import sys
import time

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import profiler as base  # noqa: E402  (tests/byo/profiler.py)

COLS = "(type, id, account_id, version, deleted, fields, event_id)"
UPSERT = ("INSERT INTO crmsync_profiles AS p " + COLS +
          " VALUES (%s, %s, %s, %s, false, %s, %s)"
          " ON CONFLICT (type, id) DO UPDATE SET"
          " account_id = excluded.account_id, version = excluded.version,"
          " deleted = false, fields = {fields}, event_id = excluded.event_id,"
          " applied_at = clock_timestamp()"
          " WHERE p.version < excluded.version RETURNING 1")
FULL = UPSERT.format(fields="excluded.fields")
MERGE_FORCED = UPSERT.format(fields="CASE WHEN p.deleted THEN excluded.fields"
                                    " ELSE p.fields || excluded.fields END")
MERGE_FIRST = ("INSERT INTO crmsync_profiles " + COLS +
               " VALUES (%s, %s, %s, %s, false, %s, %s)"
               " ON CONFLICT (type, id) DO NOTHING RETURNING 1")
MERGE_ON = ("UPDATE crmsync_profiles SET account_id = %s, version = %s,"
            " fields = CASE WHEN deleted THEN %s::jsonb"
            " ELSE fields || %s::jsonb END, deleted = false, event_id = %s,"
            " applied_at = clock_timestamp()"
            " WHERE type = %s AND id = %s AND version = %s RETURNING 1")
DELETE = ("INSERT INTO crmsync_profiles AS p " + COLS +
          " VALUES (%s, %s, %s, %s, true, '{}', %s)"
          " ON CONFLICT (type, id) DO UPDATE SET"
          " account_id = CASE WHEN excluded.account_id = ''"
          " THEN p.account_id ELSE excluded.account_id END,"
          " version = excluded.version, deleted = true, fields = '{}',"
          " event_id = excluded.event_id, applied_at = clock_timestamp()"
          " WHERE p.version < excluded.version RETURNING 1")


def write_op(cur, op):
    """One op in the open transaction: 200 applied, or 409 stale / gap."""
    t, i, v, ev = op["type"], op["id"], op["version"], op["event_id"]
    acct = op.get("account_id", "")
    fields = json.dumps(op.get("fields") or {})
    if op["op"] == "delete":
        cur.execute(DELETE, (t, i, acct, v, ev))
    elif not op.get("merge_fields"):
        cur.execute(FULL, (t, i, acct, v, fields, ev))
    elif "if_version" not in op:
        cur.execute(MERGE_FORCED, (t, i, acct, v, fields, ev))
    elif op["if_version"] == 0:
        cur.execute(MERGE_FIRST, (t, i, acct, v, fields, ev))
    else:
        cur.execute(MERGE_ON, (acct, v, fields, fields, ev, t, i,
                               op["if_version"]))
    if cur.fetchone():
        return {"status": 200, "result": "applied"}
    cur.execute("SELECT version FROM crmsync_profiles"
                " WHERE type = %s AND id = %s", (t, i))
    row = cur.fetchone()
    have = row[0] if row else 0
    return {"status": 409, "result": "stale" if have >= v else "gap",
            "stored_version": have}


class PgProfiler(base.Profiler):
    def __init__(self):
        super().__init__()
        self.dsn = os.environ["CRMSYNC_PG_DSN"]
        self.sink = self.dsn
        self.conn = None

    def connection(self):
        if self.conn is None or self.conn.closed:
            self.conn = psycopg2.connect(self.dsn, connect_timeout=3,
                                         application_name="byo-pg-profiler")
        return self.conn

    def transaction(self, path, body):
        """The request as one transaction; its reply as the HTTP sink's."""
        conn = self.connection()
        try:
            with conn.cursor() as cur:
                if path == "/v1/profiles/_bulk":
                    res = [write_op(cur, json.loads(line))
                           for line in body.decode().splitlines() if line]
                    reply = {"errors": False, "results": res}
                else:  # one side effect
                    # Only if not there yet: when the server commits but the
                    # connection is cut before its answer (terminate), the
                    # retry must not request the side effect a second time.
                    fx = json.loads(body)
                    cur.execute("INSERT INTO crmsync_side_effects"
                                " (event_id, kind, key) SELECT %s, %s, %s"
                                " WHERE NOT EXISTS (SELECT 1 FROM"
                                " crmsync_side_effects WHERE event_id = %s"
                                " AND kind = %s)",
                                (fx["event_id"], fx["kind"], fx["key"],
                                 fx["event_id"], fx["kind"]))
                    reply = {"count": 1}
            conn.commit()  # the answers hold only once committed
            return reply
        except psycopg2.Error:
            try:
                conn.rollback()
            except psycopg2.Error:
                conn.close()
            raise

    def post(self, path, body, ctype):
        """profiler.py's POST, done as SQL: retried with backoff until it
        commits; None when giving up (stopping)."""
        attempt, last_log = 0, 0.0
        while True:
            try:
                return self.transaction(path, body)
            except psycopg2.Error as e:
                why = " ".join(str(e).split())
            now = time.monotonic()
            if now - last_log >= 1:
                base.log("%s: %s (retry %d)" % (path, why, attempt + 1))
                last_log = now
            attempt += 1
            self.st["retries"] += 1
            if self.nap(min(base.BACKOFF_MAX_S,
                            base.BACKOFF_MIN_S * (2 ** min(attempt, 5)))):
                return None


def main():
    import signal
    signal.signal(signal.SIGTERM, base.on_signal)
    signal.signal(signal.SIGINT, base.on_signal)
    for k in ("CRMSYNC_BOOTSTRAP_SERVERS", "CRMSYNC_PG_DSN",
              "CRMSYNC_GROUP_ID"):
        if not os.environ.get(k):
            base.log("%s is not set (run me from crmsync run with the "
                     "postgres sink)" % k)
            return 2
    try:
        PgProfiler().run()
    except (base.KafkaException, ValueError, OSError) as e:
        base.log("fatal: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
