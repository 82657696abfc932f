# What the end-to-end scripts share: reporting ("ok - ...", "N passed, N
# failed"), the controller as a process, and kubectl helpers for
# WorkflowExecutions. Sourced; expects $bin, $plugins, $plane's env loaded
# and $work (a scratch directory) to be set.
# shellcheck shell=bash
passed=0 failed=0
ok() {
  echo "ok - $1"
  passed=$((passed + 1))
}
not_ok() {
  echo "not ok - $1"
  failed=$((failed + 1))
  [[ -n ${2:-} ]] && echo "$2" | sed 's/^/  /'
  return 0
}
# WFE_E2E_ONLY=REGEX runs only the checks whose function matches it.
check() { # NAME FUNCTION
  local name=$1
  shift
  [[ -n ${WFE_E2E_ONLY:-} && ! $1 =~ $WFE_E2E_ONLY ]] && return 0
  local started=$SECONDS
  if "$@" >"$work/check.out" 2>&1; then
    ok "$name ($((SECONDS - started)) s)"
    { grep -h '^figure:' "$work/check.out" || true; } | sed 's/^/  /'
  else
    not_ok "$name" "$(tail -n 8 "$work/check.out")"
  fi
}

# --- the controller -------------------------------------------------------
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
metrics_port=$(free_port)
probe_port=$(free_port)
# Metrics over plain HTTP (--metrics-secure=false), which `metric` reads,
# unless a script sets metrics_secure=true before start_controller.
start_controller() { # extra flags...
  "$bin" run --kubeconfig "${WFE_E2E_KUBECONFIG:-$WFE_PLANE_ADMIN_KUBECONFIG}" \
    --plugins-dir "$plugins" \
    --metrics-secure="${metrics_secure:-false}" \
    --metrics-bind-address "127.0.0.1:$metrics_port" \
    --health-probe-bind-address "127.0.0.1:$probe_port" \
    --log-format json "$@" >>"$work/controller.log" 2>&1 &
  controller_pid=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$probe_port/readyz" >/dev/null && return 0
    kill -0 "$controller_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "controller did not become ready"
  tail -n 20 "$work/controller.log"
  return 1
}
stop_controller() { # returns the controller's exit status
  [[ -n $controller_pid ]] || return 0
  kill -TERM "$controller_pid" 2>/dev/null
  wait "$controller_pid"
  local status=$?
  controller_pid=
  return $status
}
metric() {
  curl -s "http://127.0.0.1:$metrics_port/metrics" | awk -v m="$1" '$1 == m {print $2}'
}

# --- resources --------------------------------------------------------------
# A fresh namespace. Called as $(new_ns), a subshell: no counter survives,
# so the name is random, and a name already taken is drawn again.
new_ns() {
  local ns try
  for try in 1 2 3 4 5; do
    ns=e2e-$RANDOM$RANDOM
    kubectl create namespace "$ns" >/dev/null 2>&1 && { echo "$ns"; return 0; }
  done
  kubectl create namespace "$ns" >/dev/null && echo "$ns"
}
# wfe NAME [bundle=B] [KEY=VALUE of spec.workflowRef]...: a WorkflowExecution
# document whose workflow is the plane's Tekton bundle B (default ok; see
# tests/cluster/bundles), pinned by its digest, with the two parameters its
# Pipeline declares. containerImage=... or containerDigest=... among the
# KEY=VALUEs replace the bundle's.
wfe() {
  local name=$1 bundle=ok kv refs=() image digest var
  shift
  for kv in "$@"; do
    case $kv in
    bundle=*) bundle=${kv#bundle=} ;;
    *) refs+=("$kv") ;;
    esac
  done
  var=WFE_BUNDLE_${bundle^^}
  var=${var//-/_}
  image=${var}_IMAGE digest=${var}_DIGEST
  image=${!image:-} digest=${!digest:-}
  [[ " ${refs[*]} " == *" containerImage="* ]] && image=""
  [[ " ${refs[*]} " == *" containerDigest="* ]] && digest=""
  cat <<YAML
apiVersion: kubernaut.ai/v1alpha1
kind: WorkflowExecution
metadata:
  name: $name
spec:
  remediationRequestRef: {kind: RemediationRequest, name: rr-$name}
  workflowRef:
    workflowId: restart-pod
    version: "1.0.0"
$([[ -n $image ]] && echo "    containerImage: $image")
$([[ -n $digest ]] && echo "    containerDigest: $digest")
$(for kv in "${refs[@]}"; do echo "    ${kv%%=*}: ${kv#*=}"; done)
  parameters:
    TARGET_NAMESPACE: shop
    TARGET_DEPLOYMENT: cart
  confidence: 0.9
YAML
}
field() { kubectl get wfe -n "$1" "$2" -o jsonpath="{$3}" 2>/dev/null; }
wait_for() { # SECONDS COMMAND...: polls until COMMAND succeeds
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}
phase_is() { [[ $(field "$1" "$2" .status.phase) == "$3" ]]; }
reason_is() { [[ $(field "$1" "$2" .status.reason) == "$3" ]]; }
has_run() { [[ -n $(field "$1" "$2" .status.pipelineRunRef.name) ]]; }
run_of() { wait_for 20 has_run "$1" "$2" && field "$1" "$2" .status.pipelineRunRef.name; }
# Seconds expect_phase waits; runs that the real engine controllers carry
# from pod states take a few seconds each.
EXPECT_WAIT=${EXPECT_WAIT:-60}
expect_phase() { # NS NAME PHASE [OUTCOME]
  wait_for "$EXPECT_WAIT" phase_is "$1" "$2" "$3" || {
    echo "phase is '$(field "$1" "$2" .status.phase)', wanted $3: $(field "$1" "$2" .status.message)"
    return 1
  }
  [[ -z ${4:-} || $(field "$1" "$2" .status.outcome) == "$4" ]] || {
    echo "outcome is '$(field "$1" "$2" .status.outcome)', wanted $4"
    return 1
  }
}
# Output is captured before it is matched: with pipefail, `producer | grep -q`
# fails whenever grep stops reading before the producer stops writing.
has_event() {
  local events
  events=$(kubectl get events -n "$1" --field-selector "reason=$2" -o name) && [[ -n $events ]]
}
