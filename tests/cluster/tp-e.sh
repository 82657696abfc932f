#!/usr/bin/env bash
# Tests of the test control plane itself: starts its own planes in a
# temporary directory, exercises up/down, identities, the CRDs, tekton-sim
# and every fault, and always stops the planes on exit.
#
#   tests/cluster/test-plane
#
# Prints one line per check (`ok - NAME` / `not ok - NAME`, followed by the
# failing command's output as `#` lines), then `N passed, N failed`; exits
# non-zero when any check failed. WFE_KEEP=1 keeps the temporary directory.
set -euo pipefail
# shellcheck disable=SC1091 # DIR/env files exist only at run time
. "$(dirname "$0")/lib.sh"

t0=$SECONDS
passed=0 failed=0
work="$(mktemp -d "${TMPDIR:-/tmp}/wfe-test-plane.XXXXXX")"
A="$work/a" B="$work/b" E="$work/e"

finish() {
    local rc=$?
    for p in "$A" "$B" "$E"; do
        [[ -f "$p/env" ]] && { "$CLUSTER_SRC/down" "$p" >/dev/null 2>&1 || echo "# down $p failed"; }
    done
    if [[ "${WFE_KEEP:-0}" == 1 ]]; then echo "# kept $work"; else rm -rf "$work"; fi
    exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

# check NAME COMMAND...: run COMMAND, print the TAP-style result line.
check() {
    local name="$1" out s=$SECONDS
    shift
    if out="$("$@" 2>&1)"; then
        passed=$((passed + 1))
        echo "ok - $name"
    else
        failed=$((failed + 1))
        echo "not ok - $name"
        [[ -n "$out" ]] && sed 's/^/#   /' <<<"$out" | tail -n 30
    fi
    ((SECONDS - s < 3)) || echo "#   took $((SECONDS - s))s"
    return 0
}
summary() {
    echo "# test-plane took $((SECONDS - t0))s"
    echo "$passed passed, $failed failed"
    ((failed == 0))
}

k() { "$CLUSTER_BIN/kubectl" --kubeconfig="$A/admin.kubeconfig" "$@"; }
kc() { "$CLUSTER_BIN/kubectl" --kubeconfig="$A/controller.kubeconfig" "$@"; }
# HTTP status of a request to plane DIR as USER (admin|controller).
http_status() { # DIR admin|controller PATH [curl args]
    local dir="$1" who="$2" path="$3"
    shift 3
    (. "$dir/env" && curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$dir/ca.crt" \
        -H "Authorization: Bearer $(cat "$dir/$who.token")" "$@" "$WFE_PLANE_API_URL$path")
}
expect_eq() { # WANT GOT [what]
    [[ "$1" == "$2" ]] || { echo "${3:-value}: want '$1', got '$2'"; return 1; }
}
# Every pid and every port a plane's env records.
plane_pids() { (. "$1/env" && for v in $(compgen -v WFE_PLANE_ | grep '_PID$'); do echo "${!v}"; done | xargs); }
plane_ports() { (. "$1/env" && for v in $(compgen -v WFE_PLANE_ | grep '_PORT$'); do echo "${!v}"; done | xargs); }

# --- start ---------------------------------------------------------------
exec 3>&1; E=/tmp/p3; work=$(mktemp -d); trap - EXIT
# --- engines: the real controllers on kwok's nodes ------------------------
# Plane E runs every engine's controller. What each check proves is what the
# real component did: Tekton resolved a bundle from the registry and made
# TaskRuns, the Job controller made pods, kwok ended them as asked.
ke() { "$CLUSTER_BIN/kubectl" --kubeconfig="$E/admin.kubeconfig" "$@"; }
cond() { # KIND/NAME NS TYPE: "STATUS REASON" of that condition
    ke -n "$2" get "$1" -o jsonpath="{.status.conditions[?(@.type==\"$3\")].status} {.status.conditions[?(@.type==\"$3\")].reason}"
}
wait_cond() { # SECONDS KIND/NAME NS TYPE WANT
    local deadline=$((SECONDS + $1)) got
    until got="$(cond "$2" "$3" "$4" 2>/dev/null)" && [[ "$got" == "$5" ]]; do
        ((SECONDS < deadline)) || { echo "$2 in $3: $4 is '$got', wanted '$5' after $1 s"; return 1; }
        sleep 0.2
    done
}
bundle() { (. "$E/env" && v="WFE_BUNDLE_${1^^}" && v="${v//-/_}" && echo "${!v}"); }
pipelinerun() { # NAME BUNDLE [extra spec YAML line]
    ke -n engines create -f - >/dev/null <<YAML
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: $1}
spec:
  params: [{name: TARGET_NAMESPACE, value: shop}, {name: TARGET_DEPLOYMENT, value: cart}]
  pipelineRef:
    resolver: bundles
    params:
    - {name: bundle, value: "$(bundle "$2")"}
    - {name: name, value: workflow}
    - {name: kind, value: pipeline}
${3:-}
YAML
}

t_up_engines() {
    local s=$SECONDS
    "$CLUSTER_SRC/up" --engines all "$E" >"$work/up-e.out" 2>&1 || { cat "$work/up-e.out"; return 1; }
    echo "# plane with every engine up in $((SECONDS - s))s: $(head -n 1 "$work/up-e.out" | sed 's/.*ready in //; s/: https.*//')" >&3
    ke create namespace engines >/dev/null
}
ke create namespace engines >/dev/null 2>&1 || true
if [[ -f "$E/env" ]] && ke get namespace engines >/dev/null 2>&1; then

t_engine_identities() {
    local who
    who="$("$CLUSTER_BIN/kubectl" --kubeconfig="$E/pki/tekton-controller.kubeconfig" auth whoami -o jsonpath='{.status.userInfo.username}')"
    expect_eq system:serviceaccount:tekton-pipelines:tekton-pipelines-controller "$who" "Tekton controller" || return 1
    expect_eq yes "$("$CLUSTER_BIN/kubectl" --kubeconfig="$E/pki/tekton-controller.kubeconfig" auth can-i create pods -n engines)" \
        "Tekton may create pods (its own ClusterRole)" || return 1
    expect_eq no "$("$CLUSTER_BIN/kubectl" --kubeconfig="$E/pki/tekton-controller.kubeconfig" auth can-i delete nodes 2>/dev/null)" \
        "Tekton may not delete nodes" || return 1
    expect_eq 3 "$(ke get nodes -l type=kwok -o name | grep -c .)" "kwok nodes"
}
check "the engines' controllers run as their own ServiceAccounts, with their own RBAC" t_engine_identities

# Tekton's processes bind their webhook, probe and profiling ports on every
# address, Argo's its /healthz (upstream listens on ":PORT", no option);
# everything else of the plane listens on 127.0.0.1 only.
t_engines_loopback() {
    local pid line bad=""
    for pid in $(plane_pids "$E"); do
        for line in $(awk 'NR > 1 && $4 == "0A" { print $2 "/" $10 }' /proc/net/tcp /proc/net/tcp6); do
            find "/proc/$pid/fd" -lname "socket:\[${line#*/}\]" 2>/dev/null | grep -q . || continue
            case "${line%%:*}" in
            0100007F | 00000000000000000000000001000000) ;;
            *) [[ "$(readlink "/proc/$pid/exe")" == @("$TEKTON_BIN/"*|"$ARGO_BIN/"*) ]] ||
                bad+=" $(readlink "/proc/$pid/exe"):${line%/*}" ;;
            esac
        done
    done
    [[ -z "$bad" ]] || { echo "listening beyond loopback:$bad"; return 1; }
}
check "only Tekton's and Argo's own listeners go beyond 127.0.0.1 (upstream binds :PORT)" t_engines_loopback

