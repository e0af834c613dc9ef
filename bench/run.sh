#!/usr/bin/env bash
# bench/run.sh — the measurement rig behind docs/performance.md (`make bench`).
#
# Runs bench/p11bench against pcsc11 (build/libpcsc11.so), OpenSC (opensc-pkcs11.so)
# and Yubico's ykcs11 (libykcs11.so), all talking to the same virtual PIV card
# (cmd/pcsc11-vpiv) through the same real pcscd, with and without the card's latency
# model; then rewrites the results part of docs/performance.md and docs/performance.png.
#
# Isolation: everything runs in private mount and network namespaces (unshare), with
# a tmpfs on /run/pcscd and its own pcscd, so that a rig or pcscd already running on
# the machine (another test, a real reader) is neither used nor disturbed, and the
# card's APDU counters see only our traffic. Needs root.
#
# Environment (all optional):
#   BENCH_RUNS      runs per cold-start scenario (S1, S2, S6); default 5 (S3/S4: 3)
#   BENCH_QUICK=1   one run of everything (a smoke test of the rig, ~1 minute)
#   BENCH_ONLY      labels to run, e.g. "opensc ykcs11" (default: all that exist)
#   BENCH_LAT_ARGS  pcsc11-vpiv flags of the latency model (default: see lat_args)
#   BENCH_OUT       working directory for results and logs; default bench/out
#   BENCH_NO_DOC=1  do not touch docs/ (results stay in $BENCH_OUT)
#   BENCH_PHASES    phases to run (default "base economy trace"): base = S1-S6,
#                   economy = S7-S10 on three cards, trace = the APDU sequences
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out=${BENCH_OUT:-$here/out}
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
bin=$here/bin

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# pkgver PKG: the upstream version of a Debian package (no Debian revision).
pkgver() {
	local v
	v=$(dpkg-query -W -f '${Version}' "$1" 2>/dev/null) || v='?'
	v=${v#*:}
	echo "${v%%-*}"
}

# The modules: label, path, display name. A missing file is skipped (and said so).
modules() {
	local ver
	ver=$(cd "$repo" && git describe --tags --always --dirty 2>/dev/null || echo dev)
	echo "pcsc11|$repo/build/libpcsc11.so|pcsc11 $ver"
	echo "opensc|/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so|OpenSC $(pkgver opensc)"
	echo "ykcs11|/usr/lib/x86_64-linux-gnu/libykcs11.so|ykcs11 $(pkgver ykcs11)"
}

# lat_args: the latency model of the virtual card (docs/virtual-card.md, "Latency
# model"): 2 ms per APDU, 80 ms per RSA-2048 and 30 ms per P-256 private-key
# operation, about a YubiKey 5 over USB. A card binary without these flags (an old
# build) falls back to its fault injector's "slow" mode, 2 ms on every answer, which
# models the per-APDU cost only.
lat_args() {
	if [[ -n ${BENCH_LAT_ARGS:-} ]]; then
		echo "$BENCH_LAT_ARGS"
		return
	fi
	local help
	help=$("$vpiv" -h 2>&1 || true)
	if grep -q -- '-latency-apdu' <<<"$help"; then
		local a="--latency-apdu 2ms"
		grep -q -- '-latency-rsa' <<<"$help" && a+=" --latency-rsa 80ms"
		grep -q -- '-latency-ec' <<<"$help" && a+=" --latency-ec 30ms"
		echo "$a"
	else
		echo "--inject slow --inject-every 1 --inject-delay 2ms"
	fi
}

build() {
	mkdir -p "$bin" "$out"
	cc -std=c11 -O2 -Wall -Wextra -Werror -I "$repo/module/include" \
		$(pkg-config --cflags libpcsclite) -o "$bin/p11bench" \
		"$here/p11bench.c" "$here/p11bench_par.c" "$here/p11bench_event.c" "$here/p11bench_idle.c" "$here/cardctl.c" \
		-ldl $(pkg-config --libs libpcsclite)
	(cd "$repo" && "$go" build -o "$bin/chart" ./bench/chart)
	# The rig builds these itself, but inside the network namespace there is no module
	# proxy: build them here.
	if [[ ! -x $repo/build/pcsc11-vpiv ]]; then
		(cd "$repo" && "$go" build -o "$bin/pcsc11-vpiv" ./cmd/pcsc11-vpiv)
	fi
	for d in rig0 rig1; do
		mkdir -p "$out/$d"
		chmod 0700 "$out/$d"
		(cd "$repo" && "$go" build -o "$out/$d/waitcard" ./hwtests/cmd/waitcard)
	done
}

# ---- inside the namespaces ----

# card_status SOCK: "commands bytes_in bytes_out" of the card (its own counters).
card_status() {
	"$vpiv" --send status --control "$1" | sed -n 's/.*commands=\([0-9]*\) bytes_in=\([0-9]*\) bytes_out=\([0-9]*\).*/\1 \2 \3/p'
}

# measure LABEL SC CASE RUN -- CMD...: runs a real client (S7 ssh-keygen, S8 certutil)
# as one fresh process and records the card's counters around it, as p11bench does
# for its own scenarios. A failing client is a failed measurement, never a number.
measure() {
	local label=$1 sc=$2 cs=$3 run=$4
	shift 5
	local a b t0 t1 rc=0
	read -r -a a < <(card_status "$out/rig0/control.sock")
	t0=$(date +%s%N)
	timeout -k 5 120 "$@" </dev/null >"$out/$sc-$label-$cs.out" 2>>"$out/clients.log" || rc=$?
	t1=$(date +%s%N)
	read -r -a b < <(card_status "$out/rig0/control.sock")
	if [[ $rc != 0 || ${#a[@]} != 3 || ${#b[@]} != 3 ]] || ! grep -q "${expect[$sc]}" "$out/$sc-$label-$cs.out"; then
		printf '{"v":1,"module":"%s","lat":"off","run":%d,"scenario":"%s","case":"%s","status":"error","error":"%s exit %d"}\n' \
			"$label" "$run" "$sc" "$cs" "$1" "$rc" >>"$out/results.jsonl"
		say "$label $sc $cs: $1 exit $rc or unexpected output; see $out/$sc-$label-$cs.out"
		return 0
	fi
	printf '{"v":1,"module":"%s","lat":"off","run":%d,"scenario":"%s","case":"%s","status":"ok","apdus":%d,"bytes_in":%d,"bytes_out":%d,"wall_ms":%.3f,"cpu_ms":0,"ops":1}\n' \
		"$label" "$run" "$sc" "$cs" "$((b[0] - a[0]))" "$((b[1] - a[1]))" "$((b[2] - a[2]))" \
		"$(((t1 - t0) / 1000))e-3" >>"$out/results.jsonl"
}

# What each client must print for its run to count: a key (ssh-keygen -D prints
# public keys), the demo card's 9A certificate (certutil -L -h all lists nicknames).
declare -A expect=([S7]="^ecdsa-sha2-nistp256 " [S8]="PIV Authentication")

# client_env LABEL MODE CARD: the environment of a client process. cold: no disk
# cache (pcsc11's off, OpenSC's off as Debian ships it); warm: each module's disk cache
# on, in a directory of its own per card, filled by an earlier process.
client_env() {
	local label=$1 mode=$2 card=$3 cdir=$out/cache/$1-$3
	case $label-$mode in
	pcsc11-cold) echo PCSC11_CACHE=0 ;;
	pcsc11-warm) echo PCSC11_CACHE_DIR=$cdir ;;
	opensc-warm) echo OPENSC_CONF=$out/opensc-cache.conf XDG_CACHE_HOME=$cdir HOME=$cdir ;;
	esac
}

# nssdb LABEL SO: an NSS database with the module registered (outside any interval).
nssdb() {
	local db=$out/nss/$1
	rm -rf "$db"
	mkdir -p "$db"
	certutil -N -d "sql:$db" --empty-password >/dev/null 2>&1
	echo | PCSC11_CACHE=0 modutil -dbdir "sql:$db" -force -add "bench-$1" -libfile "$2" >/dev/null 2>&1
	echo "$db"
}

# economy_phase: S7-S10 (docs/performance.md) on the demo card and on cards with
# certificates in retired slots, without and with a Key History Object; S7/S8 cold and
# warm.
economy_phase() {
	local runs=$1 card profile args label so name r mode db sfx prof
	mkdir -p "$out/cache"
	printf 'app default {\n\tframework pkcs15 {\n\t\tuse_file_caching = yes;\n\t}\n}\n' >"$out/opensc-cache.conf"
	# CARD|PROVISION|PCSC11-VPIV FLAGS: the 5.7 demo card, with retired certificates
	# without and with Key History, then every other card profile with the demo keys.
	local cards=("demo|demo|" "retired|demo+retired|" "retiredkh|demo+retired+keyhistory|")
	for prof in $("$vpiv" -h 2>&1 | sed -n 's/.*the card to be: \(.*\) (docs.*/\1/p' | tr -d ','); do
		[[ $prof == yubikey-5.7 ]] || cards+=("$prof|demo|--profile $prof")
	done
	for card in "${cards[@]}"; do
		IFS='|' read -r card profile args <<<"$card"
		say "S7-S10: card $card ($profile${args:+, $args})"
		rm -rf "$out/cache"/*-"$card"
		PCSC11_RIG_PROFILE=$profile card_up "$out/rig0" 35963 "$args"
		while IFS='|' read -r label so name; do
			db=$(nssdb "$label" "$so")
			for mode in cold warm; do
				sfx=$mode
				[[ $card != demo ]] && sfx=$mode-$card
				# warm: one process fills the cache before the measured ones.
				if [[ $mode == warm ]]; then
					env $(client_env "$label" warm "$card") ssh-keygen -D "$so" >/dev/null 2>&1 </dev/null || true
					env $(client_env "$label" warm "$card") certutil -L -d "sql:$db" -h all >/dev/null 2>&1 </dev/null || true
				fi
				for ((r = 1; r <= runs; r++)); do
					measure "$label" S7 "$sfx" "$r" -- env $(client_env "$label" "$mode" "$card") ssh-keygen -D "$so"
					measure "$label" S8 "$sfx" "$r" -- env $(client_env "$label" "$mode" "$card") certutil -L -d "sql:$db" -h all
				done
			done
			if [[ -n $args ]]; then # another card profile: S9 and S10 shorter
				one "$label" "$so" off 1 S9 "$card" --n 5 "${r0[@]}"
				one "$label" "$so" off 1 S10 "poll-$card" --n 5 --interval-ms 1000 "${r0[@]}"
			fi
			if [[ $card == demo ]]; then
				one "$label" "$so" off 1 S9 tls --n 10 "${r0[@]}"
				one "$label" "$so" off 1 S10 poll --n 10 --interval-ms 1000 "${r0[@]}"
				# What NSS really calls, in pcsc11's own per-call log.
				if [[ $label == pcsc11 ]]; then
					rm -f "$out/nss-calls-certutil.log"
					PCSC11_DEBUG=1 PCSC11_LOG=$out/nss-calls-certutil.log PCSC11_CACHE=0 \
						certutil -L -d "sql:$db" -h all >/dev/null 2>&1 </dev/null || true
				fi
			fi
		done <"$out/modules"
		card_down "$out/rig0"
	done
}

# one LABEL SO LAT RUN SCENARIO VARIANT [p11bench args...]: one p11bench process; a
# crash or a hang still leaves a result line, so that no failure is silent.
one() {
	local label=$1 so=$2 lat=$3 run=$4 sc=$5 var=$6
	shift 6
	local tmp rc=0
	tmp=$(mktemp)
	timeout -k 5 120 "$bin/p11bench" --module "$so" --label "$label" --lat "$lat" --run "$run" \
		--scenario "$sc" --variant "$var" "$@" </dev/null >"$tmp" 2>>"$out/p11bench.log" || rc=$?
	cat "$tmp" >>"$out/results.jsonl"
	if ! grep -q '"status"' "$tmp"; then
		printf '{"v":1,"module":"%s","lat":"%s","run":%d,"scenario":"%s","case":"%s","status":"error","error":"p11bench exit %d"}\n' \
			"$label" "$lat" "$run" "$sc" "$var" "$rc" >>"$out/results.jsonl"
		say "$label $sc $var (latency $lat, run $run): exit $rc, no result"
	fi
	rm -f "$tmp"
}

card_up() { # DIR PORT ARGS
	PCSC11_RIG_DIR=$1 PCSC11_RIG_PORT=$2 PCSC11_VPIV_ARGS=$3 PCSC11_VPIV=$vpiv \
		"$repo/hwtests/rig.sh" up >/dev/null
}

card_down() { PCSC11_RIG_DIR=$1 "$repo/hwtests/rig.sh" down 2>/dev/null || true; }

# trace_one LABEL SO SCENARIO VARIANT head|tail [args]: one more run against the tracing
# card; keeps the command lines of the measured interval (the first APDUs of a cold
# start, the last of a signature loop) in trace-LABEL-CASE.txt for the document.
trace_one() {
	local label=$1 so=$2 sc=$3 var=$4 end=$5
	shift 5
	local log=$out/rig0/vpiv.log n0 res apdus total file=$out/trace-$label-$sc.txt
	[[ $sc == S3 ]] && file=$out/trace-$label-S3-$var.txt
	n0=$(wc -l <"$log")
	res=$(timeout -k 5 120 "$bin/p11bench" --module "$so" --label "$label" --lat trace \
		--scenario "$sc" --variant "$var" "$@" "${r0[@]}" </dev/null 2>>"$out/p11bench.log") || true
	apdus=$(grep -o '"apdus":[0-9]*' <<<"$res" | head -n 1 | cut -d: -f2)
	total=$(grep -o '"apdus_total":[0-9]*' <<<"$res" | head -n 1 | cut -d: -f2)
	[[ -n $apdus && -n $total ]] || return 0
	# The interval's commands: from the start (cold start), or the last $total minus
	# what C_CloseSession/C_Finalize sent after the interval (signature loop).
	tail -n +"$((n0 + 1))" "$log" | sed -n 's/^[^>]* > //p' >"$file.all"
	if [[ $end == tail ]]; then
		tail -n "$total" "$file.all" | head -n "$apdus" >"$file"
	else
		head -n "$apdus" "$file.all" >"$file"
	fi
	rm -f "$file.all"
}

# trace_client LABEL CASE CMD...: the APDUs of one cold run of a real client.
trace_client() {
	local label=$1 cs=$2 log=$out/rig0/vpiv.log n0
	shift 2
	n0=$(wc -l <"$log")
	env $(client_env "$label" cold x) timeout -k 5 120 "$@" </dev/null >/dev/null 2>&1 || true
	tail -n +"$((n0 + 1))" "$log" | sed -n 's/^[^>]* > //p' >"$out/trace-$label-$cs.txt"
}

trace_phase() {
	say "APDU traces"
	rm -f "$out"/trace-*.txt
	card_up "$out/rig0" 35963 "--trace"
	local label so name
	while IFS='|' read -r label so name; do
		trace_one "$label" "$so" S1 cold head
		trace_one "$label" "$so" S2 rsa head
		trace_one "$label" "$so" S3 ec tail --n 1
		trace_one "$label" "$so" S3 rsa tail --n 1
		trace_client "$label" S7 ssh-keygen -D "$so"
	done <"$out/modules"
	card_down "$out/rig0"
	# The card with retired certificates and a Key History Object.
	PCSC11_RIG_PROFILE=demo+retired+keyhistory card_up "$out/rig0" 35963 "--trace"
	while IFS='|' read -r label so name; do
		trace_client "$label" S7-retiredkh ssh-keygen -D "$so"
	done <"$out/modules"
	card_down "$out/rig0"
}

inner() {
	mount -t tmpfs -o mode=0755 tmpfs /run/pcscd
	ip link set lo up
	trap 'card_down "$out/rig1"; card_down "$out/rig0"' EXIT
	local runs=${BENCH_RUNS:-5} sruns=3 cycles=3
	if [[ ${BENCH_QUICK:-0} == 1 ]]; then runs=1 sruns=1 cycles=1; fi
	r0=(--reader "00 00" --control "$out/rig0/control.sock")
	local r1=(--reader "00 01" --control "$out/rig1/control.sock")
	local lat latflags label so name r n phases=" ${BENCH_PHASES:-base economy trace} "
	for lat in off on; do
		[[ $phases == *" base "* ]] || break
		latflags=""
		[[ $lat == on ]] && latflags=$(lat_args)
		say "latency $lat: card up${latflags:+ ($latflags)}"
		card_up "$out/rig0" 35963 "$latflags"
		n=20
		[[ $lat == on ]] && n=10
		for ((r = 1; r <= runs; r++)); do
			while IFS='|' read -r label so name; do
				one "$label" "$so" "$lat" "$r" S1 cold "${r0[@]}"
				one "$label" "$so" "$lat" "$r" S6 rss "${r0[@]}"
				one "$label" "$so" "$lat" "$r" S2 rsa "${r0[@]}"
			done <"$out/modules"
		done
		for ((r = 1; r <= sruns; r++)); do
			while IFS='|' read -r label so name; do
				one "$label" "$so" "$lat" "$r" S3 ec --n "$n" "${r0[@]}"
				one "$label" "$so" "$lat" "$r" S3 rsa --n "$n" "${r0[@]}"
				one "$label" "$so" "$lat" "$r" S4 single --n "$n" "${r0[@]}"
				one "$label" "$so" "$lat" "$r" S4 threads --n "$n" --threads 4 "${r0[@]}"
			done <"$out/modules"
		done
		while IFS='|' read -r label so name; do
			say "latency $lat: S5 $label"
			one "$label" "$so" "$lat" 1 S5 events --n "$cycles" "${r0[@]}"
		done <"$out/modules"
		say "latency $lat: second card up"
		card_up "$out/rig1" 35964 "--serial 12345679${latflags:+ $latflags}"
		for ((r = 1; r <= sruns; r++)); do
			while IFS='|' read -r label so name; do
				one "$label" "$so" "$lat" "$r" S4 cards --n "$n" --threads 4 "${r0[@]}" "${r1[@]}"
			done <"$out/modules"
		done
		card_down "$out/rig1"
		card_down "$out/rig0"
	done
	[[ $phases != *" economy "* ]] || economy_phase "$runs"
	[[ $phases != *" trace "* ]] || trace_phase
}

# ---- outside ----

main() {
	[[ $(id -u) == 0 ]] || die "needs root (its own pcscd in private namespaces); run with sudo"
	command -v unshare >/dev/null && command -v pcscd >/dev/null || die "needs unshare and pcscd"
	local t0=$SECONDS
	vpiv=$repo/build/pcsc11-vpiv
	build
	[[ -x $vpiv ]] || vpiv=$bin/pcsc11-vpiv
	: >"$out/modules"
	local label so name cols=""
	while IFS='|' read -r label so name; do
		if [[ -n ${BENCH_ONLY:-} && " $BENCH_ONLY " != *" $label "* ]]; then continue; fi
		if [[ ! -f $so ]]; then
			say "$label: $so not found; skipped"
			continue
		fi
		echo "$label|$so|$name" >>"$out/modules"
		cols+="${cols:+,}$label=$name"
	done < <(modules)
	[[ -s $out/modules ]] || die "no module to measure"
	[[ -f $out/results.jsonl ]] && mv "$out/results.jsonl" "$out/results.prev.jsonl"
	: >"$out/results.jsonl"
	: >"$out/p11bench.log"
	local lat
	lat=$(lat_args)
	say "measuring $(cut -d'|' -f1 "$out/modules" | tr '\n' ' ')in private namespaces"
	BENCH_INNER=1 BENCH_VPIV=$vpiv unshare --mount --net --fork -- bash "$0"
	{
		echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs ($(uname -sr)), pcscd $(pkgver pcscd), took $((SECONDS - t0)) s."
		if [[ ${BENCH_QUICK:-0} == 1 ]]; then
			echo "Runs: BENCH_QUICK=1, one run of everything (a smoke test; not for publication)."
		else
			echo "Runs: S1, S2, S6 ${BENCH_RUNS:-5}× (fresh process each); S3, S4 3× (20 signatures, 10 with latency; S4 per thread); S5 3 removal/insertion cycles; S7, S8 ${BENCH_RUNS:-5}× per card and mode, latency off; S9 once (10 records), S10 once (10 polls a second apart), latency off."
		fi
		echo "Card: cmd/pcsc11-vpiv, demo profile (RSA-2048 in 9A/9D, P-256 in 9C/9E, self-signed certificates of about 800 bytes), YubiKey 5.7 ATR, in vpcd's reader \"Yubico YubiKey (pcsc11 virtual) 00 00\" (second card: 00 01)."
		echo "Latency model (\"latency on\"): \`$lat\`."
		while IFS='|' read -r label so name; do echo "$name: \`${so#"$repo"/}\`"; done <"$out/modules"
	} >"$out/meta.txt"
	if [[ ${BENCH_NO_DOC:-0} == 1 ]]; then
		"$bin/chart" -in "$out/results.jsonl" -md "$out/performance.md" -png "$out/performance.png" \
			-modules "$cols" -self pcsc11 -meta "$out/meta.txt" -traces "$out"
		say "results in $out (docs/ untouched)"
	else
		"$bin/chart" -in "$out/results.jsonl" -md "$repo/docs/performance.md" \
			-png "$repo/docs/performance.png" -modules "$cols" -self pcsc11 -meta "$out/meta.txt" -traces "$out"
		say "wrote docs/performance.md and docs/performance.png"
	fi
	local bad
	bad=$(grep -c '"status":"error"' "$out/results.jsonl" || true)
	[[ $bad == 0 ]] || say "$bad failed measurements; see $out/p11bench.log"
	say "done in $((SECONDS - t0)) s"
}

if [[ ${BENCH_INNER:-0} == 1 ]]; then
	vpiv=$BENCH_VPIV
	inner
else
	main "$@"
fi
