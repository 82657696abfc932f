#!/usr/bin/env bash
# wfe-engine-check's command line: usage errors exit 2, TAP 13 and JSON
# carry the same results as text, --valgrind without valgrind is a skip.
#   test_engine_check_cli.sh KIT PLUGIN VECTORS_DIR
set -euo pipefail
kit=$1 plugin=$2 vectors=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Usage errors: no plugin, a plugin that is not there, an unknown format,
# vectors that are not a folder, an unknown option.
for args in "" "$work/none.so" "$plugin -o yaml" "$plugin --vectors $work/none" "$plugin --bogus"; do
  # shellcheck disable=SC2086
  if "$kit" $args >/dev/null 2>&1; then fail "accepted: $args"; fi
  # shellcheck disable=SC2086
  "$kit" $args >/dev/null 2>&1 || [[ $? -eq 2 ]] || fail "not exit 2: $args"
done
"$kit" --help | grep -q '^Usage: wfe-engine-check' || fail "--help"

# A plugin that is not one: a failed check, not a usage error.
echo "not a plugin" >"$work/x.so"
if "$kit" "$work/x.so" >"$work/bad.txt"; then fail "loaded a text file"; fi
grep -q '^not ok - descriptor.version: cannot load' "$work/bad.txt" || fail "load error: $(cat "$work/bad.txt")"

# A plugin named without a slash is the file in this folder, not one
# dlopen would look for on the library path.
(cd "$(dirname "$plugin")" && "$kit" "./$(basename "$plugin")" >/dev/null &&
  "$kit" "$(basename "$plugin")" >/dev/null) || fail "a relative plugin path"

# The three formats agree.
"$kit" "$plugin" --vectors "$vectors" >"$work/text"
"$kit" "$plugin" --vectors "$vectors" -o tap >"$work/tap" 2>/dev/null
"$kit" "$plugin" --vectors "$vectors" -o json >"$work/json" 2>/dev/null
checks=$(grep -c '^ok - ' "$work/text")
head -1 "$work/tap" | grep -qx 'TAP version 13' || fail "TAP header"
grep -qx "1\.\.$checks" "$work/tap" || fail "TAP plan"
[[ $(grep -c '^ok [0-9]* - ' "$work/tap") -eq $checks ]] || fail "TAP lines"
python3 - "$work/json" "$checks" <<'PY' || fail "JSON"
import json, sys
results = json.load(open(sys.argv[1]))
assert len(results) == int(sys.argv[2]), len(results)
for r in results:
    assert set(r) == {"name", "ok", "skip", "message"}, r
    assert r["ok"] is True
assert any(r["name"] == "render.vector/basic" for r in results)
PY

# A failure: TAP gives its reason in a YAML block, JSON in "message".
flawed=$(dirname "$plugin")/flawed_name_ignores_uid.so
if "$kit" "$flawed" -o tap >"$work/tap" 2>/dev/null; then fail "flawed passed"; fi
grep -q '^not ok [0-9]* - names.uid-distinct$' "$work/tap" || fail "TAP not ok line"
grep -A1 'names.uid-distinct' "$work/tap" | grep -qx '  ---' || fail "TAP YAML block"
"$kit" "$flawed" -o json >"$work/json" 2>/dev/null && fail "flawed passed (json)"
python3 - "$work/json" <<'PY' || fail "JSON of a failure"
import json, sys
failed = [r for r in json.load(open(sys.argv[1])) if not r["ok"]]
assert [r["name"] for r in failed] == ["names.uid-distinct"], failed
assert "uid" in failed[0]["message"]
PY

# --valgrind when valgrind is not on PATH is a skip, with the reason.
PATH=/nonexistent "$(command -v "$kit" || echo "$kit")" "$plugin" --valgrind >"$work/vg" || true
grep -q '^ok - leaks # SKIP valgrind is not on PATH' "$work/vg" || fail "valgrind skip: $(grep leaks "$work/vg")"
echo "PASS: usage errors, formats and the valgrind skip"
