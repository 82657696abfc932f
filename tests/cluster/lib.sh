# Shared helpers for the tests/cluster scripts. Sourced, never executed.
# shellcheck shell=bash

CLUSTER_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$CLUSTER_SRC/versions.env"

# Built binaries and extracted CRDs live outside the work tree, one directory
# per pinned version set, so the slow cold build happens once per machine and
# a version bump never mixes old and new binaries.
CLUSTER_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/wfe/cluster"
CLUSTER_BIN="$CLUSTER_CACHE/k8s-$K8S_VERSION-etcd-$ETCD_VERSION/bin"
CLUSTER_CRDS="$CLUSTER_CACHE/crds/tekton-$TEKTON_VERSION-argo-$ARGO_WORKFLOWS_VERSION"

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { log "error: $*"; exit 1; }