t_webhook() {
    local out
    ke -n engines create -f - >/dev/null <<'YAML' || return 1
apiVersion: tekton.dev/v1beta1
kind: Task
metadata: {name: converted}
spec:
  steps: [{name: s, image: wfe.invalid/step:1, script: "true"}]
YAML
    # Stored as v1 (the conversion webhook), defaulted (the mutating one).
    expect_eq "tekton.dev/v1 {}" "$(ke -n engines get tasks.v1.tekton.dev converted -o jsonpath='{.apiVersion} {.spec.steps[0].computeResources}')" "v1 view" || return 1
    expect_eq tekton.dev/v1beta1 "$(ke -n engines get tasks.v1beta1.tekton.dev converted -o jsonpath='{.apiVersion}')" "v1beta1 view" || return 1
    out="$(ke -n engines create -f - 2>&1 <<'YAML'
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: invalid}
spec:
  steps: [{name: "Not A Label", image: wfe.invalid/step:1}]
YAML
)" && { echo "invalid Task admitted"; return 1; }
    grep -q 'admission webhook "validation.webhook.pipeline.tekton.dev" denied.*spec.steps\[0\].name' <<<"$out" || { echo "$out"; return 1; }
}
check "Tekton's webhook: v1beta1 conversion, defaulting and validation, as in a cluster" t_webhook

