#!/usr/bin/python3
"""pg_profiler_blind.py -- a deliberately naive profile builder for the
postgres sink: it writes every change with a plain upsert, last write
wins, WITHOUT the version check (no WHERE crmsync_profiles.version <
excluded.version). crmsync must catch it from crmsync_apply_log (a
version applied after a newer one: reordered) or from the end state
(stale). tests/scenario/byo_postgres.sh runs it; do not copy it.
Environment: CRMSYNC_BOOTSTRAP_SERVERS, CRMSYNC_TOPIC, CRMSYNC_GROUP_ID,
CRMSYNC_PG_DSN, CRMSYNC_READY_FILE (set by crmsync run).
"""
import json
import os
import signal

import psycopg2
from confluent_kafka import Consumer

stop = False
signal.signal(signal.SIGTERM, lambda *_: globals().update(stop=True))
env = os.environ
db = psycopg2.connect(env["CRMSYNC_PG_DSN"], connect_timeout=3)
c = Consumer({"bootstrap.servers": env["CRMSYNC_BOOTSTRAP_SERVERS"],
              "group.id": env["CRMSYNC_GROUP_ID"],
              "enable.auto.commit": False, "auto.offset.reset": "earliest",
              "fetch.wait.max.ms": 50, "session.timeout.ms": 6000})


def ready(consumer, parts):
    consumer.assign(parts)
    if env.get("CRMSYNC_READY_FILE"):
        open(env["CRMSYNC_READY_FILE"], "w").close()


c.subscribe([env.get("CRMSYNC_TOPIC", "crm.changes")], on_assign=ready)
while not stop:
    msgs = [m for m in c.consume(500, 0.05) if not m.error()]
    if not msgs:
        continue
    with db.cursor() as cur:
        for m in msgs:
            ev = json.loads(m.value())
            dead = ev["change_type"] == "delete"
            full = ev["change_type"] != "update" or ev.get("full_state")
            cur.execute(
                "INSERT INTO crmsync_profiles AS p (type, id, account_id,"
                " version, deleted, fields, event_id)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (type, id) DO UPDATE SET"
                " account_id = excluded.account_id,"
                " version = excluded.version, deleted = excluded.deleted,"
                " fields = CASE WHEN %s THEN excluded.fields"
                " ELSE p.fields || excluded.fields END,"
                " event_id = excluded.event_id",  # no version check
                (ev["entity"], ev["record_id"], ev.get("account_id") or "",
                 ev["version"], dead,
                 json.dumps({} if dead else ev.get("fields") or {}),
                 ev["event_id"], bool(full or dead)))
    db.commit()
    c.commit(asynchronous=False)
c.close()
