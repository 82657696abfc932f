#!/usr/bin/env bash
# Installs wfe into a fresh prefix, builds the example engine out of tree
# against the installed header only -- once with pkg-config and once with
# CMake's find_package -- has the installed controller load and use it, and
# the installed wfe-engine-check pass it with its conformance vectors.
#   test_out_of_tree.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/wfe-controller bin/wfe-engine-check lib/wfe/plugins.d/tekton.so lib/wfe/plugins.d/argo.so \
  include/wfe/engine.h lib/pkgconfig/wfe-engine.pc lib/cmake/WfeEngine/WfeEngineConfig.cmake; do
  [[ -e $prefix/$f ]] || { echo "not installed: $f"; exit 1; }
done

# The installed controller finds its own plugin directory.
"$prefix/bin/wfe-controller" plugins -o json >"$work/default.json"
grep -q '"name":"tekton"' "$work/default.json" || { cat "$work/default.json"; exit 1; }
grep -q "\"path\":\"$prefix/lib/wfe/plugins.d/tekton.so\"" "$work/default.json" ||
  { echo "plugin path is not under the prefix"; cat "$work/default.json"; exit 1; }

# 1. pkg-config
mkdir -p "$work/pc"
cflags=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags wfe-engine json-c)
libs=$(pkg-config --libs json-c)
# shellcheck disable=SC2086
cc -std=c99 -pedantic -Wall -Wextra -Werror -fPIC -shared -Wl,-z,defs $cflags \
  "$src/tests/abi/example-engine/example.c" -o "$work/pc/example.so" $libs

# 2. find_package(WfeEngine)
cmake -S "$src/tests/abi/example-engine" -B "$work/cm-build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cm-build" >/dev/null
mkdir -p "$work/cm" && cp "$work/cm-build/example.so" "$work/cm/"

# Only the entry function is exported (code, data or weak), by both builds.
for so in "$work/pc/example.so" "$work/cm/example.so"; do
  exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[A-Z]$/ {print $3}')
  [[ $exported == wfe_plugin_entry ]] || { echo "$so exports: $exported"; exit 1; }
done

cat >"$work/wfe.yaml" <<'YAML'
apiVersion: kubernaut.ai/v1alpha1
kind: WorkflowExecution
metadata: {name: third-party, namespace: demo, uid: 0b4d5f4e-1111-2222-3333-444455556666}
spec:
  remediationRequestRef: {name: rr-1}
  workflowRef: {workflowId: w, version: "1", containerImage: example/w:1, engine: example}
YAML
for dir in "$work/pc" "$work/cm"; do
  "$prefix/bin/wfe-controller" plugins --plugins-dir "$dir" -o json \
    --required-engines example >"$work/list.json"
  grep -q '"name":"example"' "$work/list.json" || { cat "$work/list.json"; exit 1; }
  "$prefix/bin/wfe-controller" render --plugins-dir "$dir" -f "$work/wfe.yaml" >"$work/run.json"
  grep -q '"kind":"ConfigMap"' "$work/run.json" || { cat "$work/run.json"; exit 1; }
  grep -q '"kubernaut.ai/workflow-execution-uid":"0b4d5f4e-1111-2222-3333-444455556666"' \
    "$work/run.json" || { cat "$work/run.json"; exit 1; }
done
# The installed conformance kit passes both builds with the example's
# vectors: found through pkg-config, and as the CMake package's test.
kit=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --variable=enginecheck wfe-engine)
[[ -x $kit ]] || { echo "pkg-config names no kit: $kit"; exit 1; }
"$kit" "$work/pc/example.so" --vectors "$src/tests/abi/example-engine/conformance" \
  >"$work/check.txt" || { cat "$work/check.txt"; exit 1; }
tail -1 "$work/check.txt"
ctest --test-dir "$work/cm-build" --output-on-failure >"$work/ctest.txt" ||
  { cat "$work/ctest.txt"; exit 1; }
grep -q "example_conformance .* Passed" "$work/ctest.txt" || { cat "$work/ctest.txt"; exit 1; }

# The engine template the SDK installs builds and passes the kit with its
# own ci.sh, as an engine author runs it.
cp -r "$prefix/share/wfe/engine-template" "$work/template"
WFE_PREFIX=$prefix "$work/template/ci.sh" >"$work/template.txt" 2>&1 ||
  { cat "$work/template.txt"; exit 1; }
tail -1 "$work/template.txt"
# ... and builds with its Makefile (pkg-config) to a plugin that passes too.
make -s -C "$work/template" clean
PKG_CONFIG_PATH=$prefix/lib/pkgconfig make -s -C "$work/template" >/dev/null
"$prefix/bin/wfe-engine-check" "$work/template/build/echo-c.so" \
  --vectors "$work/template/conformance" >"$work/template-make.txt" 2>&1 ||
  { cat "$work/template-make.txt"; exit 1; }
echo "out-of-tree engine: built with pkg-config and find_package, loaded, rendered and checked"
