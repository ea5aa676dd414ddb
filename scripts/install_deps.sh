#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, only those missing.
set -euo pipefail
pkgs=(build-essential cmake antlr4 libantlr4-runtime-dev libboost-dev libboost-program-options-dev
      nlohmann-json3-dev doctest-dev libcli11-dev libre2-dev libreadline-dev expect python3 python3-venv unzip curl
      clang libclang-rt-14-dev libjwt-dev llvm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
