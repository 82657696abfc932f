# Tekton Pipelines in the test plane: the controller, the webhook and the
# resolvers, run as processes with Tekton's own configuration, RBAC and
# webhook configurations from the pinned module. Sourced by up, down and
# fault; never executed.
# shellcheck shell=bash

TEKTON_HOME="$CLUSTER_CACHE/tekton-$TEKTON_VERSION"
TEKTON_BIN="$TEKTON_HOME/bin"
TEKTON_CONFIG="$TEKTON_HOME/config"
TEKTON_NS=tekton-pipelines
TEKTON_RESOLVERS_NS=tekton-pipelines-resolvers
TEKTON_WEBHOOK_SERVICE=tekton-pipelines-webhook

# What `build` puts in TEKTON_HOME: the three commands, and the manifests of
# Tekton's release (configuration, RBAC, webhook configurations) from the
# module zip, which already holds them.
build_tekton() {
    build_tool tekton "$TEKTON_BIN" \
        tekton-controller=github.com/tektoncd/pipeline/cmd/controller \
        tekton-webhook=github.com/tektoncd/pipeline/cmd/webhook \
        tekton-resolvers=github.com/tektoncd/pipeline/cmd/resolvers
    [[ -e "$TEKTON_CONFIG/.complete" ]] && return 0
    local src tmp
    src="$(module_dir "github.com/tektoncd/pipeline@$TEKTON_VERSION")"
    tmp="$(mktemp -d "$TEKTON_CONFIG.tmp.XXXXXX")"
    mkdir "$tmp/resolvers"
    cp "$src"/config/100-namespace/*.yaml "$src"/config/config-*.yaml \
        "$src"/config/20[01]-*.yaml "$src/config/500-webhooks.yaml" "$tmp/"
    cp "$src"/config/resolvers/100-namespace.yaml "$src"/config/resolvers/20[01]-*.yaml \
        "$src"/config/resolvers/*config*.yaml "$tmp/resolvers/"
    chmod -R u=rwX,go=rX "$tmp"
    touch "$tmp/.complete"
    rm -rf "$TEKTON_CONFIG"
    mv "$tmp" "$TEKTON_CONFIG"
}

# The environment Tekton's Deployments give each container (config/*.yaml
# of the release), with ports of this plane instead of the fixed ones.
tekton_env() { # COMPONENT
    local common=(KUBERNETES_MIN_VERSION=v1.28.0 CONFIG_LOGGING_NAME=config-logging
        CONFIG_OBSERVABILITY_NAME=config-observability CONFIG_FEATURE_FLAGS_NAME=feature-flags
        SSL_CERT_FILE="$WFE_PLANE_DIR/ca.crt")
    case "$1" in
    webhook)
        echo "${common[@]}" SYSTEM_NAMESPACE=$TEKTON_NS METRICS_DOMAIN=tekton.dev/pipeline \
            CONFIG_LEADERELECTION_NAME=config-leader-election-webhook \
            PROBES_PORT="$WFE_PLANE_TEKTON_WEBHOOK_PROBES_PORT" PROFILING_PORT="$WFE_PLANE_TEKTON_WEBHOOK_PROFILING_PORT" \
            WEBHOOK_PORT="$WFE_PLANE_TEKTON_WEBHOOK_PORT" WEBHOOK_ADMISSION_CONTROLLER_NAME=webhook.pipeline.tekton.dev \
            WEBHOOK_SERVICE_NAME=$TEKTON_WEBHOOK_SERVICE WEBHOOK_SECRET_NAME=webhook-certs
        ;;
    controller)
        echo "${common[@]}" SYSTEM_NAMESPACE=$TEKTON_NS METRICS_DOMAIN=tekton.dev/pipeline \
            CONFIG_DEFAULTS_NAME=config-defaults CONFIG_LEADERELECTION_NAME=config-leader-election-controller \
            CONFIG_SPIRE=config-spire \
            PROBES_PORT="$WFE_PLANE_TEKTON_CONTROLLER_PROBES_PORT" PROFILING_PORT="$WFE_PLANE_TEKTON_CONTROLLER_PROFILING_PORT"
        ;;
    resolvers)
        echo "${common[@]}" SYSTEM_NAMESPACE=$TEKTON_RESOLVERS_NS METRICS_DOMAIN=tekton.dev/resolution \
            CONFIG_LEADERELECTION_NAME=config-leader-election-resolvers \
            PROBES_PORT="$WFE_PLANE_TEKTON_RESOLVERS_PROBES_PORT" PROFILING_PORT="$WFE_PLANE_TEKTON_RESOLVERS_PROFILING_PORT"
        ;;
    esac
}

# Everything a Tekton release installs besides its Deployments, applied
# once with server-side apply; a restarted plane keeps it (its ConfigMaps
# pass Tekton's own validating webhook, which is not up yet then).
setup_tekton() {
    local d="$WFE_PLANE_DIR" k=("${kubectl[@]}")
    local apply=("${k[@]}" apply --server-side --force-conflicts --field-manager=wfe-test-plane)
    if [[ ! -e "$d/pki/tekton-installed" ]]; then
        "${apply[@]}" -f "$TEKTON_CONFIG/100-namespace.yaml" -f "$TEKTON_CONFIG/resolvers/100-namespace.yaml" &&
            "${apply[@]}" -f "$TEKTON_CONFIG" -f "$TEKTON_CONFIG/resolvers" || return 1
        # Metrics are not scraped here: no exporter, no fixed metrics port.
        local cm
        for cm in "$TEKTON_NS" "$TEKTON_RESOLVERS_NS"; do
            "${k[@]}" -n "$cm" patch configmap config-observability --type=merge \
                -p '{"data":{"metrics-protocol":"none","tracing-protocol":"none"}}' || return 1
        done
    fi
    # The webhook's Service. In a cluster it selects the webhook's pod; here
    # the webhook is a process on 127.0.0.1, which no Endpoints may hold, so
    # the Service is an ExternalName for localhost: the API server then
    # calls https://localhost:<port given in each clientConfig>, verifying
    # the serving certificate for <service>.<namespace>.svc, as in a cluster.
    "${apply[@]}" -f - <<YAML || return 1
apiVersion: v1
kind: Service
metadata:
  name: $TEKTON_WEBHOOK_SERVICE
  namespace: $TEKTON_NS
  labels: {app.kubernetes.io/part-of: tekton-pipelines, app.kubernetes.io/component: webhook}
spec:
  type: ExternalName
  externalName: localhost
YAML
    # The serving certificate, made here from the plane's CA (Tekton's
    # webhook would make its own CA otherwise; it keeps a valid one it
    # finds in the Secret and publishes its CA in every caBundle).
    local pki="$d/pki/tekton-webhook" svc="$TEKTON_WEBHOOK_SERVICE.$TEKTON_NS"
    if [[ ! -s "$pki.crt" ]]; then
        issue_cert "$pki" "$svc.svc" "DNS:$TEKTON_WEBHOOK_SERVICE,DNS:$svc,DNS:$svc.svc,DNS:$svc.svc.cluster.local" ||
            return 1
    fi
    "${k[@]}" -n "$TEKTON_NS" create secret generic webhook-certs --dry-run=client -o yaml \
        --from-file=server-key.pem="$pki.key" --from-file=server-cert.pem="$pki.crt" \
        --from-file=ca-cert.pem="$d/ca.crt" | "${apply[@]}" -f - || return 1
    touch "$d/pki/tekton-installed"
}

# Each webhook configuration and conversion webhook names the Service; the
# port of this plane's webhook goes next to it (the webhook keeps whatever
# else the reference holds when it fills in caBundle and path). Done at
# every start: the port may have changed.
point_tekton_webhooks() {
    local k=("${kubectl[@]}") p="$WFE_PLANE_TEKTON_WEBHOOK_PORT" kind name
    for kind in validatingwebhookconfiguration/validation.webhook.pipeline.tekton.dev \
        validatingwebhookconfiguration/config.webhook.pipeline.tekton.dev \
        mutatingwebhookconfiguration/webhook.pipeline.tekton.dev; do
        "${k[@]}" patch "$kind" --type=json \
            -p "[{\"op\":\"add\",\"path\":\"/webhooks/0/clientConfig/service/port\",\"value\":$p}]" || return 1
    done
    for name in $("${k[@]}" get crd -o jsonpath='{range .items[?(@.spec.conversion.strategy=="Webhook")]}{.metadata.name}{"\n"}{end}'); do
        [[ "$name" == *.tekton.dev ]] || continue
        "${k[@]}" patch crd "$name" --type=json \
            -p "[{\"op\":\"add\",\"path\":\"/spec/conversion/webhook/clientConfig/service/port\",\"value\":$p}]" || return 1
    done
}

start_tekton_webhook() {
    point_tekton_webhooks >>"$WFE_PLANE_DIR/logs/tekton-setup.log" 2>&1 ||
        die "pointing Tekton's webhook configurations at port $WFE_PLANE_TEKTON_WEBHOOK_PORT failed"
    spawn_env WFE_PLANE_TEKTON_WEBHOOK_PID "$TEKTON_BIN/tekton-webhook" "$(tekton_env webhook)" \
        --kubeconfig="$WFE_PLANE_DIR/pki/tekton-webhook.kubeconfig"
}
# Ready when the API server gets answers from it: a v1beta1 Task (served
# only through the conversion webhook) passes defaulting and validation.
tekton_webhook_ready() {
    owns_port "$WFE_PLANE_TEKTON_WEBHOOK_PID" "$WFE_PLANE_TEKTON_WEBHOOK_PORT" &&
        "${kubectl[@]}" create --dry-run=server -o name -f - <<YAML
apiVersion: tekton.dev/v1beta1
kind: Task
metadata: {name: wfe-plane-probe, namespace: default}
spec: {steps: [{name: probe, image: wfe.invalid/probe, script: "true"}]}
YAML
}
wait_tekton_webhook() {
    wait_until tekton-webhook "$WFE_PLANE_TEKTON_WEBHOOK_PID" "$WFE_PLANE_DIR/logs/tekton-webhook.log" tekton_webhook_ready
}

# Pods never really run here (kwok plays the nodes), so Tekton's helper
# images are names only; wfe.invalid can never resolve.
start_tekton_controller() {
    local img=wfe.invalid/tekton
    spawn_env WFE_PLANE_TEKTON_CONTROLLER_PID "$TEKTON_BIN/tekton-controller" "$(tekton_env controller)" \
        --kubeconfig="$WFE_PLANE_DIR/pki/tekton-controller.kubeconfig" \
        -entrypoint-image=$img/entrypoint:$TEKTON_VERSION -nop-image=$img/nop:$TEKTON_VERSION \
        -sidecarlogresults-image=$img/sidecarlogresults:$TEKTON_VERSION \
        -workingdirinit-image=$img/workingdirinit:$TEKTON_VERSION \
        -shell-image=$img/busybox:1 -shell-image-win=$img/powershell:1 \
        -kube-api-qps=50 -kube-api-burst=100
    # The QPS: Tekton's default (5, doubled) is made for one run at a time
    # per developer; the plane's soak runs a thousand.
}
start_tekton_resolvers() {
    spawn_env WFE_PLANE_TEKTON_RESOLVERS_PID "$TEKTON_BIN/tekton-resolvers" "$(tekton_env resolvers)" \
        --kubeconfig="$WFE_PLANE_DIR/pki/tekton-resolvers.kubeconfig"
}
# The controller and the resolvers are ready when they lead: every lease
# of theirs is held by a live holder (they take them within a second of
# starting, or once the previous holder's lease runs out after a restart).
tekton_leading() { # NAMESPACE PREFIX
    local holders
    holders="$("${kubectl[@]}" -n "$1" get lease -o jsonpath='{range .items[*]}{.metadata.name} {.spec.holderIdentity}{"\n"}{end}')" ||
        return 1
    grep -q "^$2" <<<"$holders" && ! grep "^$2" <<<"$holders" | grep -qv ' .'
}
tekton_controller_ready() {
    owns_port "$WFE_PLANE_TEKTON_CONTROLLER_PID" "$WFE_PLANE_TEKTON_CONTROLLER_PROBES_PORT" &&
        tekton_leading $TEKTON_NS tekton-pipelines-controller.
}
tekton_resolvers_ready() {
    is_ours "$WFE_PLANE_TEKTON_RESOLVERS_PID" "$WFE_PLANE_DIR" &&
        tekton_leading $TEKTON_RESOLVERS_NS controller.tektonresolverframework.bundleresolver.
}
wait_tekton_controller() {
    wait_until tekton-controller "$WFE_PLANE_TEKTON_CONTROLLER_PID" "$WFE_PLANE_DIR/logs/tekton-controller.log" tekton_controller_ready
}
wait_tekton_resolvers() {
    wait_until tekton-resolvers "$WFE_PLANE_TEKTON_RESOLVERS_PID" "$WFE_PLANE_DIR/logs/tekton-resolvers.log" tekton_resolvers_ready
}
