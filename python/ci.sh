#!/usr/bin/env bash
# Builds the waitress_rs wheel and runs its pytest suite, in a fresh virtualenv.
#
#   bash python/ci.sh
#
# Needs only Rust and CPython 3.11+ (PYTHON=... to choose one). The virtualenv goes to
# python/.venv (WAITRESS_RS_VENV=... to move it) and is made anew each run; the wheel goes to
# python/dist. Cargo's CARGO_TARGET_DIR is honoured.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
venv="${WAITRESS_RS_VENV:-$here/.venv}"
python="${PYTHON:-}"
if [ -z "$python" ]; then
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1; then
            python="$candidate"
            break
        fi
    done
fi
[ -n "$python" ] || { echo "python/ci.sh: no python3 found" >&2; exit 1; }

echo "--- venv ($("$python" --version)) at $venv"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
    "maturin>=1.9,<2" "pytest>=8" "flask>=3" "django>=5,<6" "django-prodserver>=3,<4" \
    "pyramid>=2" "pastedeploy>=3"

echo "--- wheel"
rm -rf "$here/dist"
(cd "$here" && "$venv/bin/maturin" build --release --quiet -o dist -i "$venv/bin/python")
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$here"/dist/*.whl

echo "--- pytest"
# The console scripts (waitress-rs, pserve) are found beside the venv's interpreter.
cd "$here"
PATH="$venv/bin:$PATH" "$venv/bin/pytest" -q -p no:cacheprovider tests