t_tekton_ok() {
    pipelinerun ok ok || return 1
    wait_cond 60 pipelinerun/ok engines Succeeded "True Succeeded" || return 1
    # The resolver fetched the bundle: its digest is the run's refSource.
    expect_eq "$(bundle ok_digest)" "sha256:$(ke -n engines get pipelinerun ok -o jsonpath='{.status.provenance.refSource.digest.sha256}')" \
        "digest of the resolved Pipeline" || return 1
    local tr
    for tr in build test; do
        expect_eq "PipelineRun ok true" "$(ke -n engines get taskrun "ok-$tr" -o jsonpath='{.metadata.ownerReferences[0].kind} {.metadata.ownerReferences[0].name} {.metadata.ownerReferences[0].controller}')" "owner of TaskRun ok-$tr" || return 1
        expect_eq "True Succeeded" "$(cond "taskrun/ok-$tr" engines Succeeded)" "TaskRun ok-$tr" || return 1
        [[ "$(ke -n engines get pod "ok-$tr-pod" -o jsonpath='{.spec.nodeName} {.status.phase}')" == kwok-node-?" Succeeded" ]] ||
            { echo "pod ok-$tr-pod: $(ke -n engines get pod "ok-$tr-pod" -o jsonpath='{.spec.nodeName} {.status.phase}')"; return 1; }
    done
}
check "a PipelineRun from a bundle: resolved from the registry, TaskRuns and pods by Tekton, run on kwok nodes" t_tekton_ok

t_tekton_outcomes() {
    pipelinerun fail fail && pipelinerun oom oom && pipelinerun badimage badimage &&
        pipelinerun missing no-workflow &&
        pipelinerun timeout slow "  timeouts: {pipeline: 2s}" && pipelinerun cancel slow || return 1
    wait_cond 20 taskrun/cancel-build engines Succeeded "Unknown Running" &&
        ke -n engines patch pipelinerun cancel --type=merge -p '{"spec":{"status":"Cancelled"}}' >/dev/null || return 1
    wait_cond 60 pipelinerun/fail engines Succeeded "False Failed" &&
        expect_eq "2 Error" "$(ke -n engines get taskrun fail-test -o jsonpath='{.status.steps[?(@.name=="run")].terminated.exitCode} {.status.steps[?(@.name=="run")].terminated.reason}')" "failed step" &&
        wait_cond 60 pipelinerun/oom engines Succeeded "False Failed" &&
        expect_eq "137 OOMKilled" "$(ke -n engines get taskrun oom-test -o jsonpath='{.status.steps[?(@.name=="run")].terminated.exitCode} {.status.steps[?(@.name=="run")].terminated.reason}')" "OOMKilled step" &&
        wait_cond 60 taskrun/badimage-build engines Succeeded "False TaskRunImagePullFailed" &&
        wait_cond 60 pipelinerun/badimage engines Succeeded "False Failed" &&
        wait_cond 60 pipelinerun/missing engines Succeeded "False CouldntGetPipeline" &&
        wait_cond 60 pipelinerun/timeout engines Succeeded "False PipelineRunTimeout" &&
        wait_cond 60 pipelinerun/cancel engines Succeeded "False Cancelled"
}
check "Tekton makes each outcome from pod states: failed step, OOMKilled, image pull, bundle missing, timeout, cancel" t_tekton_outcomes

