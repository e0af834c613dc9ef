#!/usr/bin/env bash
# Runs the end-to-end tests with real applications (e2e/test-*.sh) and ends with
# "N passed, N failed, N skipped"; exits non-zero if any check failed.
#
#   e2e/run.sh [APP…]        e.g. e2e/run.sh ssh nss   (default: all of them)
#
# Environment:
#   P11_MODULE   the module under test (default build/libpcsc11.so); e.g.
#                /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so as the reference
#   E2E_RIG      namespace (default, root): its own pcscd + fresh demo card in private
#                mount and network namespaces (hwtests/rig.sh run, PCSC11_RIG_NAMESPACE=1);
#                shared: use the rig that is up (hwtests/rig.sh up) or any card present;
#                it must hold the demo card's keys and PIN, and the tests that remove
#                the card are skipped (others may be using it)
#   E2E_KEEP=1   keep each test's work directory (logs) under /tmp
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

if [[ ${1:-} != --inner ]]; then
	rig=${E2E_RIG:-namespace}
	if [[ $rig == namespace && $(id -u) != 0 ]]; then
		echo "# not root: using the shared rig (E2E_RIG=shared)" >&2
		rig=shared
	fi
	if [[ $rig == namespace ]]; then
		# A fresh demo card: tests see exactly the demo keys, whatever other suites did.
		# E2E_OWN_RIG: the tests may remove and re-insert this card.
		E2E_OWN_RIG=1 PCSC11_RIG_NAMESPACE=1 PCSC11_RIG_TIMEOUT=30 exec "$repo/hwtests/rig.sh" run "$0" --inner "$@"
	fi
	if [[ -f ${PCSC11_RIG_DIR:-/tmp/pcsc11-rig}/env ]]; then
		# shellcheck disable=SC1090
		. "${PCSC11_RIG_DIR:-/tmp/pcsc11-rig}/env"
	fi
	exec "$0" --inner "$@"
fi
shift

apps=("$@")
if [[ ${#apps[@]} == 0 ]]; then
	# Cheapest and most important first; Firefox late (it is heavy); personalize last
	# (it resets the card the others use).
	apps=(ssh nss openssl gnutls remote python java config doctor package register chromium firefox personalize)
fi

cd "$repo" || exit 1
echo "# module: ${P11_MODULE:-$repo/build/libpcsc11.so}"
echo "# reader: ${PCSC11_HWTEST_READER:-(any)}"
out=$(mktemp)
# The module's disk cache of certificates (docs/cache.md) is on by default: one
# directory for this run, shared by its tests (as by one user's programs), never ~/.cache.
if [[ -z ${PCSC11_CACHE_DIR:-} ]]; then
	PCSC11_CACHE_DIR=$(mktemp -d /tmp/pcsc11-cache.XXXXXX)
	export PCSC11_CACHE_DIR
	trap 'rm -f "$out"; rm -rf "$PCSC11_CACHE_DIR"' EXIT
else
	trap 'rm -f "$out"' EXIT
fi
for app in "${apps[@]}"; do
	t=$here/test-$app.sh
	if [[ ! -x $t ]]; then
		echo "not ok - $app: no such test ($t)" | tee -a "$out"
		continue
	fi
	echo "# $app"
	start=$SECONDS
	# Each test has a time limit, so that a hung program fails the run instead of
	# stopping it.
	timeout -k 10 "${E2E_TIMEOUT:-240}" "$t" 2>&1 | tee -a "$out"
	rc=${PIPESTATUS[0]}
	if [[ $rc == 124 || $rc == 137 ]]; then
		echo "not ok - $app: timed out" | tee -a "$out"
	elif [[ $rc != 0 ]]; then
		echo "not ok - $app: test script exited with status $rc" | tee -a "$out"
	fi
	echo "# $app: $((SECONDS - start)) s"
done
pass=$(grep -c '^ok - ' "$out")
fail=$(grep -c '^not ok - ' "$out")
skipped=$(grep -c '^skip - ' "$out")
echo "$pass passed, $fail failed, $skipped skipped"
[[ $fail == 0 ]]
