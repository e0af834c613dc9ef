#!/usr/bin/env bash
# The hwtests rig: pcscd + the virtual PIV card (pcsc11-vpiv) in vpcd's reader.
#
#   hwtests/rig.sh up        start pcscd (unless one runs) and the card, wait for it
#   hwtests/rig.sh down      stop what `up` started, and only that (by PID)
#   hwtests/rig.sh status    what runs, the reader, the card's APDU counters
#   hwtests/rig.sh env       print the environment the hwtests need (source it)
#   hwtests/rig.sh run CMD…  up, run CMD with that environment, down; CMD's exit status
#
# Environment (all optional):
#   PCSC11_RIG_DIR        state dir (PIDs, logs, card state, control socket); /tmp/pcsc11-rig
#   PCSC11_VPIV           the card binary; default build/pcsc11-vpiv (built with go if missing)
#   PCSC11_RIG_READERCONF reader config for a pcscd the rig starts itself:
#                           yubico (default) hwtests/pcscd: readers "Yubico YubiKey (pcsc11
#                                    virtual) 00 00/01", found by ykcs11/yubico-piv-tool
#                           system   pcscd's own /etc/reader.conf.d: "Virtual PCD 00 00/01"
#                           DIR      any reader.conf.d directory (pcscd -c DIR)
#   PCSC11_RIG_PORT       vpcd port for the card: 35963 (reader … 00 00) or 35964 (… 00 01)
#   PCSC11_RIG_TIMEOUT    seconds to wait for the card to show up; 20
#   PCSC11_RIG_KEEP_STATE 1 = keep the card's state from the last run (default: fresh card)
#   PCSC11_RIG_PROFILE    --provision profiles for the card; demo (the hwtests assert it).
#   PCSC11_RIG_CARD       --profile of the card: yubikey-5.7 (default), yubikey-5.4, yubikey-5.2,
#                         yubikey-4.3, yubikey-neo, piv (docs/virtual-card.md, Card profiles)
#                         demo+3des gives it a 3DES management key for yubico-piv-tool 2.2
#   PCSC11_VPIV_ARGS      extra flags for pcsc11-vpiv (e.g. "--inject slow --inject-every 5")
#   PCSC11_HWTEST_READER  if set, the exact reader name to wait for
#   PCSC11_RIG_NAMESPACE  1 = `run` works in private mount+network namespaces (root):
#                         its own pcscd and vpcd ports, whatever else runs on the host
#
# A pcscd that already runs (a system service, socket activation) is used as it is and
# never stopped; its reader names then come from its own configuration.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
dir=${PCSC11_RIG_DIR:-/tmp/pcsc11-rig}
vpiv=${PCSC11_VPIV:-$repo/build/pcsc11-vpiv}
readerconf=${PCSC11_RIG_READERCONF:-yubico}
port=${PCSC11_RIG_PORT:-35963}
timeout=${PCSC11_RIG_TIMEOUT:-20}
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
already_up=0