# With the stock CRD and no webhook every status write to a
# ResolutionRequest is refused (the API server drops Tekton's null
# refSource/source, which the CRD requires), so a bundle that cannot be
# fetched left the PipelineRun resolving for two hours; the webhook's
# defaulting puts the keys back, as in every real installation.
t_resolution_fails_fast() {
    expect_eq "False ResolutionFailed" "$(ke -n engines get resolutionrequests -o jsonpath='{range .items[?(@.metadata.ownerReferences[0].name=="missing")]}{.status.conditions[0].status} {.status.conditions[0].reason}{end}')" \
        "the failed ResolutionRequest's status"
}
check "a bundle that cannot be fetched fails the ResolutionRequest and the PipelineRun at once" t_resolution_fails_fast

job() { # NAME [pod annotations as YAML flow map]
    ke -n engines create -f - >/dev/null <<YAML
apiVersion: batch/v1
kind: Job
metadata: {name: $1}
spec:
  backoffLimit: 0
  template:
    metadata: {annotations: ${2:-{\}}}
    spec:
      restartPolicy: Never
      containers: [{name: main, image: wfe.invalid/job:1}]
YAML
}
t_job() {
    job done && job broken '{wfe.test/exit-code: "3"}' || return 1
    wait_cond 30 job/done engines Complete "True CompletionsReached" &&
        wait_cond 30 job/broken engines Failed "True BackoffLimitExceeded" || return 1
    expect_eq "Job done" "$(ke -n engines get pods -l job-name=done -o jsonpath='{.items[0].metadata.ownerReferences[0].kind} {.items[0].metadata.ownerReferences[0].name}')" "pod's owner" &&
        expect_eq 3 "$(ke -n engines get pods -l job-name=broken -o jsonpath='{.items[0].status.containerStatuses[0].state.terminated.exitCode}')" "exit code"
}
check "Jobs: pods made by the Job controller; Complete, and Failed with the pod's exit code" t_job

# Argo: a Workflow that references a WorkflowTemplate, its pod made by
# the real workflow-controller; the pod's annotations (from the template)
# tell kwok how it ends. Templates give `command:` (Argo would look the
# image up otherwise).
t_argo_controller() {
    ke -n engines create -f - >/dev/null <<'YAML' || return 1
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: remediate}
spec:
  entrypoint: main
  arguments: {parameters: [{name: exit, value: "0"}]}
  templates:
  - name: main
    metadata: {annotations: {wfe.test/exit-code: "{{workflow.parameters.exit}}", wfe.test/fail-container: main}}
    container: {image: wfe.invalid/step:1, command: [/bin/true]}
YAML
    local w
    for w in done:0 broken:3; do
        ke -n engines create -f - >/dev/null <<YAML || return 1
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf-${w%%:*}}
spec:
  workflowTemplateRef: {name: remediate}
  arguments: {parameters: [{name: exit, value: "${w#*:}"}]}
YAML
    done
    phase() { [[ "$(ke -n engines get workflow "$1" -o jsonpath='{.status.phase}')" == "$2" ]]; }
    local deadline=$((SECONDS + 60))
    until phase wf-done Succeeded && phase wf-broken Failed; do
        ((SECONDS < deadline)) || { echo "phases: $(ke -n engines get workflows -o jsonpath='{range .items[*]}{.metadata.name}={.status.phase} {end}')"; return 1; }
        sleep 0.5
    done
    ke -n engines get workflow wf-broken -o jsonpath='{.status.nodes.*.message}' | grep -q 'exit code 3' ||
        { echo "node messages: $(ke -n engines get workflow wf-broken -o jsonpath='{.status.nodes.*.message}')"; return 1; }
}
check "Argo: Workflows from a WorkflowTemplate; Succeeded, and Failed with the pod's exit code" t_argo_controller

t_engine_down() {
    "$CLUSTER_SRC/fault" "$E" stop tekton-controller || return 1
    pipelinerun waiting ok || return 1
    sleep 2
    expect_eq "" "$(ke -n engines get pipelinerun waiting -o jsonpath='{.status.conditions}')" "status with Tekton down" || return 1
    "$CLUSTER_SRC/fault" "$E" start tekton-controller || return 1
    wait_cond 60 pipelinerun/waiting engines Succeeded "True Succeeded"
}
check "fault stop/start tekton-controller: a run waits with no status, then completes" t_engine_down

fi # plane E up
summary
