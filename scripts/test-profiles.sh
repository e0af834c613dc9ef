#!/usr/bin/env bash
# The profile matrix: the module against each other card the virtual card
# can be (docs/virtual-card.md, Card profiles), through a real pcscd. The default card
# (yubikey-5.7) gets the whole hw suite (scripts/hw-suite.sh); every other profile a
# subset that still touches every layer a user touches: the C ABI harness, every
# mechanism on every key type the card has with OpenSSL and Go verifying
# (hwtests/crypto/run.sh, which also checks that keys the card cannot make are
# refused), pkcs11-tool and p11tool, and the independent clients (OpenSC, piv-go,
# yubico-piv-tool) where the real card would work with them.
#
#   scripts/test-profiles.sh [PROFILE…]     (default: all but yubikey-5.7)
#
# A profile may carry pcsc11-vpiv flags after a colon, e.g. piv:--pin-policy=global.
set -uo pipefail
cd "$(dirname "$0")/.."
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
# shellcheck source=../hwtests/profiles.sh
. hwtests/profiles.sh
profiles=("$@")
[[ ${#profiles[@]} == 0 ]] && profiles=("${matrix_profiles[@]}")
export PCSC11_VPIV=${PCSC11_VPIV:-$PWD/build/pcsc11-vpiv}
if [[ $(id -u) == 0 ]] && unshare --mount --net true 2>/dev/null; then
  export PCSC11_RIG_NAMESPACE=1
fi
if [[ -z ${PCSC11_CACHE_DIR:-} ]]; then
  PCSC11_CACHE_DIR=$(mktemp -d /tmp/pcsc11-cache.XXXXXX)
  export PCSC11_CACHE_DIR
  trap 'rm -rf "$PCSC11_CACHE_DIR"' EXIT
fi
failed=()
for spec in "${profiles[@]}"; do
  profile_spec "$spec"
  name=$profile_name flags=$profile_flags
  echo "=== profile $name ${flags:+($flags)}"
  start=$SECONDS
  if PCSC11_RIG_CARD=$name PCSC11_VPIV_ARGS="$flags" PCSC11_RIG_DIR=/tmp/pcsc11-rig-profile.$$ \
    hwtests/rig.sh run bash -c '
      status=0
      part() { echo "== $1"; shift; if "$@"; then echo "== passed"; else echo "== FAILED"; status=1; fi; }
      part "C ABI harness" env PCSC11_TEST_PIN=123456 PCSC11_TEST_SO_PIN=010203040506070801020304050607080102030405060708 build/cabi-test build/libpcsc11.so
      part "crypto: every mechanism x key the card has, OpenSSL and Go verify" bash hwtests/crypto/run.sh
      part "pkcs11-tool and p11tool listings" bash hwtests/cabi/clients.sh
      part "OpenSC, piv-go, yubico-piv-tool" '"$go"' test -count=1 -run "^TestProfile" ./hwtests/
      exit $status'; then
    echo "=== profile $name: passed ($((SECONDS - start)) s)"
  else
    echo "=== profile $name: FAILED ($((SECONDS - start)) s)"
    failed+=("$name")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "profiles: failed: ${failed[*]}"
  exit 1
fi
echo "profiles: all passed"
