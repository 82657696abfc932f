#!/usr/bin/env bash
# tests/abi/abi-guard on the header as it is, then on changed copies of it:
# the compatible way to grow the ABI (a member appended, the minor bumped,
# the version frozen) passes; each kind of break fails exactly the checks
# named for it. Each case runs in a copy of the parts of the tree the guard
# reads, so freezing there touches nothing here.
#   test_abi_guard.sh SOURCE_DIR
set -uo pipefail
src=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/wfe-abi-guard-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

tree() { # DIR: a copy of what the guard reads
    mkdir -p "$1/tests/abi" "$1/tests/fixtures" "$1/include/wfe"
    cp "$src/tests/abi/abi-guard" "$src/tests/abi/abi-layout.py" "$src/tests/abi/abi_probe.c" "$src/tests/abi/abi.suppr" "$1/tests/abi/"
    cp -r "$src/tests/abi/baseline" "$1/tests/abi/"
    cp -r "$src/tests/fixtures/abi" "$1/tests/fixtures/"
    cp "$src/include/wfe/engine.h" "$1/include/wfe/"
}
# case NAME EXPECTED-FAILURES EDIT...: EDIT (a python expression on the
# header text `s`, or `freeze`, or `bump`) in a fresh tree, then `check`;
# the "not ok" lines must be exactly EXPECTED-FAILURES ("|"-separated
# prefixes, "" for none).
case_() {
    local name=$1 want=$2 dir=$work/$((passed + failed)) edit got
    shift 2
    tree "$dir"
    for edit in "$@"; do
        case $edit in
        freeze) "$dir/tests/abi/abi-guard" freeze >/dev/null || { echo "not ok - $name: freeze failed"; failed=$((failed + 1)); return; } ;;
        *) python3 -c "import sys
p = sys.argv[1]; s = open(p).read(); t = $edit
assert t != s, 'the edit changed nothing'
open(p, 'w').write(t)" "$dir/include/wfe/engine.h" || { echo "not ok - $name: edit failed"; failed=$((failed + 1)); return; } ;;
        esac
    done
    "$dir/tests/abi/abi-guard" check >"$dir/out" 2>&1
    got=$(grep '^not ok - ' "$dir/out" | sed -E 's/^not ok - //; s/ \(abidiff exit [0-9]+\)$//' | LC_ALL=C sort | paste -sd'|')
    want=$(tr '|' '\n' <<<"$want" | grep . | LC_ALL=C sort | paste -sd'|')
    if [[ $got == "$want" ]]; then
        passed=$((passed + 1))
        echo "ok - $name"
    else
        failed=$((failed + 1))
        echo "not ok - $name"
        echo "#   want failures: ${want:-none}"
        echo "#   got failures:  ${got:-none}"
        sed 's/^/#   /' "$dir/out" | head -n 40
    fi
}

bump="s.replace('#define WFE_ENGINE_ABI_MINOR 1', '#define WFE_ENGINE_ABI_MINOR 2')"
append_host="s.replace('                          wfe_error *err);\n} wfe_host;', '                          wfe_error *err);\n  void *added_in_1_2;\n} wfe_host;')"
self="ABI 1.1 is its frozen self (a change needs a minor bump)"
c10="compatible with ABI 1.0"
c11="compatible with ABI 1.1"

case_ "the header as it is passes" ""
case_ "a member appended without a minor bump fails as a change of 1.1" "$self" "$append_host"
case_ "a member appended, the minor bumped, not frozen: fails as unfrozen" \
    "ABI 1.2 is not frozen: run tests/abi/abi-guard freeze when it is released" "$append_host" "$bump"
case_ "a member appended, the minor bumped and frozen: compatible with 1.0 and 1.1" "" "$append_host" "$bump" freeze
case_ "a member inserted at the start of wfe_host breaks 1.0 and 1.1" "$c10|$c11" \
    "s.replace('typedef struct wfe_host {\n', 'typedef struct wfe_host {\n  void *first;\n')" "$bump" freeze
case_ "wfe_engine's struct_size retyped breaks 1.0 and 1.1" "$c10|$c11" \
    "s.replace('typedef struct wfe_engine {\n  uint32_t struct_size;', 'typedef struct wfe_engine {\n  uint64_t struct_size;')" "$bump" freeze
case_ "a parameter taken from wfe_host.log breaks 1.0 and 1.1" "$c10|$c11" \
    "s.replace('void (*log)(const struct wfe_host *host, int32_t level,\n              const char *engine_name, const char *message);', 'void (*log)(const struct wfe_host *host, int32_t level,\n              const char *message);')" \
    "$bump" freeze
case_ "wfe_plugin's last member removed breaks 1.0 and 1.1" "$c10|$c11" \
    "s.replace('  const wfe_engine *const *engines;\n} wfe_plugin;', '} wfe_plugin;')" "$bump" freeze
case_ "wfe_host.list_objects (1.1) removed breaks 1.1 only" "$c11" \
    "s[:s.index('  int32_t (*list_objects)')] + '} wfe_host;' + s[s.index('} wfe_host;') + len('} wfe_host;'):]" \
    "$bump" freeze
case_ "the entry point's type changed breaks 1.0 and 1.1" "$c10|$c11" \
    "s.replace('typedef const wfe_plugin *(*wfe_plugin_entry_fn)(void);', 'typedef const wfe_plugin *(*wfe_plugin_entry_fn)(int);')" \
    "$bump" freeze
case_ "an error code renumbered breaks the macros of 1.0 and 1.1" \
    "the macros of ABI 1.0 keep their values; the version is 1.2|the macros of ABI 1.1 keep their values; the version is 1.2" \
    "s.replace('#define WFE_E_NOMEM (-3)', '#define WFE_E_NOMEM (-7)')" "$bump" freeze
case_ "a new major breaks the macros of every 1.x" \
    "ABI 2.1 is not frozen: run tests/abi/abi-guard freeze when it is released|the macros of ABI 1.0 keep their values; the version is 2.1|the macros of ABI 1.1 keep their values; the version is 2.1" \
    "s.replace('#define WFE_ENGINE_ABI_MAJOR 1', '#define WFE_ENGINE_ABI_MAJOR 2')"

echo "$passed passed, $failed failed"
((failed == 0))
