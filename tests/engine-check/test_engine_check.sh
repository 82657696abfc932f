#!/usr/bin/env bash
# Runs wfe-engine-check on one plugin and asserts the exact set of checks
# that fail: none for an engine that keeps the contract, the named ones for
# a fixture with a known flaw. The exit status must say the same.
#   test_engine_check.sh KIT PLUGIN VECTORS_DIR|- [FAILING_CHECK...]
set -uo pipefail
kit=$1 plugin=$2 vectors=$3
shift 3
out=$(mktemp)
trap 'rm -f "$out"' EXIT

start=$SECONDS
args=("$plugin")
[[ $vectors == - ]] || args+=(--vectors "$vectors")
"$kit" "${args[@]}" >"$out" 2>&1
status=$?
cat "$out"
echo "($((SECONDS - start)) s)"

failed=$(sed -n 's/^not ok - \([^:]*\).*/\1/p' "$out" | sort | tr '\n' ' ')
expected=$(printf '%s\n' "$@" | sed '/^$/d' | sort | tr '\n' ' ')
if [[ $failed != "$expected" ]]; then
  echo "FAIL: the failing checks are [${failed% }], expected [${expected% }]"
  exit 1
fi
want_status=$(($# > 0 ? 1 : 0))
if [[ $status -ne $want_status ]]; then
  echo "FAIL: exit status $status, expected $want_status"
  exit 1
fi
grep -q "^[0-9]* passed, $# failed$" "$out" || { echo "FAIL: no summary line"; exit 1; }
echo "PASS: the failing checks are exactly [${expected% }]"
