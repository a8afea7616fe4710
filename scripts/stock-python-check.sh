#!/usr/bin/env bash
# The README's promise on a stock Debian 12, checked on a build machine that has a second Python
# (issue 12): with a PATH on which Debian's /usr/bin/python3 is the only Python,
#   1. `make deps` (what `make demo` needs) succeeds with no Python at all: every python3 is
#      hidden in a private mount namespace (needs root; without root this part is skipped,
#      and CI=true makes that a failure);
#   2. `make test-deps` makes the tests' venv from Debian's python3 (fresh: the old one is removed);
#   3. the Python-using tests pass (`make python-test`: config schema, OpenAPI conformance);
#   4. no module the tests import was put into the system Python: each one the system
#      interpreter can import belongs to a Debian package (dpkg -S), the rest live in the venv.
# Usage: scripts/stock-python-check.sh (from anywhere; runs in the repository).
set -euo pipefail
cd "$(dirname "$0")/.."

STOCK_PATH=/opt/swift/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
VENV=$PWD/.build/venv
fail() {
    echo "stock-python-check: FAIL: $*" >&2
    exit 1
}
say() { echo "stock-python-check: $*"; }

# A clean environment: no pyenv, virtualenv or user site leaking in.
stock() {
    env -i HOME="${HOME:-/root}" PATH="$STOCK_PATH" LANG=C.UTF-8 CI="${CI:-}" \
        ${PIP_FIND_LINKS:+PIP_FIND_LINKS="$PIP_FIND_LINKS"} ${PIP_INDEX_URL:+PIP_INDEX_URL="$PIP_INDEX_URL"} \
        ${PIP_CERT:+PIP_CERT="$PIP_CERT"} ${PIP_DEFAULT_TIMEOUT:+PIP_DEFAULT_TIMEOUT="$PIP_DEFAULT_TIMEOUT"} \
        PYTHONNOUSERSITE=1 "$@"
}

# Every python3 / python on the stock PATH must be Debian's interpreter.
system=$(realpath /usr/bin/python3 2>/dev/null) || system=""
while read -r found; do
    [ -n "$found" ] || continue
    [ "$(realpath "$found")" = "$system" ] || fail "$found is not Debian's python3 ($system): remove it from STOCK_PATH"
done < <(stock bash -c 'type -ap python3 python' 2>/dev/null)
say "PATH=$STOCK_PATH: the only python3 is ${system:-none (make test-deps installs it)}"

# 1. make deps with no Python anywhere (python3 and every versioned interpreter bound to /dev/null).
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
    hide=$(for f in /usr/bin/python3* /usr/local/bin/python3*; do if [ -f "$f" ] && [ ! -L "$f" ]; then echo "$f"; fi; done)
    # shellcheck disable=SC2016 # expanded by the inner shell
    stock unshare --mount --propagation private -- bash -c '
        for f in '"$(echo "$hide" | tr '\n' ' ')"'; do mount --bind /dev/null "$f"; done
        if python3 -c "" 2>/dev/null; then echo "python3 still runs" >&2; exit 1; fi
        make deps' || fail "make deps failed with no Python on the machine"
    say "make deps: ok with every python3 hidden ($(echo "$hide" | tr '\n' ' '))"
elif [ "${CI:-}" = true ]; then
    fail "needs root and unshare to hide python3 for make deps (CI=true)"
else
    say "make deps without Python: skipped (needs root and unshare to hide python3)"
fi

# 2. and 3. a fresh venv from Debian's python3, then the Python-using tests through it.
rm -rf "$VENV"
stock make test-deps || fail "make test-deps"
[ "$(realpath "$VENV/bin/python3")" = "$(realpath /usr/bin/python3)" ] \
    || fail "the venv is not made from /usr/bin/python3 ($(realpath "$VENV/bin/python3"))"
stock make python-test || fail "make python-test"

# 4. What the system interpreter imports comes from Debian; the rest only from the venv.
for module in jsonschema openapi_schema_validator; do
    file=$(stock /usr/bin/python3 -c "import $module; print($module.__file__)" 2>/dev/null) || file=""
    if [ -n "$file" ]; then
        dpkg -S "$file" >/dev/null 2>&1 || fail "$module in the system Python ($file) belongs to no Debian package"
        say "$module: Debian's ($(dpkg -S "$file" | cut -d: -f1))"
    else
        venv_file=$(stock "$VENV/bin/python3" -c "import $module; print($module.__file__)") \
            || fail "$module is in neither the system Python nor the venv"
        case "$venv_file" in "$VENV"/*) ;; *) fail "$module comes from $venv_file, outside the venv" ;; esac
        say "$module: the venv's ($venv_file)"
    fi
done
say "ok"
