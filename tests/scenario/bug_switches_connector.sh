#!/usr/bin/env bash
# bug_switches_connector.sh -- the reference connector's bug switches are
# caught, and each scenario passes without its switch (bug_switches.sh
# does the work on tests/scenarios/mutations/connector/).
exec bash "$(dirname "$0")/bug_switches.sh" "$1" "$2" \
        "$2/tests/scenarios/mutations/connector"
