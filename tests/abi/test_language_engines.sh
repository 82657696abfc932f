#!/usr/bin/env bash
# The echo engine in Go (engines/go) and in Rust (engines/rust), as the
# controller loads them: in engine hosts and in process, their
# configuration refused by key, and the same run rendered by both.
#   test_language_engines.sh BUILD_DIR
set -uo pipefail
build=$1
wfe=$build/bin/wfe-controller
plugins=$build/examples/plugins.d
work=$(mktemp -d "${TMPDIR:-/tmp}/wfe-language-engines.XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

check() { # NAME COMMAND...
    local name=$1
    shift
    if "$@" >"$work/out" 2>&1; then
        passed=$((passed + 1))
        echo "ok - $name"
    else
        failed=$((failed + 1))
        echo "not ok - $name"
        sed 's/^/#   /' "$work/out" | tail -n 20
    fi
}
has() { # TEXT COMMAND...: COMMAND's output holds TEXT
    local text=$1 out
    shift
    out=$("$@" 2>&1)
    grep -qF -- "$text" <<<"$out" || { echo "no \"$text\" in:"; echo "$out"; return 1; }
}

# Go's runtime reserves over 1 GiB of address space: its host needs more
# than the default memoryLimit (512Mi).
cat >"$work/process.yaml" <<'YAML'
engineHost:
  engines:
    echo-go: {memoryLimit: 2Gi}
YAML
cat >"$work/none.yaml" <<'YAML'
engineIsolation: none
YAML
cat >"$work/bad.yaml" <<'YAML'
engines:
  echo-go: {phaseKey: "not a key!"}
  echo-rust: {bogus: 1}
engineHost:
  engines:
    echo-go: {memoryLimit: 2Gi}
YAML
execution() { # ENGINE
    cat <<JSON
{"apiVersion":"kubernaut.ai/v1alpha1","kind":"WorkflowExecution",
 "metadata":{"name":"restart.checkout-api","namespace":"shop","uid":"0b7a6e0e-1111-4c3b-9f55-9d1c0c0a0001"},
 "spec":{"remediationRequestRef":{"kind":"RemediationRequest","name":"rr-1"},
  "workflowRef":{"workflowId":"restart-pod","version":"1.0.0","containerImage":"registry.example.com/w:1","engine":"$1"},
  "parameters":{"TARGET":"checkout-api","NOTE":"a \"quoted\" value, \$HOME and ünïcode"}}}
JSON
}

for mode in process none; do
    check "both load in mode $mode" has '"rejected":[
  ]' "$wfe" plugins --plugins-dir "$plugins" --config "$work/$mode.yaml" -o json
done
check "with the default memoryLimit the Go engine is refused, its file named, the limit blamed" \
    has "echo-go.so: the engine host of $plugins/echo-go.so exited with status 2 while creating its engines; it said: wfe-engine-host: cannot start threads: Resource temporarily unavailable (the address space may be exhausted: raise engineHost memoryLimit for this engine)" \
    "$wfe" plugins --plugins-dir "$plugins"
# An execution asking for the refused engine is told why, as the controller
# tells it on the resource (the same message).
check "an execution for the refused Go engine is told why it is not loaded" \
    has "engine \"echo-go\" is not loaded (refused in $plugins/echo-go.so: the engine host of $plugins/echo-go.so exited with status 2 while creating its engines; it said: " \
    "$wfe" render --plugins-dir "$plugins" -f <(execution echo-go)
check "a bad phaseKey is refused naming the key (Go)" \
    has "engine echo-go: create failed: phaseKey must be a ConfigMap data key ([-._a-zA-Z0-9], 1 to 253) (InvalidConfig, field phaseKey" \
    "$wfe" plugins --plugins-dir "$plugins" --config "$work/bad.yaml"
check "an unknown key is refused naming it (Rust)" \
    has 'engine echo-rust: create failed: unknown configuration key "bogus" (known: phaseKey) (UnknownConfigKey, field bogus' \
    "$wfe" plugins --plugins-dir "$plugins" --config "$work/bad.yaml"

renders_alike() {
    local engine mode
    for engine in echo-go echo-rust; do
        execution "$engine" >"$work/$engine.json"
        for mode in process none; do
            "$wfe" render --plugins-dir "$plugins" --config "$work/$mode.yaml" -f "$work/$engine.json" \
                >"$work/run-$engine-$mode.json" || return 1
        done
    done
    python3 - "$work"/run-*.json <<'PY'
import hashlib, json, sys
runs = [json.load(open(p)) for p in sys.argv[1:]]
first = runs[0]
assert all(r == first for r in runs), "the runs differ"
# The name: the execution's, dots made dashes, then ten hex digits of the
# SHA-256 of namespace/name/uid.
want = "restart-checkout-api-" + hashlib.sha256(
    b"shop/restart.checkout-api/0b7a6e0e-1111-4c3b-9f55-9d1c0c0a0001").hexdigest()[:10]
assert first["kind"] == "ConfigMap" and first["metadata"]["name"] == want, first["metadata"]["name"]
assert first["data"] == {"workflowId": "restart-pod", "phase": "",
                         "param.TARGET": "checkout-api",
                         "param.NOTE": 'a "quoted" value, $HOME and ünïcode'}, first["data"]
PY
}
check "Go and Rust render the same run, in an engine host and in process" renders_alike

invalid_parameter() { # ENGINE
    execution "$1" | sed 's/"TARGET":"checkout-api"/"TARGET":3/' >"$work/bad-$1.json"
    has "spec.parameters.TARGET" "$wfe" render --plugins-dir "$plugins" --config "$work/process.yaml" -f "$work/bad-$1.json"
}
check "a parameter that is not a string is refused naming it (Go)" invalid_parameter echo-go
check "a parameter that is not a string is refused naming it (Rust)" invalid_parameter echo-rust

echo "$passed passed, $failed failed"
((failed == 0))
