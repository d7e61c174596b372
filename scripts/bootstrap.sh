#!/usr/bin/env bash
# Install migrator and what it needs from the project's own files, on a fresh machine.
#   scripts/bootstrap.sh          migrator + what sample_monolith needs (the main job)
#   scripts/bootstrap.sh --test   also the test suite's tools: Python extras and Debian packages
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

PY=${PYTHON:-python3}
quiet=(-q --disable-pip-version-check --root-user-action=ignore)

if [ "$want_test" = 1 ]; then
    "$PY" -m pip install "${quiet[@]}" -e '.[test]'
else
    "$PY" -m pip install "${quiet[@]}" -e '.[sample]'
fi

if [ "$want_test" = 1 ] && [ ! -x .venv-security/bin/checkov ]; then
    # checkov (the `security` extra) pins many libraries of its own, so it gets a venv of its
    # own where it cannot change ours; tests/generation/test_checkov.py finds it there.
    rm -rf .venv-security
    "$PY" -m venv .venv-security
    .venv-security/bin/pip install "${quiet[@]}" 'checkov>=3.2'
fi

if [ "$want_test" = 1 ]; then
    # Debian packages the tests drive for real (see README, "Tests"): nginx checks and runs the
    # gateway, chromium renders the HTML report, graphviz draws dot output, podman/buildah/runc
    # and debootstrap build images without a Docker engine; catatonit is podman's `--init`;
    # postgresql runs a primary and a streaming replica on loopback (tests start and stop them);
    # prometheus gives promtool and a server that scrapes generated services on loopback.
    apt_pkgs=(nginx-light chromium graphviz podman buildah runc debootstrap catatonit postgresql
              prometheus)
    missing=()
    for p in "${apt_pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        SUDO=""
        [ "$(id -u)" = 0 ] || SUDO=sudo
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi
