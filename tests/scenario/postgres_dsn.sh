#!/usr/bin/env bash
# postgres_dsn.sh -- judging an existing database (sink.dsn) through the
# view contract: a PostgreSQL started here holds a table of its own
# (customer_profile, other column names), a view crmsync_profiles of the
# contract's shape over it, and crmsync's trigger function attached with
# the table's column names (`crmsync pg-schema --no-table` installs it).
# The reference profiler writes through the view (a simple view is
# updatable, ON CONFLICT included), so its rows land in the user's table.
# The run must pass; the rows are in the user's table; crmsync_apply_log
# was filled by the trigger on that table; terminate works on a DSN,
# while sink_slow (the proxy's) is skipped with its reason. A control run
# without the trigger must not pass (the judge relies on the database's
# apply log, not on the pipeline).
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
chmod 755 "$RUNS"
PGPID=""
trap '[ -n "$PGPID" ] && kill -INT $PGPID 2>/dev/null; sleep 1; rm -rf "$RUNS"' EXIT
FAILED=0
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
AS=""
[ "$(id -u)" = 0 ] && AS="setpriv --reuid=postgres --regid=postgres --init-groups --"
mkdir "$RUNS/data" && [ -n "$AS" ] && chown postgres "$RUNS/data"
$AS "$PGBIN/initdb" -D "$RUNS/data" -U postgres --auth=trust --no-sync \
        --no-instructions >"$RUNS/initdb.log" 2>&1 || { echo "FAIL: initdb"; cat "$RUNS/initdb.log"; exit 1; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$AS "$PGBIN/postgres" -D "$RUNS/data" -p "$PORT" -c listen_addresses=127.0.0.1 \
        -c unix_socket_directories= -c fsync=off >"$RUNS/pg.log" 2>&1 &
PGPID=$!
DSN="postgresql://postgres@127.0.0.1:$PORT/postgres"
for _ in $(seq 1 100); do psql "$DSN" -qAtc 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
psql "$DSN" -qAtc 'select 1' >/dev/null || { echo "FAIL: postgres did not start"; cat "$RUNS/pg.log"; exit 1; }

"$BIN" pg-schema --no-table | psql "$DSN" -q -v ON_ERROR_STOP=1 >/dev/null ||
        { echo "FAIL: crmsync pg-schema --no-table did not install"; exit 1; }
psql "$DSN" -q -v ON_ERROR_STOP=1 <<'SQL' >/dev/null || { echo "FAIL: user schema"; exit 1; }
CREATE TABLE customer_profile (
  entity text, record_id text, owner text NOT NULL DEFAULT '',
  crm_version bigint NOT NULL, is_deleted boolean NOT NULL DEFAULT false,
  attrs jsonb NOT NULL DEFAULT '{}', last_event text,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (entity, record_id));
CREATE VIEW crmsync_profiles AS
  SELECT entity AS type, record_id AS id, owner AS account_id,
         crm_version AS version, is_deleted AS deleted, attrs AS fields,
         last_event AS event_id, updated_at AS applied_at
  FROM customer_profile;
CREATE TRIGGER crmsync_apply_log AFTER INSERT OR UPDATE OR DELETE
  ON customer_profile FOR EACH ROW EXECUTE FUNCTION
  crmsync_log_apply('entity', 'record_id', 'owner', 'crm_version',
                    'is_deleted', 'last_event');
SQL

mk() { # NAME FAULTS-JSON
        cat >"$RUNS/$1.json" <<JSON
{ "name": "$1", "seed": 14501,
  "workload": { "accounts": 60, "contacts_per_account": 2, "changes": 600,
                "rate_per_s": 300 },
  "sink": { "type": "postgres", "dsn": "$DSN" },
  "target": { "type": "embedded", "brokers": 1, "partitions": 4 },
  "faults": [ $2 ],
  "settle_s": 3,
  "expect": { "converge_within_s": 20 } }
JSON
}
mk dsn-view '{ "at_s": 0.5, "type": "sink_outage", "mode": "terminate", "duration_s": 1 }'
mk dsn-slow '{ "at_s": 0.5, "type": "sink_slow", "latency_ms": 100, "duration_s": 0.5 }'
mkdir -p "$RUNS/view"
run_scenario "$BIN" "$RUNS/dsn-view.json" "$RUNS/view"
check "sink.dsn with the user's view: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
[ -n "$SUMMARY" ] || { echo "FAIL: no summary"; cat "$RUNS/view/stderr.txt"; exit 1; }
[ $RC -eq 0 ] || grep -E "FAIL|e\.g\.|skipped" "$RUNS/view/stdout.txt"
check "zero anomalies ($(jget "$SUMMARY" "d['anomalies']"))" \
        "$(jget "$SUMMARY" "all(v==0 for v in d['anomalies'].values())")"
rows=$(psql "$DSN" -qAtc 'select count(*) from customer_profile')
logged=$(psql "$DSN" -qAtc 'select count(*) from crmsync_apply_log')
check "the user's table holds the records ($rows rows)" "$([ "$rows" -gt 100 ] && echo True)"
check "crmsync_apply_log was filled by the trigger on the user's table ($logged)" \
        "$([ "$logged" -ge "$rows" ] && echo True)"
check "terminate ran on the DSN (not skipped)" \
        "$(jget "$SUMMARY" "[bool(f.get('skipped')) for f in d['faults']]==[False]")"
check "terminate cut the profiler's connections" \
        "$(grep -q 'terminating connection due to administrator command' "$(dirname "$SUMMARY")/profiler.log" && echo True)"

# sink_slow needs crmsync's proxy between the pipeline and the database:
# on a DSN it is skipped, with the reason, and a skipped fault fails.
psql "$DSN" -qc 'TRUNCATE customer_profile' >/dev/null
mkdir -p "$RUNS/slow"
run_scenario "$BIN" "$RUNS/dsn-slow.json" "$RUNS/slow"
check "sink_slow on a DSN: skipped, the run fails (exit $RC)" \
        "$([ $RC -eq 1 ] && jget "$SUMMARY" "[bool(f.get('skipped')) for f in d['faults']]==[True]")"
check "the skip names the reason (no fault proxy)" \
        "$(grep -q "fault proxy" "$SUMMARY" && echo True)"

# Control: without the trigger the database logs no apply, and the run
# cannot be judged (exit 2, naming the missing log), never a silent pass.
psql "$DSN" -qc 'DROP TRIGGER crmsync_apply_log ON customer_profile; TRUNCATE customer_profile' >/dev/null
mkdir -p "$RUNS/notrigger"
sed 's/"name": "dsn-view"/"name": "dsn-no-trigger"/' "$RUNS/dsn-view.json" >"$RUNS/dsn-no-trigger.json"
run_scenario "$BIN" "$RUNS/dsn-no-trigger.json" "$RUNS/notrigger"
check "without the trigger: the run cannot be judged (exit $RC, want 2)" "$([ $RC -eq 2 ] && echo True)"
check "without the trigger: it says the apply log misses the rows" \
        "$(grep -q 'never recorded in crmsync_apply_log' "$RUNS/notrigger/stdout.txt" "$RUNS/notrigger/stderr.txt" && echo True)"
exit $FAILED
