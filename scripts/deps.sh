#!/usr/bin/env bash
# Installs the Debian 12 packages the build and the tests need (only those missing).
set -euo pipefail
pkgs=(cmake make gcc clang libclang-rt-14-dev clang-format pkg-config libssl-dev libsqlite3-dev
      sqlite3 python3 sip-tester sipsak baresip-core linphone-cli kamailio iproute2 util-linux)
need=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
((${#need[@]})) || exit 0
sudo_cmd=""
[ "$(id -u)" = 0 ] || sudo_cmd=sudo
echo "installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
