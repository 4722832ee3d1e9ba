#!/usr/bin/env bash
# bug_switches_connector.sh -- the reference connector's bug switches are
# caught, and each scenario passes without its switch (bug_switches.sh
# does the work; it runs the profiler's switches by default).
exec bash "$(dirname "$0")/bug_switches.sh" "$1" "$2" key-by-record-id \
        cursor-before-delivery strict-gt-timestamp no-lookback no-retry-429 \
        ignore-410
