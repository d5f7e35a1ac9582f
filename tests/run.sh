#!/usr/bin/env bash
# Every test of waitress-rs, from a fresh machine that has the Rust toolchain and Python 3.11:
# installs what the tests need that is missing, then runs the Rust tests, checks the API docs,
# and runs the Python package's tests and a smoke run of the benchmarks. The README's test
# command; .ci/run runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v ss >/dev/null 2>&1 || [ -x /usr/sbin/ss ] || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "== installing ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    else
        echo "tests/run.sh: please install ${need[*]} (Debian: apt-get install ${need[*]})" >&2
        exit 1
    fi
fi
# nginx is started by the tests themselves, on 127.0.0.1 only.
export PATH="$PATH:/usr/sbin"

echo "== Rust: cargo test"
cargo test --workspace --all-targets
# --all-targets leaves out the examples in the API docs.
cargo test --doc

if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
    # Root reads every file, so the static app's permission tests skip themselves; run them
    # again as nobody, where a 403 for an unreadable file (and the root checks behind it) can
    # fail. The test binary is copied where nobody may run it.
    echo "== Rust: the static app's tests as an unprivileged user"
    lib_tests=$(cargo test --lib --no-run --message-format=json 2>/dev/null \
        | grep -o '"executable":"[^"]*"' | tail -1 | cut -d'"' -f4)
    scratch=$(mktemp -d)
    cp "$lib_tests" "$scratch/lib-tests"
    chmod 755 "$scratch" "$scratch/lib-tests"
    (cd "$scratch" && setpriv --reuid=65534 --regid=65534 --clear-groups \
        env TMPDIR=/tmp HOME=/tmp "$scratch/lib-tests" app::static_files)
    rm -rf "$scratch"
fi

echo "== Rust: API docs (broken links fail)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace

echo "== Python package"
bash python/ci.sh

echo "== Benchmarks (smoke)"
bench/run --smoke
if [ "$(nproc)" -ge 2 ]; then
    # The load generator on CPUs of its own (bench/run --split), so that path cannot rot either.
    bench/run --smoke --split --peers hyper
fi