say() { printf 'rig: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# alive PID NAME: the PID runs and is the program we started (not a recycled PID).
alive() {
	local pid=$1 name=$2
	[[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
	{ tr '\0' ' ' </proc/"$pid"/cmdline; } 2>/dev/null | grep -q -- "$name"
}

pidof_file() { [[ -f $dir/$1.pid ]] && cat "$dir/$1.pid" || true; }

# stop PID NAME: SIGTERM, wait up to 5 s, then SIGKILL; only if alive() says it is ours.
stop() {
	local pid=$1 name=$2 i
	alive "$pid" "$name" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		alive "$pid" "$name" || return 0
		sleep 0.1
	done
	say "$name ($pid) ignored SIGTERM; killing it"
	kill -KILL "$pid" 2>/dev/null || true
}

# pcscd_running: a pcscd answers on /run/pcscd/pcscd.comm in this mount namespace (a
# process list would also show pcscds of other namespaces, and zombies). With systemd
# socket activation the probe itself starts pcscd, which is what a client would do.
pcscd_running() {
	[[ -S /run/pcscd/pcscd.comm ]] || return 1
	waitcard -probe 2>/dev/null
}

waitcard() {
	local bin=$dir/waitcard
	if [[ ! -x $bin || $repo/hwtests/internal/pcscwait/wait.go -nt $bin || $repo/hwtests/cmd/waitcard/main.go -nt $bin ]]; then
		(cd "$repo" && "$go" build -o "$bin" ./hwtests/cmd/waitcard) || die "cannot build hwtests/cmd/waitcard"
	fi
	"$bin" "$@"
}

# reader_args: how to recognise the card's reader.
reader_args() {
	if [[ -n ${PCSC11_HWTEST_READER:-} ]]; then
		printf '%s\n' -reader "$PCSC11_HWTEST_READER"
		return
	fi
	local suffix="00 00"
	[[ $port == 35964 ]] && suffix="00 01"
	printf '%s\n' -match "(pcsc11 virtual) $suffix" -match "Virtual PCD $suffix"
}

start_pcscd() {
	if [[ $(cat "$dir/pcscd.mode" 2>/dev/null) == ours ]] && alive "$(pidof_file pcscd)" pcscd; then
		say "pcscd from an earlier 'up' still runs (PID $(pidof_file pcscd)); keeping it"
		return
	fi
	if pcscd_running; then
		say "pcscd already runs; using it (its reader names come from its own configuration)"
		echo external >"$dir/pcscd.mode"
		return
	fi
	[[ $(id -u) == 0 ]] || die "pcscd is not running and starting it needs root (run with sudo)"
	command -v pcscd >/dev/null || die "pcscd is not installed (apt-get install pcscd vsmartcard-vpcd)"
	[[ -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so ]] || die "the vpcd driver is missing (apt-get install vsmartcard-vpcd)"
	local conf=()
	case $readerconf in
	yubico) conf=(-c "$here/pcscd") ;;
	system) conf=() ;;
	*) [[ -d $readerconf ]] || die "PCSC11_RIG_READERCONF=$readerconf: not yubico, system or a directory"
		conf=(-c "$readerconf") ;;
	esac
	mkdir -p /run/pcscd
	setsid pcscd --foreground "${conf[@]}" >"$dir/pcscd.log" 2>&1 </dev/null &
	echo $! >"$dir/pcscd.pid"
	echo ours >"$dir/pcscd.mode"
	say "started pcscd (PID $!, reader config: $readerconf, log $dir/pcscd.log)"
}

start_card() {
	if [[ ! -x $vpiv ]]; then
		say "$vpiv not found; building it"
		vpiv=$dir/pcsc11-vpiv
		(cd "$repo" && "$go" build -o "$vpiv" ./cmd/pcsc11-vpiv) || die "cannot build cmd/pcsc11-vpiv"
	fi
	[[ ${PCSC11_RIG_KEEP_STATE:-0} == 1 ]] || rm -f "$dir/card.state"
	# shellcheck disable=SC2086 # PCSC11_VPIV_ARGS is a list of flags
	setsid "$vpiv" --port "$port" --profile "${PCSC11_RIG_CARD:-yubikey-5.7}" \
		--provision "${PCSC11_RIG_PROFILE:-demo}" --state "$dir/card.state" \
		--control "$dir/control.sock" ${PCSC11_VPIV_ARGS:-} >"$dir/vpiv.log" 2>&1 </dev/null &
	echo $! >"$dir/vpiv.pid"
	echo "$vpiv" >"$dir/vpiv.path"
	say "started pcsc11-vpiv (PID $!, port $port, log $dir/vpiv.log)"
}

cmd_up() {
	mkdir -p "$dir"
	chmod 0700 "$dir"
	if alive "$(pidof_file vpiv)" pcsc11-vpiv; then
		say "already up (pcsc11-vpiv PID $(pidof_file vpiv)); 'down' first to restart"
		already_up=1
		cmd_env
		return
	fi
	rm -f "$dir/reader" "$dir/env"
	start_pcscd
	start_card
	local name args
	mapfile -t args < <(reader_args)
	if ! name=$(waitcard "${args[@]}" -timeout "${timeout}s"); then
		say "the card did not show up within ${timeout}s; logs:"
		tail -n 20 "$dir/pcscd.log" "$dir/vpiv.log" >&2 2>/dev/null || true
		cmd_down
		exit 1
	fi
	alive "$(pidof_file vpiv)" pcsc11-vpiv || die "pcsc11-vpiv exited; see $dir/vpiv.log"
	echo "$name" >"$dir/reader"
	{
		printf 'export PCSC11_HWTEST_READER=%q\n' "$name"
		echo "export PCSC11_HWTEST_DESTRUCTIVE=1"
		echo "export PCSC11_HWTEST_DEMO=1"
		echo "export PCSC11_HWTEST_REQUIRE=1"
		printf 'export PCSC11_VPIV_CONTROL=%q\n' "$dir/control.sock"
		printf 'export PCSC11_VPIV=%q\n' "$(cat "$dir/vpiv.path")"
	} >"$dir/env"
	say "card present in \"$name\""
	cmd_env
}

