#!/usr/bin/env bash
# Installs the Debian packages pcsc11 builds and tests with. Idempotent: when every
# package is already installed it prints one line and touches nothing (no apt-get update).
set -euo pipefail

packages=(
  # build
  gcc pkg-config libpcsclite-dev
  # private namespaces for test pcscds (unshare, ip)
  util-linux iproute2
  # the PC/SC stack and the virtual reader driver
  pcscd vsmartcard-vpcd pcsc-tools
  # independent clients the tests and the demo run against the module and the card
  opensc gnutls-bin p11-kit libnss3-tools ykcs11 yubico-piv-tool openssl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} Debian packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "deps: installing ${missing[*]}"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"

# The Go toolchain is expected at /usr/local/go or on PATH (Go ≥ 1.25, see go.mod).
if ! command -v go >/dev/null && [ ! -x /usr/local/go/bin/go ]; then
  echo "deps: Go is not installed: get Go 1.25+ from your distribution or go.dev" >&2
  exit 1
fi
