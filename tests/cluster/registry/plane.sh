# The plane's OCI registry (CNCF Distribution) on 127.0.0.1 with TLS from
# the plane's CA, and the Tekton bundles pushed to it (../bundles). Sourced
# by lib.sh; never executed.
# shellcheck shell=bash

REGISTRY_BIN="$CLUSTER_CACHE/registry-$DISTRIBUTION_VERSION/bin"
# push-bundles is our own code: its directory is keyed on its sources too,
# so an edit never runs a stale binary.
bundles_key() {
    cat "$CLUSTER_SRC"/bundles/go.sum "$CLUSTER_SRC"/bundles/cmd/push-bundles/main.go | sha256sum | cut -c1-12
}
BUNDLES_BIN="$CLUSTER_CACHE/push-bundles-$GGCR_VERSION-$(bundles_key)/bin"

build_registry() {
    build_pkg registry "$REGISTRY_BIN" registry ./cmd/registry \
        " -X github.com/distribution/distribution/v3/version.version=$DISTRIBUTION_VERSION"
}
build_bundles() { build_pkg bundles "$BUNDLES_BIN" push-bundles ./cmd/push-bundles; }

# The configuration, rewritten at every start (the port may change).
write_registry_config() {
    local d="$WFE_PLANE_DIR"
    mkdir -p "$d/registry/data"
    [[ -s "$d/pki/registry.crt" ]] || issue_cert "$d/pki/registry" wfe-test-registry "IP:127.0.0.1,DNS:localhost" ||
        return 1
    # The secret signs upload-session state; random per plane.
    [[ -s "$d/pki/registry.secret" ]] || (umask 077 && openssl rand -hex 32 >"$d/pki/registry.secret") || return 1
    (
        umask 077
        cat >"$d/registry/config.yml.tmp" <<CFG
# Written by tests/cluster/up. CNCF Distribution configuration.
version: 0.1
log:
  level: warn          # info logs a line per start-up step and per request
  formatter: text
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $d/registry/data
  delete:
    enabled: true      # tests may delete a manifest to make a bundle vanish
  maintenance:
    uploadpurging:
      enabled: false
  redirect:
    disable: true
http:
  addr: 127.0.0.1:$WFE_PLANE_REGISTRY_PORT
  secret: $(cat "$d/pki/registry.secret")
  tls:
    certificate: $d/pki/registry.crt
    key: $d/pki/registry.key
    minimumtls: tls1.2
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
CFG
        mv -f "$d/registry/config.yml.tmp" "$d/registry/config.yml"
    )
}

# OTEL_TRACES_EXPORTER=none: otherwise Distribution exports traces over OTLP
# to localhost:4318, whatever listens there. The configuration file is the
# whole configuration (spawn_env passes no REGISTRY_* variable).
start_registry() {
    write_registry_config || die "writing the registry's configuration failed"
    spawn_env WFE_PLANE_REGISTRY_PID "$REGISTRY_BIN/registry" OTEL_TRACES_EXPORTER=none \
        serve "$WFE_PLANE_DIR/registry/config.yml"
}
# /v2/ answers 200 once the registry serves; its health check (the storage
# driver) turns every answer into 503 when it fails.
registry_ready() {
    owns_port "$WFE_PLANE_REGISTRY_PID" "$WFE_PLANE_REGISTRY_PORT" &&
        curl -fsS --max-time 2 --cacert "$WFE_PLANE_DIR/ca.crt" -o /dev/null \
            "https://127.0.0.1:$WFE_PLANE_REGISTRY_PORT/v2/"
}
wait_registry() { wait_until registry "$WFE_PLANE_REGISTRY_PID" "$WFE_PLANE_DIR/logs/registry.log" registry_ready; }

# Push the test bundles (../bundles/defs) and record their references in
# DIR/bundles.env (WFE_BUNDLE_<NAME>, _IMAGE, _DIGEST; see ../bundles).
# Idempotent: the same definitions give the same digests.
push_bundles() {
    local d="$WFE_PLANE_DIR"
    "$BUNDLES_BIN/push-bundles" push --registry "127.0.0.1:$WFE_PLANE_REGISTRY_PORT" \
        --ca-file "$d/ca.crt" --env-file "$d/bundles.env" "$CLUSTER_SRC/bundles/defs"
}
