#!/usr/bin/env bash
# Runs inside `hwtests/rig.sh run`: pcscd and the demo card are up, and
# PCSC11_HWTEST_READER names the reader. Every part runs even if an earlier one
# failed; the exit status says whether all passed.
set -uo pipefail
cd "$(dirname "$0")/.."
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
failed=()
# The module's disk cache of certificates (docs/cache.md) is on by default: give it a
# directory of this run, so that every part exercises it and none touches ~/.cache.
if [ -z "${PCSC11_CACHE_DIR:-}" ]; then
  PCSC11_CACHE_DIR=$(mktemp -d /tmp/pcsc11-cache.XXXXXX)
  export PCSC11_CACHE_DIR
  trap 'rm -rf "$PCSC11_CACHE_DIR"' EXIT
fi

part() {
  local name=$1; shift
  echo "== $name"
  if "$@"; then echo "== $name: passed"; else echo "== $name: FAILED"; failed+=("$name"); fi
}

# 0. Our CLI first: it reads the demo card's 9A/9E keys, which destructive hwtests replace.
part "pcsc11 CLI" bash cmd/pcsc11/e2e_test.sh
part "pcsc11 readers with the PIN pad" bash cmd/pcsc11/e2e_pinpad.sh
# 1. Independent clients against the card (and the card's own faithfulness).
part "hwtests (go test ./hwtests/...)" "$go" test -count=1 ./hwtests/...
# 2. The module through its C ABI, loaded with dlopen by a C program.
# The demo card's PIN and factory management key (the SO credential) are public test values.
# The touch prompt's checks put a fake notification service on a private session bus.
part "C ABI harness" env PCSC11_NOTIFY_LISTENER=build/notify-listener PCSC11_TEST_PIN=123456 PCSC11_TEST_SO_PIN=010203040506070801020304050607080102030405060708 PCSC11_TEST_REMOVAL=1 build/cabi-test build/libpcsc11.so
# Every mechanism × key type on the card, checked by OpenSSL, Go and the module itself.
part "crypto: every mechanism x key, OpenSSL and Go verify, pkcs11-tool --test" bash hwtests/crypto/run.sh
# 3. The module through real clients.
part "pkcs11-tool through libpcsc11.so" bash scripts/check-pkcs11-tool.sh
part "pkcs11-tool and p11tool listings" bash hwtests/cabi/clients.sh
# 4. The C harness again under ThreadSanitizer (the C side; Go is covered by -race).
part "C ABI under TSan" env PCSC11_NOTIFY_LISTENER=build/notify-listener PCSC11_TEST_PIN=123456 PCSC11_TEST_REMOVAL=1 bash hwtests/cabi/tsan.sh

if [ ${#failed[@]} -gt 0 ]; then
  echo "hw-suite: failed parts: ${failed[*]}"
  exit 1
fi
echo "hw-suite: all parts passed"
