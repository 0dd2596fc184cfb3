#!/usr/bin/env bash
# Installs every Debian 12 package that lstmad's build, tests and benchmarks need.
# Idempotent: packages already present are skipped by apt. Run as root (or via sudo).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # libraries
  libeigen3-dev libboost-dev libyaml-cpp-dev prometheus-cpp-dev libspdlog-dev libfmt-dev
  libsystemd-dev libhdf5-dev libzip-dev libssl-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # references the tests compare against (Debian's python, not the one first on PATH)
  python3 python3-numpy python3-torch python3-h5py libopenblas0-pthread
  # real servers and tools the integration tests talk to
  prometheus prometheus-alertmanager curl
)

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all packages present" >&2
fi
