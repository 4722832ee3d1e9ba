#!/usr/bin/env bash
# fault_scenarios_2.sh -- the second half of the fault scenarios (see
# fault_scenarios.sh, which runs the first half).
# usage: bash fault_scenarios_2.sh <crmsync-binary> <source-dir>
exec bash "$2/tests/scenario/fault_scenarios.sh" "$1" "$2" 2
