#!/usr/bin/env bash
# The tests that need a reader, run against the virtual card through a real pcscd
# (`make hwtest-ci`, part of `make test`). hwtests/rig.sh starts pcscd + the card, runs
# scripts/hw-suite.sh, and stops only what it started.
#
# As root, with unshare available, the whole run gets private mount and network
# namespaces: its own /run/pcscd and vpcd ports, so a pcscd already running on the
# machine (or a developer's own rig) neither disturbs nor is disturbed by it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PCSC11_VPIV=$PWD/build/pcsc11-vpiv
if [ "$(id -u)" -eq 0 ] && unshare --mount --net true 2>/dev/null; then
  export PCSC11_RIG_NAMESPACE=1
  export PCSC11_RIG_DIR=${PCSC11_RIG_DIR:-/tmp/pcsc11-rig-test.$$}
fi
# The module's disk cache of certificates (docs/cache.md) is on by default: one
# directory for this run (the suite and the PIN-pad test), so that every part
# exercises it and none touches ~/.cache.
if [ -z "${PCSC11_CACHE_DIR:-}" ]; then
  PCSC11_CACHE_DIR=$(mktemp -d /tmp/pcsc11-cache.XXXXXX)
  export PCSC11_CACHE_DIR
  trap 'rm -rf "$PCSC11_CACHE_DIR"' EXIT
fi
status=0
hwtests/rig.sh run bash scripts/hw-suite.sh || status=1

# The test PIN-pad reader (pinpad/): its own pcscd with our IFD handler; needs root.
if [ "$(id -u)" -eq 0 ]; then
  echo "== PIN-pad reader end to end (pinpad/e2e.sh)"
  if bash pinpad/e2e.sh; then echo "== PIN-pad reader: passed"; else echo "== PIN-pad reader: FAILED"; status=1; fi
else
  echo "== PIN-pad reader: skipped: pinpad/e2e.sh needs root to start its own pcscd"
fi

# The other cards (a PIV card is not always a YubiKey 5.7): each profile of the virtual
# card through the C ABI harness, every mechanism on every key type it has, pkcs11-tool,
# p11tool, OpenSC, piv-go and yubico-piv-tool (scripts/test-profiles.sh; about 2.5
# minutes).
echo "== card profiles (scripts/test-profiles.sh)"
if bash scripts/test-profiles.sh; then echo "== card profiles: passed"; else echo "== card profiles: FAILED"; status=1; fi
exit $status
