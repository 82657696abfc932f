# kwok in the test plane: it plays the kubelet of every fake node (node
# status and leases, and each pod's life by the Stages of stages.yaml), so
# that the real controllers above it (Job, Tekton, Argo) see pods run and
# end as a test chose. Sourced by lib.sh; never executed.
# shellcheck shell=bash

KWOK_BIN="$CLUSTER_CACHE/kwok-$KWOK_VERSION/bin"
# How many fake nodes `up` registers.
KWOK_NODES="${WFE_PLANE_NODES:-3}"

build_kwok() { build_pkg kwok "$KWOK_BIN" kwok sigs.k8s.io/kwok/cmd/kwok; }

# KWOK_WORKDIR keeps kwok from reading a ~/.kwok/kwok.yaml of the user. Its
# HTTP server (--server-address) serves /healthz only (kwok.yaml).
start_kwok() {
    local d="$WFE_PLANE_DIR"
    mkdir -p "$d/kwok"
    # A restarted kwok has a new identity: it would wait for the node Leases
    # of its predecessor to expire (40 s) before playing the nodes. Only kwok
    # holds node Leases on this plane (no kubelet), so drop them all: the new
    # kwok creates them afresh and plays its nodes at once.
    "${kubectl[@]}" -n kube-node-lease delete leases --all --wait=false >/dev/null 2>&1 || true
    echo "=== start $(date -u +%FT%TZ)" >>"$d/logs/kwok.log"
    spawn_env WFE_PLANE_KWOK_PID "$KWOK_BIN/kwok" KWOK_WORKDIR="$d/kwok" \
        --kubeconfig="$d/pki/kwok.kubeconfig" \
        --config="$CLUSTER_SRC/kwok/kwok.yaml" \
        --config="$CLUSTER_SRC/kwok/stages.yaml" \
        --server-address="127.0.0.1:$WFE_PLANE_KWOK_PORT"
}
# /healthz answers once kwok's controllers run; the nodes being Ready
# (setup_kwok) is the real readiness.
kwok_healthy() {
    owns_port "$WFE_PLANE_KWOK_PID" "$WFE_PLANE_KWOK_PORT" &&
        curl -fsS --max-time 2 "http://127.0.0.1:$WFE_PLANE_KWOK_PORT/healthz" | grep -qx ok
}
wait_kwok() { wait_until kwok "$WFE_PLANE_KWOK_PID" "$WFE_PLANE_DIR/logs/kwok.log" kwok_healthy; }

# Fake nodes kwok-node-0..N-1: annotation kwok.x-k8s.io/node=fake (kwok
# manages them, kwok.yaml), no taints, 16 CPUs, 64 GiB, 110 pods each; pod
# IPs come from podCIDR 10.244.i.0/24 (there is no CNI). Their address is
# 127.0.0.1: whatever the API server would send to a kubelet (pods/exec,
# which Argo uses to stop containers; logs) it refuses at once for a
# loopback address, so nothing ever leaves the host. Created with their
# status (the API server keeps a node's status on create); kwok makes them
# Ready.
node_manifests() { # N
    local i
    for ((i = 0; i < $1; i++)); do
        cat <<YAML
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
spec:
  podCIDR: 10.244.$i.0/24
  podCIDRs: [10.244.$i.0/24]
status:
  addresses:
  - {type: InternalIP, address: 127.0.0.1}
  - {type: Hostname, address: kwok-node-$i}
  capacity: {cpu: "16", memory: 64Gi, pods: "110", ephemeral-storage: 100Gi}
  allocatable: {cpu: "16", memory: 64Gi, pods: "110", ephemeral-storage: 100Gi}
YAML
    done
}
# At least N kwok nodes Ready and untainted (kwok removes the not-ready
# taint once it has made a node Ready): pods can be scheduled.
nodes_ready() { # N
    local got
    got="$("${kubectl[@]}" get nodes -l type=kwok \
        -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{.spec.taints}{"\n"}{end}' |
        grep -cx True)" || true
    [[ "$got" -ge "$1" ]]
}
# Register the nodes (create, not apply: the nodes of a restarted plane are
# kept as they are) and wait until they are Ready.
setup_kwok() {
    local d="$WFE_PLANE_DIR" out
    node_manifests "$KWOK_NODES" >"$d/kwok/nodes.yaml"
    if ! out="$("${kubectl[@]}" create -f "$d/kwok/nodes.yaml" 2>&1)"; then
        grep '^Error' <<<"$out" | grep -qv AlreadyExists && { echo "$out"; return 1; }
    fi
    wait_until "kwok nodes" "$WFE_PLANE_KWOK_PID" "$d/logs/kwok.log" nodes_ready "$KWOK_NODES"
}
