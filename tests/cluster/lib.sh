# Shared helpers for the tests/cluster scripts. Sourced, never executed.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are used by the scripts that source this

CLUSTER_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$CLUSTER_SRC/versions.env"

# Built binaries and extracted CRDs live outside the work tree, one directory
# per pinned version set, so the slow cold build happens once per machine and
# a version bump never mixes old and new binaries.
CLUSTER_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/wfe/cluster"
CLUSTER_BIN="$CLUSTER_CACHE/k8s-$K8S_VERSION-etcd-$ETCD_VERSION/bin"
# helm has its own directory: its version moves apart from the plane's.
HELM_BIN="$CLUSTER_CACHE/helm-$HELM_VERSION/bin"
# (-2: the set of Argo CRDs grew; a cache holding the old set is not reused.)
CLUSTER_CRDS="$CLUSTER_CACHE/crds/tekton-$TEKTON_VERSION-argo-$ARGO_WORKFLOWS_VERSION-2"

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
# The calling script's leading comment block is its manual: --help prints
# it and exits 0; a usage error prints it on stderr and exits 2.
manual() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
usage() { manual >&2; exit 2; }
case "${1:-}" in -h | --help) manual; exit 0 ;; esac
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------
# Build helpers (used by build and by each component's build_NAME).

# Build the main package PKG of the wrapper module in MODULE_DIR (relative
# to this directory) into OUT_DIR/NAME, unless it is there already.
# WFE_BUILD_TIME=1 runs the build under /usr/bin/time -v, whose report goes
# to OUT_DIR/.NAME.time.
build_pkg() { # MODULE_DIR OUT_DIR NAME PKG [extra ldflags]
    local dir="$1" out="$2/$3" pkg="$4" extra="${5:-}" timer=()
    [[ -x "$out" ]] && return 0
    mkdir -p "$2"
    log "building $3 (cold builds take minutes)"
    [[ "${WFE_BUILD_TIME:-0}" == 1 ]] && timer=(/usr/bin/time -v -o "$2/.$3.time")
    # Build into a temporary name and rename, so an interrupted build never
    # leaves a truncated binary that later runs would trust.
    (cd "$CLUSTER_SRC/$dir" &&
        "${timer[@]}" env GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
            go build -trimpath -ldflags="-s -w$extra" -o "$out.tmp.$$" "$pkg") ||
        { rm -f "$out.tmp.$$"; die "building $3 failed"; }
    mv -f "$out.tmp.$$" "$out"
}

# Build each NAME=PKG of the wrapper module DIR into OUT_DIR.
build_tool() { # DIR OUT_DIR NAME=PKG...
    local dir="$1" outdir="$2" spec
    shift 2
    for spec in "$@"; do
        build_pkg "$dir" "$outdir" "${spec%%=*}" "${spec#*=}"
    done
}

# The directory of MODULE@VERSION in the module cache, downloading it first
# (go mod download verifies the zip against the public checksum database).
module_dir() { # MODULE@VERSION
    local json
    # Run outside any module so the wrapper go.mod files stay untouched.
    json="$(cd / && go mod download -json "$1")" || die "go mod download $1 failed"
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json"
}

# ---------------------------------------------------------------------------
# Plane helpers shared by up, down and fault. A plane's state is DIR/env,
# which every script sources; it is rewritten when a pid changes.

# Seconds to wait for each component to become ready.
PLANE_TIMEOUT="${WFE_PLANE_TIMEOUT:-60}"

