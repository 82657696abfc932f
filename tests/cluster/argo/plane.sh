# Argo Workflows' workflow-controller in the test plane, run as a process
# with its ServiceAccount's RBAC (config/). Sourced by lib.sh; never
# executed.
# shellcheck shell=bash

ARGO_BIN="$CLUSTER_CACHE/argo-$ARGO_WORKFLOWS_VERSION/bin"
ARGO_NS=argo

build_workflow_controller() {
    local p=github.com/argoproj/argo-workflows/v3
    build_pkg argo "$ARGO_BIN" workflow-controller $p/cmd/workflow-controller \
        " -X $p.version=$ARGO_WORKFLOWS_VERSION -X $p.gitTag=$ARGO_WORKFLOWS_VERSION -X $p.gitTreeState=clean"
}

# Its namespace, its configuration (it exits at start without one) and its
# ServiceAccount's RBAC (Argo's cluster install, less what only argo-server
# needs). The CRDs come with the plane's (build).
setup_argo() {
    local apply=("${kubectl[@]}" apply --server-side --force-conflicts --field-manager=wfe-test-plane)
    "${apply[@]}" -f - <<<"{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ARGO_NS\"}}" &&
        "${apply[@]}" -n $ARGO_NS -f "$CLUSTER_SRC/argo/config/workflow-controller-configmap.yaml" &&
        "${apply[@]}" -f "$CLUSTER_SRC/argo/config/workflow-controller-rbac.yaml"
}

# LEADER_ELECTION_DISABLE: one instance, no Lease. DEFAULT_REQUEUE_TIME: a
# pod's change reaches its Workflow within 1 s instead of 10 (Argo's own
# advice for a minimum). WATCH_CONTROLLER_SEMAPHORE_CONFIGMAPS=false: once
# the API server restarts, Argo's watcher of its ConfigMaps (a RetryWatcher
# from resourceVersion "1", which stops on the 410 that follows) is read
# closed forever: it logs "invalid config map object received in config
# watcher" in a loop, gigabytes a minute at full CPU (upstream issue
# argoproj/argo-workflows#11657, still so in v3.7.12); the plane's
# configuration never changes while it runs. Pods never run, so the executor image is a name
# only; templates give `command:`, or Argo would look the image up.
# Upstream serves /healthz on ":6060" (every address, a fixed port: a
# second plane's controller logs that it cannot bind it and goes on).
start_workflow_controller() {
    local logf="$WFE_PLANE_DIR/logs/workflow-controller.log"
    touch "$logf"
    ARGO_LOG_START=$(($(wc -l <"$logf") + 1))
    spawn_env WFE_PLANE_WORKFLOW_CONTROLLER_PID "$ARGO_BIN/workflow-controller" \
        "LEADER_ELECTION_DISABLE=true DEFAULT_REQUEUE_TIME=1s WATCH_CONTROLLER_SEMAPHORE_CONFIGMAPS=false" \
        --kubeconfig="$WFE_PLANE_DIR/pki/workflow-controller.kubeconfig" --namespace=$ARGO_NS \
        --executor-image=wfe.invalid/argoexec:$ARGO_WORKFLOWS_VERSION --executor-image-pull-policy=IfNotPresent
}
# Ready once every informer synced: Argo logs this line right after its
# WaitForCacheSync (its /healthz answers before that).
workflow_controller_ready() {
    is_ours "$WFE_PLANE_WORKFLOW_CONTROLLER_PID" "$WFE_PLANE_DIR" &&
        tail -n "+${ARGO_LOG_START:-1}" "$WFE_PLANE_DIR/logs/workflow-controller.log" |
        grep -q 'Starting CronWorkflow controller'
}
wait_workflow_controller() {
    wait_until workflow-controller "$WFE_PLANE_WORKFLOW_CONTROLLER_PID" \
        "$WFE_PLANE_DIR/logs/workflow-controller.log" workflow_controller_ready
}
