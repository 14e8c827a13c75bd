#!/usr/bin/env bash
# Debian packages the tests and benches use (DESIGN.md §3). Idempotent; as root or via sudo.
set -euo pipefail
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends \
  libiscsi-bin qemu-utils qemu-block-extra fio tgt python3 python3-grpcio librocksdb7.8 >/dev/null
