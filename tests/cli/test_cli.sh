#!/usr/bin/env bash
# The offline commands as a person uses them: plugins, render, --help,
# --version; exit codes and the messages on stderr.
#   test_cli.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$1 src=$2
bin=$build/bin/wfe-controller
plugins=$build/lib/wfe/plugins.d
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

check() { # NAME CONDITION...
  local name=$1
  shift
  if "$@"; then
    echo "ok - $name"
    passed=$((passed + 1))
  else
    echo "not ok - $name"
    failed=$((failed + 1))
  fi
}
# run EXPECTED_STATUS ARGS...: runs the controller, keeps stdout and stderr.
run() {
  local want=$1
  shift
  "$bin" "$@" >"$work/out" 2>"$work/err"
  local got=$?
  [[ $got == "$want" ]] || { echo "  exit $got, wanted $want: $*"; cat "$work/err"; return 1; }
}
has() { grep -qF -- "$2" "$work/$1" || { echo "  $1 lacks: $2"; cat "$work/$1"; return 1; }; }
sample() { # NAME SED-EXPRESSION: the success sample, edited
  sed "$2" "$src/deploy/samples/success.yaml" >"$work/$1.yaml"
}

check "version names the ABI" \
  eval 'run 0 --version && has out "engine ABI 1.1"'
check "help lists the commands" \
  eval 'run 0 --help && has out "render" && has out "plugins"'
check "unknown command is a usage error" \
  eval 'run 2 frobnicate && has err "unknown command"'

check "plugins lists both engines as JSON" \
  eval 'run 0 plugins --plugins-dir "$plugins" -o json &&
        has out "\"name\":\"tekton\"" && has out "\"name\":\"argo\"" &&
        has out "\"sha256\":\"$(sha256sum "$plugins/tekton.so" | cut -d" " -f1)\"" &&
        has out "\"rejected\":["'
check "plugins finds the plugin directory by itself" \
  eval 'run 0 plugins -o json && has out "\"path\":\"$(cd "$build" && pwd -P)/lib/wfe/plugins.d/tekton.so\""'
check "plugins fails when a required engine is missing" \
  eval 'run 1 plugins --plugins-dir "$plugins" --required-engines tekton,flux &&
        has err "flux"'
mkdir -p "$work/mixed"
cp "$plugins/tekton.so" "$work/mixed/"
echo "not a plugin" >"$work/mixed/junk.so"
check "plugins reports a refused file with its path and reason" \
  eval 'run 0 plugins --plugins-dir "$work/mixed" -o json &&
        has out "$work/mixed/junk.so" && has out "\"reason\":\"cannot load: "'

check "render prints the golden PipelineRun" \
  eval 'run 0 render --plugins-dir "$plugins" -f "$src/deploy/samples/success.yaml" &&
        diff -u "$src/tests/cli/success.pipelinerun.json" "$work/out"'
check "render reads standard input" \
  eval '"$bin" render --plugins-dir "$plugins" -f - <"$src/deploy/samples/success.yaml" >"$work/out2" &&
        diff -q "$src/tests/cli/success.pipelinerun.json" "$work/out2"'

sample bad 's/TARGET_NAMESPACE/target_ns/; s/confidence: 0.92/confidence: 1.5/'
check "render names every invalid field and its rule" \
  eval 'run 1 render --plugins-dir "$plugins" -f "$work/bad.yaml" &&
        has err "spec.parameters.target_ns: name must match ^[A-Z][A-Z0-9_]*\$" &&
        has err "spec.confidence: must be between 0 and 1" && [[ ! -s $work/out ]]'
sample flux 's/^  workflowRef:/  workflowRef:\n    engine: flux/'
check "render of an unknown engine lists the loaded engines" \
  eval 'run 1 render --plugins-dir "$plugins" -f "$work/flux.yaml" &&
        has err "engine \"flux\" is not loaded (loaded engines: argo, job, tekton)"'
sample argo 's/^  workflowRef:/  workflowRef:\n    engine: argo/'
check "render with argo prints a Workflow of the workflow's template" \
  eval 'run 0 render --plugins-dir "$plugins" -f "$work/argo.yaml" &&
        has out "\"kind\":\"Workflow\"" && has out "\"workflowTemplateRef\":{" &&
        has out "\"name\":\"restart-pod\""'
sample pinned 's/restart-pod:1.4.0$/restart-pod:1.4.0@sha256:0000000000000000000000000000000000000000000000000000000000000000/'
check "render refuses an image pinned to another digest" \
  eval 'run 1 render --plugins-dir "$plugins" -f "$work/pinned.yaml" &&
        has err "spec.workflowRef.containerDigest"'
printf 'apiVersion: kubernaut.ai/v1alpha1\nkind: [\n' >"$work/broken.yaml"
check "render reports YAML errors with file and line" \
  eval 'run 1 render --plugins-dir "$plugins" -f "$work/broken.yaml" &&
        has err "$work/broken.yaml:3:"'
check "render of a missing file names it" \
  eval 'run 1 render --plugins-dir "$plugins" -f "$work/nope.yaml" && has err "nope.yaml"'
printf 'engines:\n  tekton: {pipelineName: main}\n' >"$work/config.yaml"
check "render hands the engine its configuration block" \
  eval 'run 0 render --plugins-dir "$plugins" --config "$work/config.yaml" \
          -f "$src/deploy/samples/success.yaml" && has out "\"value\":\"main\""'
printf 'engines:\n  tekton: {pipelineNmae: main}\n' >"$work/badconfig.yaml"
check "an engine configuration error names the key" \
  eval 'run 1 render --plugins-dir "$plugins" --config "$work/badconfig.yaml" \
          -f "$src/deploy/samples/success.yaml" && has err "pipelineNmae"'
check "render into an execution namespace drops the ownerReference" \
  eval 'run 0 render --plugins-dir "$plugins" --execution-namespace runs \
          -f "$src/deploy/samples/success.yaml" && has out "\"namespace\":\"runs\"" &&
        ! grep -q ownerReferences "$work/out"'

echo "$passed passed, $failed failed"
((failed == 0))