# Ports in use on this host (any state, IPv4 and IPv6), one decimal per line.
# Read from /proc so no extra tool (ss, netstat, python) is needed.
used_ports() {
    local f
    for f in /proc/net/tcp /proc/net/tcp6; do
        [[ -r "$f" ]] && awk 'NR > 1 { split($2, a, ":"); print a[2] }' "$f"
    done | while read -r hex; do echo $((16#$hex)); done | sort -un
}

# Ports listening on this host (state 0A is LISTEN), one decimal per line.
listening_ports() {
    local f
    for f in /proc/net/tcp /proc/net/tcp6; do
        [[ -r "$f" ]] && awk 'NR > 1 && $4 == "0A" { split($2, a, ":"); print a[2] }' "$f"
    done | while read -r hex; do echo $((16#$hex)); done | sort -un
}

# Print N distinct random ports that nothing on the host uses. They are
# drawn below the kernel's ephemeral range, so outgoing connections never
# take them in the meantime. A race with another plane starting at the same
# moment remains possible: the caller binds them and retries on failure.
pick_ports() { # N
    local n="$1" lo=20000 hi=32767 used picked=() p
    used=" $(used_ports | tr '\n' ' ') "
    while ((${#picked[@]} < n)); do
        p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo)))
        [[ "$used" == *" $p "* || " ${picked[*]} " == *" $p "* ]] && continue
        picked+=("$p")
    done
    echo "${picked[@]}"
}

# True when process PID itself holds the listening socket of PORT. A health
# check alone could be answered by another plane that owns the port while
# our process failed to bind it.
owns_port() { # PID PORT
    local inode
    inode="$(awk -v p="$(printf '%04X' "$2")" 'NR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] == p) print $10 }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null | head -n 1)"
    [[ -n "$inode" ]] && find "/proc/$1/fd" -lname "socket:\[$inode\]" 2>/dev/null | grep -q .
}

# True when the process PID is alive and was started with a path under DIR
# on its command line (every component is): a recycled pid, or a plane in
# DIR2 where DIR is a prefix of DIR2, must never be signalled by mistake.
is_ours() { # PID DIR
    [[ -n "$1" && -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2/"
}

# The last lines of a log, indented, for error messages.
log_tail() { # FILE
    echo "---- last lines of $1 ----" >&2
    tail -n "${2:-25}" "$1" 2>/dev/null | sed 's/^/    /' >&2 || true
    echo "----" >&2
}

# Wait until COMMAND succeeds, while PID lives; fail after PLANE_TIMEOUT.
# The caller shows the log: it knows whether the failure is worth a retry.
wait_until() { # WHAT PID LOG COMMAND...
    local what="$1" pid="$2" logf="$3" deadline=$((SECONDS + PLANE_TIMEOUT))
    shift 3
    until "$@" >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "$what exited before becoming ready (log: $logf)"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            log "$what not ready after ${PLANE_TIMEOUT}s (log: $logf)"
            return 1
        fi
        sleep 0.2
    done
}

# Load DIR/env; fail if there is none.
load_plane() { # DIR
    [[ -f "$1/env" ]] || die "$1/env not found: no plane was started in $1"
    # shellcheck source=/dev/null
    . "$1/env"
}

# The plane's processes, in start order; `down` stops them in reverse.
PLANE_COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok registry
    tekton-webhook tekton-controller tekton-resolvers workflow-controller)

# The variable holding a component's pid.
pid_var() { # COMPONENT
    case "$1" in
    etcd) echo WFE_PLANE_ETCD_PID ;;
    kube-apiserver) echo WFE_PLANE_APISERVER_PID ;;
    kube-controller-manager) echo WFE_PLANE_KCM_PID ;;
    *) local n="${1^^}"; echo "WFE_PLANE_${n//-/_}_PID" ;;
    esac
}
component_pid() { local v; v="$(pid_var "$1")"; echo "${!v:-}"; }

# Stop every component of the plane, engines first and storage last, so
# nothing logs errors about a missing peer while it shuts down.
stop_plane() {
    local i name
    for ((i = ${#PLANE_COMPONENTS[@]} - 1; i >= 0; i--)); do
        name="${PLANE_COMPONENTS[i]}"
        stop_pid "$(component_pid "$name")"
        printf -v "$(pid_var "$name")" '%s' ""
    done
}

# The engines a plane can run the real controllers of.
PLANE_ENGINES=(tekton job argo)
# Normalise an --engines LIST: known names, sorted, comma-separated; `all`
# is every engine and `none` (or nothing) is none.
parse_engines() { # LIST
    local list="$1" e out=()
    [[ "$list" == all ]] && list="${PLANE_ENGINES[*]}"
    [[ "$list" == none ]] && list=""
    for e in "${PLANE_ENGINES[@]}"; do
        [[ ",${list//[ ]/,}," == *",$e,"* ]] && out+=("$e")
    done
    for e in ${list//,/ }; do
        [[ " ${PLANE_ENGINES[*]} " == *" $e "* ]] || { log "unknown engine '$e' (known: ${PLANE_ENGINES[*]}, all, none)"; return 1; }
    done
    local IFS=,
    echo "${out[*]:-none}"
}
has_engine() { [[ ",${WFE_PLANE_ENGINES:-}," == *",$1,"* ]]; }

# The parts that play the cluster and the engines' controllers each log in
# with a static token of their own: NAME|USER|GROUPS. The Tekton users
# carry the names and groups of Tekton's ServiceAccounts, so Tekton's own
# RBAC (applied from its release) is what authorizes them, as in a cluster.
sa_groups() { echo "system:serviceaccounts,system:serviceaccounts:$1,system:authenticated"; }
PLANE_IDENTITIES=(
    "kube-scheduler|system:kube-scheduler|system:authenticated"
    "kwok|wfe-kwok|system:masters,system:authenticated"
    "tekton-webhook|system:serviceaccount:tekton-pipelines:tekton-pipelines-webhook|$(sa_groups tekton-pipelines)"
    "tekton-controller|system:serviceaccount:tekton-pipelines:tekton-pipelines-controller|$(sa_groups tekton-pipelines)"
    "tekton-resolvers|system:serviceaccount:tekton-pipelines-resolvers:tekton-pipelines-resolvers|$(sa_groups tekton-pipelines-resolvers)"
    "workflow-controller|system:serviceaccount:argo:argo|$(sa_groups argo)"
)

# (Re)write DIR/env: every WFE_PLANE_* variable, and the derived ones.
write_env() {
    local d="$WFE_PLANE_DIR" v
    WFE_PLANE_BIN="$CLUSTER_BIN"
    WFE_PLANE_API_URL="https://127.0.0.1:$WFE_PLANE_API_PORT"
    WFE_PLANE_CA="$d/ca.crt"
    WFE_PLANE_ADMIN_KUBECONFIG="$d/admin.kubeconfig"
    WFE_PLANE_CONTROLLER_KUBECONFIG="$d/controller.kubeconfig"
    WFE_PLANE_ETCD_URL="http://127.0.0.1:$WFE_PLANE_ETCD_PORT"
    {
        echo "# Source me: . $d/env"
        echo "export KUBECONFIG='$d/admin.kubeconfig'"
        echo "export PATH='$CLUSTER_BIN':\"\$PATH\""
        for v in $(compgen -v WFE_PLANE_ | sort); do
            printf 'export %s=%q\n' "$v" "${!v}"
        done
        # The test bundles' references, when the plane has them.
        [[ -f "$d/bundles.env" ]] && sed -n 's/^\(WFE_BUNDLE_[A-Z0-9_]*=[^[:space:]]*\)$/export \1/p' "$d/bundles.env"
    } >"$d/env.tmp"
    mv -f "$d/env.tmp" "$d/env"
}

# A serving certificate signed by the plane's CA: PREFIX.key and PREFIX.crt.
# EC P-256 keys: fast to generate, and every TLS stack has them.
issue_cert() { # PREFIX COMMON_NAME SUBJECT_ALT_NAMES
    local d="$WFE_PLANE_DIR"
    openssl req -new -nodes -subj "/CN=$2" -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -keyout "$1.key" -out "$1.csr" 2>/dev/null &&
        openssl x509 -req -days 3650 -in "$1.csr" -CA "$d/ca.crt" -CAkey "$d/pki/ca.key" \
            -CAcreateserial -out "$1.crt" -extfile <(printf '%s\n' \
                "subjectAltName=$3" "basicConstraints=critical,CA:FALSE" \
                "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth") 2>/dev/null &&
        rm -f "$1.csr"
}

# Start a component like spawn, with an environment: ENV is one string of
# NAME=VALUE words (values without spaces), as the component's Deployment
# would set them; nothing of the caller's environment is passed but PATH
# and HOME.
spawn_env() { # PIDVAR BINARY ENV ARGS...
    local pidvar="$1" bin="$2" name="${2##*/}" vars
    read -r -a vars <<<"$3"
    shift 3
    setsid env -i PATH="$PATH" HOME="$HOME" "${vars[@]}" "$bin" "$@" \
        </dev/null >>"$WFE_PLANE_DIR/logs/$name.log" 2>&1 &
    printf -v "$pidvar" '%s' "$!"
}

# Start a component detached from the caller's session (so that a Ctrl-C in
# the shell that ran `up` does not kill the plane), logging to DIR/logs.
# Sets the variable named by PIDVAR. In a non-interactive shell the
# background child is not a process-group leader, so setsid execs in place
# and $! is the component's own pid.
spawn() { # PIDVAR NAME ARGS...
    local pidvar="$1" name="$2"
    shift 2
    setsid "$CLUSTER_BIN/$name" "$@" </dev/null >>"$WFE_PLANE_DIR/logs/$name.log" 2>&1 &
    printf -v "$pidvar" '%s' "$!"
}

start_etcd() {
    local d="$WFE_PLANE_DIR"
    echo "=== start $(date -u +%FT%TZ)" >>"$d/logs/etcd.log"
    spawn WFE_PLANE_ETCD_PID etcd \
        --name=wfe-test \
        --data-dir="$d/etcd" \
        --listen-client-urls="http://127.0.0.1:$WFE_PLANE_ETCD_PORT" \
        --advertise-client-urls="http://127.0.0.1:$WFE_PLANE_ETCD_PORT" \
        --listen-peer-urls="http://127.0.0.1:$WFE_PLANE_ETCD_PEER_PORT" \
        --initial-advertise-peer-urls="http://127.0.0.1:$WFE_PLANE_ETCD_PEER_PORT" \
        --initial-cluster="wfe-test=http://127.0.0.1:$WFE_PLANE_ETCD_PEER_PORT" \
        --unsafe-no-fsync \
        --log-level=warn
    # --unsafe-no-fsync: test data is disposable; fsync dominates etcd latency
    # on shared CI disks.
}
etcd_healthy() {
    owns_port "$WFE_PLANE_ETCD_PID" "$WFE_PLANE_ETCD_PORT" &&
        curl -fsS --max-time 2 "http://127.0.0.1:$WFE_PLANE_ETCD_PORT/health" | grep -q '"health":"true"'
}
wait_etcd() { wait_until etcd "$WFE_PLANE_ETCD_PID" "$WFE_PLANE_DIR/logs/etcd.log" etcd_healthy; }

start_apiserver() {
    local d="$WFE_PLANE_DIR" cache=true
    [[ "$WFE_PLANE_WATCH_CACHE" == 0 ]] && cache=false
    echo "=== start $(date -u +%FT%TZ)" >>"$d/logs/kube-apiserver.log"
    spawn WFE_PLANE_APISERVER_PID kube-apiserver \
        --etcd-servers="http://127.0.0.1:$WFE_PLANE_ETCD_PORT" \
        --bind-address=127.0.0.1 \
        --advertise-address=127.0.0.1 \
        --secure-port="$WFE_PLANE_API_PORT" \
        --tls-cert-file="$d/pki/apiserver.crt" \
        --tls-private-key-file="$d/pki/apiserver.key" \
        --client-ca-file="$d/ca.crt" \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --service-account-key-file="$d/pki/sa.pub" \
        --service-account-signing-key-file="$d/pki/sa.key" \
        --token-auth-file="$d/pki/tokens.csv" \
        --authorization-mode=Node,RBAC \
        --enable-admission-plugins=PodSecurity,OwnerReferencesPermissionEnforcement \
        --service-cluster-ip-range=10.0.0.0/24 \
        --watch-cache="$cache" \
        --endpoint-reconciler-type=none \
        --profiling=false
    # OwnerReferencesPermissionEnforcement (off by default, on in many
    # clusters): setting blockOwnerDeletion in an ownerReference needs update
    # on the owner's finalizers subresource, and changing ownerReferences of
    # an existing object needs delete on it. The controller's runs carry such
    # an ownerReference, so deploy/ RBAC is tested against it.
    # --endpoint-reconciler-type=none: the default reconciler would publish
    # the advertise address in the "kubernetes" Endpoints, which rejects a
    # loopback address and logs an error every 10 s. Nothing here needs it.
}
apiserver_ready() {
    owns_port "$WFE_PLANE_APISERVER_PID" "$WFE_PLANE_API_PORT" &&
        curl -fsS --max-time 2 --cacert "$WFE_PLANE_DIR/ca.crt" \
        -H "Authorization: Bearer $(cat "$WFE_PLANE_DIR/admin.token")" \
        "https://127.0.0.1:$WFE_PLANE_API_PORT/readyz" | grep -qx ok
}
wait_apiserver() { wait_until kube-apiserver "$WFE_PLANE_APISERVER_PID" "$WFE_PLANE_DIR/logs/kube-apiserver.log" apiserver_ready; }

start_kcm() {
    local d="$WFE_PLANE_DIR"
    echo "=== start $(date -u +%FT%TZ)" >>"$d/logs/kube-controller-manager.log"
    # Only the controllers tests rely on: ownerReference garbage collection,
    # namespace deletion, the per-namespace default ServiceAccount (pods
    # cannot be admitted without it), and Jobs (the job engine's runs, with
    # ttlSecondsAfterFinished). Not node-lifecycle: it would evict every pod
    # of a node kwok has not renewed for 50 s (a paused plane). The QPS: with
    # the default (20) 50 Jobs at once take 14 s to complete, 4-7 s so.
    # WFE_PLANE_WORKLOADS=1 adds the Deployment and ReplicaSet controllers
    # (the Helm chart's upgrade test watches a Deployment roll).
    local controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller,job-controller,ttl-after-finished-controller
    [[ "${WFE_PLANE_WORKLOADS:-0}" == 1 ]] && controllers+=,deployment-controller,replicaset-controller
    spawn WFE_PLANE_KCM_PID kube-controller-manager \
        --kubeconfig="$d/pki/kcm.kubeconfig" \
        --controllers="$controllers" \
        --kube-api-qps=100 --kube-api-burst=200 \
        --bind-address=127.0.0.1 \
        --secure-port="$WFE_PLANE_KCM_PORT" \
        --cert-dir="$d/pki/kcm" \
        --leader-elect=false \
        --profiling=false
}
kcm_healthy() {
    owns_port "$WFE_PLANE_KCM_PID" "$WFE_PLANE_KCM_PORT" &&
        curl -fsSk --max-time 2 "https://127.0.0.1:$WFE_PLANE_KCM_PORT/healthz" | grep -qx ok
}
wait_kcm() { wait_until kube-controller-manager "$WFE_PLANE_KCM_PID" "$WFE_PLANE_DIR/logs/kube-controller-manager.log" kcm_healthy; }

# kube-scheduler, for planes with engines: the upstream scheduler with all
# its default plugins, as system:kube-scheduler (the bootstrap RBAC of that
# user is what authorizes it, as in a cluster).
start_kube_scheduler() {
    local d="$WFE_PLANE_DIR"
    mkdir -p "$d/pki/kube-scheduler"
    cat >"$d/pki/kube-scheduler.yaml" <<YAML
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: $d/pki/kube-scheduler.kubeconfig
leaderElection:
  leaderElect: false
enableProfiling: false
enableContentionProfiling: false
YAML
    echo "=== start $(date -u +%FT%TZ)" >>"$d/logs/kube-scheduler.log"
    spawn WFE_PLANE_KUBE_SCHEDULER_PID kube-scheduler \
        --config="$d/pki/kube-scheduler.yaml" \
        --bind-address=127.0.0.1 \
        --secure-port="$WFE_PLANE_KUBE_SCHEDULER_PORT" \
        --cert-dir="$d/pki/kube-scheduler"
}
# /readyz (unlike /healthz) also waits until the scheduler's caches synced.
kube_scheduler_ready() {
    owns_port "$WFE_PLANE_KUBE_SCHEDULER_PID" "$WFE_PLANE_KUBE_SCHEDULER_PORT" &&
        curl -fsSk --max-time 2 "https://127.0.0.1:$WFE_PLANE_KUBE_SCHEDULER_PORT/readyz" | grep -qx ok
}
wait_kube_scheduler() {
    wait_until kube-scheduler "$WFE_PLANE_KUBE_SCHEDULER_PID" "$WFE_PLANE_DIR/logs/kube-scheduler.log" kube_scheduler_ready
}

# Stop one component: SIGCONT first (it may be paused by `fault`), then
# SIGTERM. kube-apiserver can linger for many seconds after it has stopped
# listening (draining the watches of its clients); the Kubernetes components
# exit at once on a second signal, so one follows after 3 s. SIGKILL comes
# after GRACE seconds (default 10). A test plane loses nothing by this:
# etcd holds the state, and even etcd loses nothing when killed, since its
# writes have reached the kernel.
stop_pid() { # PID [GRACE]
    local pid="$1" grace="${2:-10}" i
    is_ours "$pid" "$WFE_PLANE_DIR" || return 0
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 1; i <= grace * 10; i++)); do
        is_ours "$pid" "$WFE_PLANE_DIR" || return 0
        ((i == 30)) && { kill -TERM "$pid" 2>/dev/null || true; }
        sleep 0.1
    done
    ((grace < 10)) || log "pid $pid still there ${grace}s after SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        is_ours "$pid" "$WFE_PLANE_DIR" || return 0
        sleep 0.1
    done
    die "pid $pid survived SIGKILL"
}

# Wait until nothing listens on PORT any more.
wait_port_closed() { # PORT
    local i
    for ((i = 0; i < 100; i++)); do
        listening_ports | grep -qx "$1" || return 0
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------------------
# The components of the engines, one directory each (its Go module, its
# configuration and its plane.sh with build_, setup_, start_ and wait_
# functions).
for component in "$CLUSTER_SRC"/*/plane.sh; do
    # shellcheck source=/dev/null
    . "$component"
done
unset component
