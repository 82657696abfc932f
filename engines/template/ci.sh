#!/usr/bin/env bash
# Builds the engine and runs the wfe conformance kit on it: what the
# controller will make of it, before a platform team mounts it. Needs an
# installed wfe SDK: WFE_PREFIX (default /usr/local), with its
# bin/wfe-engine-check. Run it in CI on every change.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=${WFE_PREFIX:-/usr/local}
engine=$(sed -n 's/^wfe_engine_add_plugin(\([^ ]*\) .*/\1/p' "$here/CMakeLists.txt")

cmake -S "$here" -B "$here/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$here/build"
"$prefix/bin/wfe-engine-check" "$here/build/$engine.so" --vectors "$here/conformance" "$@"
