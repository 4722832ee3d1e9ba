#!/usr/bin/env bash
# bug_switches_slow.sh -- the bug switches whose scenario restarts the
# profiler: the restarted consumer waits out the killed member's group
# session (librdkafka's 45 s session.timeout.ms), so each run takes ~1 min.
# Same checks as bug_switches.sh.
exec bash "$(dirname "$0")/bug_switches.sh" "$1" "$2" commit-before-sink-ack
