#!/bin/sh
# late-request.sh -- the reference profiler, wrapped: once SIGTERM has
# stopped it, the wrapper asks the sink once more, as a pipeline that
# flushes its last batch on the way out does, and writes the HTTP status
# to $CRMSYNC_RUN_DIR/late-request.txt ("000": no answer within 4 s).
# Used by tests/scenario/run_end.sh: the harness must keep serving the
# sink until the pipeline has stopped. $CRMSYNC_TEST_BIN is the binary.
"$CRMSYNC_TEST_BIN" profiler &
pid=$!
stop() {
        kill -TERM "$pid" 2>/dev/null
        wait "$pid"
        code=$(curl -s -o /dev/null -m 4 -w '%{http_code}' \
                "$CRMSYNC_SINK_URL/v1/applies?limit=1")
        echo "$code" >"$CRMSYNC_RUN_DIR/late-request.txt"
        exit 0
}
trap stop TERM
wait "$pid"