cmd_down() {
	[[ -d $dir ]] || return 0
	stop "$(pidof_file vpiv)" pcsc11-vpiv
	rm -f "$dir/vpiv.pid" "$dir/reader" "$dir/env"
	if [[ $(cat "$dir/pcscd.mode" 2>/dev/null) == ours ]]; then
		stop "$(pidof_file pcscd)" pcscd
		rm -f "$dir/pcscd.pid"
	fi
	rm -f "$dir/pcscd.mode"
	say "down"
}

cmd_status() {
	local pid
	pid=$(pidof_file pcscd)
	case $(cat "$dir/pcscd.mode" 2>/dev/null) in
	ours) alive "$pid" pcscd && echo "pcscd: running (PID $pid, started by the rig)" || echo "pcscd: started by the rig, but gone" ;;
	external) echo "pcscd: not ours (already running when the rig came up)" ;;
	*) pcscd_running && echo "pcscd: running (not started by the rig)" || echo "pcscd: not running" ;;
	esac
	pid=$(pidof_file vpiv)
	if alive "$pid" pcsc11-vpiv; then
		echo "pcsc11-vpiv: running (PID $pid)"
		[[ -f $dir/reader ]] && echo "reader: $(cat "$dir/reader")"
		"$(cat "$dir/vpiv.path")" --control "$dir/control.sock" --send status || true
	else
		echo "pcsc11-vpiv: not running"
		return 3
	fi
}

cmd_env() {
	[[ -f $dir/env ]] || die "the rig is not up"
	cat "$dir/env"
}

cmd_run() {
	# PCSC11_RIG_NAMESPACE=1: run everything in private mount and network namespaces
	# (own /run/pcscd, own vpcd ports), beside a system pcscd or another rig.
	if [[ ${PCSC11_RIG_NAMESPACE:-0} == 1 && -z ${PCSC11_RIG_IN_NS:-} ]]; then
		[[ $(id -u) == 0 ]] || die "PCSC11_RIG_NAMESPACE=1 needs root"
		command -v unshare >/dev/null || die "PCSC11_RIG_NAMESPACE=1 needs unshare (util-linux)"
		mkdir -p /run/pcscd
		# A state dir of its own unless one was given: the PID files of a rig on the
		# host must not be mistaken for this one's.
		local nsdir=${PCSC11_RIG_DIR:-} rc=0
		[[ -n $nsdir ]] || nsdir=$(mktemp -d /tmp/pcsc11-rig-ns.XXXXXX)
		PCSC11_RIG_IN_NS=1 PCSC11_RIG_DIR=$nsdir unshare --mount --net -- bash -c \
			'mount -t tmpfs tmpfs /run/pcscd && ip link set lo up && exec "$0" run "$@"' "$0" "$@" || rc=$?
		if [[ $rc == 0 && -z ${PCSC11_RIG_DIR:-} ]]; then
			rm -rf "$nsdir"
		elif [[ $rc != 0 ]]; then
			say "logs kept in $nsdir"
		fi
		return $rc
	fi
	cmd_up >/dev/null
	local rc=0 ours=$((1 - already_up))
	(
		# shellcheck disable=SC1091
		. "$dir/env"
		"$@"
	) || rc=$?
	# A rig that was already up belongs to whoever started it: leave it running.
	[[ $ours == 1 ]] && cmd_down
	return $rc
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
run)
	shift
	[[ $# -gt 0 ]] || die "usage: rig.sh run COMMAND [ARGS...]"
	cmd_run "$@"
	;;
*)
	sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
