#!/usr/bin/env bash
# Description: the strategy plugin example of deploy/baremetal (examples/plugin, STRATEGY.md)
# builds with its Makefile against the source tree, and tradsys-dataplane loads it through
# `plugin = path.so`: `--check` loads it and runs its init (a bad parameter is refused naming the
# key), and a live run on loopback (io_uring driver, handler = trading) against tradsys-exsim
# with background flow hands it market data: at the stop its fini reports the events it saw.
# Usage: test_deploy_plugin.sh TRADSYS_DATAPLANE TRADSYS_EXSIM SOURCE_ROOT   (0 pass, 1 fail, 77 skip)
set -euo pipefail
dp=$1 exsim=$2 root=$3
command -v make >/dev/null || { echo "SKIP: make not installed"; exit 77; }
work=$(mktemp -d /tmp/tradsys-deploy-plugin-XXXXXX)
inst="hdp$$"
dpid='' xpid=''
cleanup() {
	for p in $dpid $xpid; do
		if kill -0 "$p" 2>/dev/null; then
			kill -KILL "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	done
	rm -f "/dev/shm/tradsys-$inst-stats" "/dev/shm/tradsys-$inst-cmd-"*
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	for f in make.log check.err dp.err ex.err; do
		[ -s "$work/$f" ] && tail -n 15 "$work/$f" | sed "s/^/  $f: /"
	done
	exit 1
}

cp -r "$root/deploy/baremetal/examples/plugin" "$work/plugin"
make -C "$work/plugin" TRADSYS_SRC="$root" >"$work/make.log" 2>&1 || fail "make"
so=$work/plugin/spread_taker.so
[ -f "$so" ] || fail "no $so"

read -r feed req ouch < <(python3 -c '
import socket
u = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for x in u: x.bind(("127.0.0.1", 0))
t = socket.socket(); t.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in u], t.getsockname()[1])')
core=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')
pass=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')

cat >"$work/exsim.conf" <<CONF
[venue]
name = sim
session = PLUG000001
ready_file = $work/ready
[itch]
line_a = 127.0.0.1:$feed
interface = 127.0.0.1
request_port = $req
heartbeat_ms = 200
[ouch]
listen = 127.0.0.1:$ouch
[session.plug]
password = $pass
firm = TSYS
[instrument.AAPL]
price = 190.00
tick = 0.01
[instrument.MSFT]
price = 410.00
tick = 0.01
[flow]
mode = synthetic
rate = 2000
cross_pct = 10
cancel_pct = 40
CONF
write_dp() { # $1: the plugin's extra parameter line
	cat >"$work/dp.conf" <<CONF
[appliance]
instance = $inst
log_level = warn
[driver]
kind = uring
interface = lo
[feed.sim]
port = $feed
request_server = 127.0.0.1:$req
max_instruments = 64
max_orders = 65536
max_levels = 256
[venue.sim]
feed = sim
address = 127.0.0.1:$ouch
user = plug
password = $pass
[risk]
tick = 0.01
max_order_qty = 1000
max_order_notional = 500000
collar_bps = 500
max_long = 5000
max_short = 5000
[account.0]
max_gross_exposure = 3000000
max_open_orders = 20
order_rate = 100
[strategy.ex]
plugin = $so
account = 0
instrument = 1
size = 100
max_spread_ticks = 3
max_orders = 5
$1
[worker.0]
core = $core
idle = backoff
tx_flush_us = 50
handler = trading
CONF
}

write_dp "cooldown_ms = 200"
"$dp" --check "$work/dp.conf" >"$work/check.out" 2>"$work/check.err" || fail "--check with the plugin"
grep -q ': ok (instance' "$work/check.out" || fail "--check said: $(cat "$work/check.out")"
write_dp "cooldown_ms = soon"
if "$dp" --check "$work/dp.conf" >/dev/null 2>"$work/bad.err"; then fail "--check accepted cooldown_ms = soon"; fi
grep -q "\[strategy.ex\] cooldown_ms: 'soon' is not an integer" "$work/bad.err" ||
	fail "bad parameter message: $(cat "$work/bad.err")"
# A venue name the stats region, the command ring and the API could not hold whole is refused.
long=sim_venue_name_of_24_chr
sed "s/^\[venue.sim\]/[venue.$long]/; s/^venue = sim$/venue = $long/" "$work/dp.conf" >"$work/long.conf"
if "$dp" --check "$work/long.conf" >/dev/null 2>"$work/bad.err"; then fail "--check accepted venue $long"; fi
grep -q "\[venue.$long\]: a venue name is 1 to 23 characters" "$work/bad.err" ||
	fail "long venue name message: $(cat "$work/bad.err")"

write_dp "cooldown_ms = 200"
"$exsim" --config "$work/exsim.conf" >"$work/ex.out" 2>"$work/ex.err" &
xpid=$!
for _ in $(seq 100); do [ -f "$work/ready" ] && break; sleep 0.05; done
[ -f "$work/ready" ] || fail "exsim did not start"
"$dp" --config "$work/dp.conf" >"$work/dp.out" 2>"$work/dp.err" &
dpid=$!
sleep 3
kill -0 "$dpid" 2>/dev/null || {
	grep -q io_uring "$work/dp.err" && { echo "SKIP: io_uring unavailable"; exit 77; }
	fail "dataplane exited"
}
kill -TERM "$dpid"
wait "$dpid" || fail "dataplane exit status"
dpid=
line=$(grep '^spread_taker: ' "$work/dp.err" | tail -n 1)
events=$(echo "$line" | awk '{print $2}')
if [ -z "$events" ] || [ "$events" -le 0 ]; then fail "the plugin saw no market data: '$line'"; fi
echo "plugin: $line"
grep -q 'does not export strategy_send' "$work/dp.err" &&
	echo "note: this tradsys-dataplane does not export its symbols; the plugin only watched"
echo PASS
