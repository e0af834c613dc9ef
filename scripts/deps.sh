#!/usr/bin/env bash
# Installs the Debian packages pcsc11 builds and tests with. Idempotent: when every
# package is already installed it prints one line and touches nothing (no apt-get update).
set -euo pipefail

packages=(
  # build
  gcc pkg-config libpcsclite-dev
  # the headers our pkcs11 header is checked against (make header-check)
  libp11-kit-dev libnss3-dev
  # private namespaces for test pcscds (unshare, ip)
  util-linux iproute2
  # the PC/SC stack and the virtual reader driver
  pcscd vsmartcard-vpcd pcsc-tools
  # independent clients the tests and the demo run against the module and the card
  opensc gnutls-bin p11-kit libnss3-tools ykcs11 yubico-piv-tool openssl
  # the applications of the end-to-end suite (e2e/)
  openssh-client openssh-server libengine-pkcs11-openssl python3 python3-pykcs11
  p11-kit-modules openjdk-17-jdk-headless file firefox-esr chromium
  # Chromium has no PIN dialog in --headless: e2e/test-chromium.sh runs it on a virtual X
  # display and types the PIN into its dialog
  xvfb xdotool
)
# pkcs11-provider (OpenSSL 3's PKCS#11 provider) exists for Debian 12 only in
# bookworm-backports; it is installed from there, the sources entry added if missing.
backports=(pkcs11-provider)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# debian_mirror: the archive URI apt uses for the main bookworm suite (deb822 or
# one-line format).
debian_mirror() {
  { awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ && u !~ /security/ {print u; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null
    awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null
    true; } | head -1   # either file may be missing (Debian 12 images ship only the deb822 one)
}

missing_bp=()
for p in "${backports[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing_bp+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ] && [ ${#missing_bp[@]} -eq 0 ]; then
  echo "deps: all $(( ${#packages[@]} + ${#backports[@]} )) Debian packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "deps: installing ${missing[*]} ${missing_bp[*]}"
if [ ${#missing_bp[@]} -gt 0 ] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # The same archive the machine already uses for bookworm, with the backports suite.
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || { echo "deps: cannot tell the Debian mirror from apt's sources" >&2; exit 1; }
  echo "deb $mirror bookworm-backports main" | $sudo tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
fi
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ${#missing_bp[@]} -gt 0 ]; then
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports "${missing_bp[@]}" >/dev/null
fi
echo "deps: done"

# The Go toolchain is expected at /usr/local/go or on PATH (Go ≥ 1.25, see go.mod).
if ! command -v go >/dev/null && [ ! -x /usr/local/go/bin/go ]; then
  echo "deps: Go is not installed: get Go 1.25+ from your distribution or go.dev" >&2
  exit 1
fi
