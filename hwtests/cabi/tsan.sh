#!/usr/bin/env bash
# Runs the C ABI harness built with ThreadSanitizer (the 16-thread session test, the
# slot-event waiters and C_Finalize from another thread are its concurrent parts)
# against build/libpcsc11.so. The module's Go code is not instrumented by TSan; it is
# checked by `go test -race` instead. Run it inside the rig (pcscd + virtual card):
#
#   hwtests/rig.sh run bash hwtests/cabi/tsan.sh
#
# Same environment as build/cabi-test (PCSC11_TEST_PIN, PCSC11_TEST_REMOVAL, ...).
# Exit status: the harness's, or 66 when TSan reported a race.
set -euo pipefail
cd "$(dirname "$0")/../.."
cc -std=c11 -g -O1 -fsanitize=thread -Wall -Wextra -Werror -I module/include \
  -o build/cabi-test-tsan hwtests/cabi/cabi_test.c -ldl
TSAN_OPTIONS="suppressions=$PWD/hwtests/cabi/tsan.supp exitcode=66 ${TSAN_OPTIONS:-}" \
  build/cabi-test-tsan build/libpcsc11.so
