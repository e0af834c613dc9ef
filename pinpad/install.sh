#!/bin/sh
# Build and register pcsc11's test PIN-pad reader (a pcscd IFD handler, see
# docs/pinpad.md).
#
#   pinpad/install.sh                       build build/libifdpcsc11pinpad.so
#   pinpad/install.sh --test                ... and run the driver's selftest (ASan/UBSan)
#   pinpad/install.sh --conf-dir DIR        ... and write DIR/pcsc11-pinpad (reader.conf
#                                           format) for `pcscd -c DIR`, or
#                                           /etc/reader.conf.d for the system pcscd
#   pinpad/install.sh --conf-dir /etc/reader.conf.d --restart
#                                           ... and restart the system pcscd (systemd)
# Options: --addr A (bind address, 127.0.0.1), --port N (35965), --name "pcsc11 PIN pad",
#          --cc CC (compiler, cc).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$root/build"
addr=127.0.0.1
port=35965
name="pcsc11 PIN pad"
confdir=
restart=0
selftest=0
cc=${CC:-cc}

while [ $# -gt 0 ]; do
	case "$1" in
	--conf-dir) confdir=$2; shift 2 ;;
	--addr) addr=$2; shift 2 ;;
	--port) port=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--cc) cc=$2; shift 2 ;;
	--restart) restart=1; shift ;;
	--test) selftest=1; shift ;;
	-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "install.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

case "$port" in
''|*[!0-9]*) echo "install.sh: --port must be a number" >&2; exit 2 ;;
esac
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
	echo "install.sh: --port out of range" >&2; exit 2
fi
case "$name" in
*'"'*) echo "install.sh: --name must not contain quotes" >&2; exit 2 ;;
esac

pcflags=$(pkg-config --cflags libpcsclite)
src="$here/ifd/ifd.c $here/ifd/wire.c $here/ifd/part10.c"
mkdir -p "$out"
# shellcheck disable=SC2086
$cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden \
	$pcflags -o "$out/libifdpcsc11pinpad.so.tmp" $src -lpthread
mv "$out/libifdpcsc11pinpad.so.tmp" "$out/libifdpcsc11pinpad.so"
echo "built $out/libifdpcsc11pinpad.so"

if [ "$selftest" = 1 ]; then
	# shellcheck disable=SC2086
	$cc -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -fsanitize=address,undefined \
		-fno-sanitize-recover=all $pcflags -o "$out/pinpad-selftest" "$here/ifd/selftest.c" $src -lpthread
	# The driver logs connections on stderr; only the verdict matters here.
	"$out/pinpad-selftest" 2>"$out/pinpad-selftest.log" || { cat "$out/pinpad-selftest.log" >&2; exit 1; }
fi

if [ -n "$confdir" ]; then
	mkdir -p "$confdir"
	conf="$confdir/pcsc11-pinpad"
	cat >"$conf.tmp" <<CONF
# pcsc11 test PIN-pad reader (written by pinpad/install.sh; see docs/pinpad.md).
# The card side (pcsc11-vpiv --pinpad-port $port) connects to $addr:$port.
FRIENDLYNAME "$name"
DEVICENAME   $addr:$port
LIBPATH      $out/libifdpcsc11pinpad.so
CHANNELID    $port
CONF
	mv "$conf.tmp" "$conf"
	echo "wrote $conf"
fi

if [ "$restart" = 1 ]; then
	if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
		systemctl restart pcscd.service
		echo "restarted pcscd.service"
	else
		echo "install.sh: no systemd here; restart pcscd yourself (pcscd reads reader.conf only at start)" >&2
		exit 1
	fi
fi
