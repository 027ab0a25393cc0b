#!/usr/bin/env bash
# Description: the trading path end to end. tradsys-exsim runs in one network namespace with
# background flow on two symbols, publishing ITCH over MoldUDP64 multicast across a veth pair and
# taking OUCH over SoupBinTCP; tradsys-dataplane runs in the other with handler = trading: the
# market maker quotes AAPL through risk and the OMS over an io_uring SoupBinTCP session, with the
# feed taken through DRIVER (xdp by default; dpdk uses net_af_packet — net_af_xdp would take the
# order-entry TCP session off the kernel too — uring the kernel socket). After
# a few seconds both stop cleanly, and the appliance's record (fills with token, quantity, price
# and match number, its position, its open orders) must equal the venue's own (orders.csv):
# nothing lost, nothing extra. The summary must show orders, fills and tick-to-trade figures.
# Namespaces, veth and processes carry this run's pid and are removed on any exit.
# Every order event is journaled ([appliance] journal_dir): the journal's fills must equal the
# venue's too. With MODE risk, the order size is above [risk] max_order_qty: every order must be
# refused by risk with that reason, and the venue must have received none. With MODE kill, the
# firm kill switch goes on half way through (tradsys-dataplane --command, through the worker's
# command ring): its open orders are canceled at the venue, no order is sent after it, the
# strategy's attempts are refused as kill_firm (also by control in --stats, with the switch), and
# the command's ack is journaled. With MODE limit,
# max_order_qty drops to 50 half way through (a live limit change through the command ring): no
# order is sent after it and the strategy's attempts are refused as max_qty. With MODE reconnect,
# the venue drops the order-entry session twice mid-trading (exsim's control socket): the session
# reconnects by itself, replays what it missed (the venue's cancel-on-disconnect included), and
# fills, position and open orders still equal the venue's. With MODE venue, an operator
# disconnects the venue through the command ring (--command ... venue disconnect sim): the session
# logs out and stays down (closed and admin_down in --stats, not connected at exsim, no order
# entered at the venue while it is down), then connect brings it back: it logs in again, trading
# resumes, and fills, position and open orders still equal the venue's (nothing lost).
# Usage: test_trading.sh TRADSYS_DATAPLANE TRADSYS_EXSIM [DRIVER] [SECONDS] [MODE]
#        (MODE trade (default), risk, kill, limit, reconnect or venue; exit 0 pass, 1 fail,
#        77 skip)
# Environment, for benchmarks (tradsys-bench t2t): TRADSYS_TRADING_PIN=1 runs the worker busy-
# spinning on the highest allowed CPU and exsim on the others, as on a box with an isolated
# worker core; by default the worker backs off when idle and shares the CPUs, which is what a
# test on a busy machine wants.
# TRADSYS_TRADING_FEED_RATE sets exsim's background flow in messages/s (default 3000).
set -euo pipefail
dp=$1
exsim=$2
driver=${3:-xdp}
secs=${4:-4}
mode=${5:-trade}
max_qty=1000
[ "$mode" = risk ] && max_qty=50
tag="tst$$"
nsx="${tag}x" # the venue's namespace and veth end
nsd="${tag}d" # the dataplane's
inst="trd$$"
work=$(mktemp -d /tmp/tradsys-trading-test-XXXXXX)
dp_pid=
ex_pid=
cleanup() {
	for p in $dp_pid $ex_pid; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	ip netns del "$nsx" 2>/dev/null || true
	ip netns del "$nsd" 2>/dev/null || true
	rm -f "/dev/shm/tradsys-$inst-stats"
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	for f in dp.err dp.out ex.err; do
		[ -s "$work/$f" ] && sed "s/^/  $f: /" "$work/$f" | tail -30
	done
	exit 1
}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }

ip netns add "$nsx"
ip netns add "$nsd"
ip link add "${tag}x" netns "$nsx" type veth peer name "${tag}d" netns "$nsd"
for side in x d; do
	addr=$([ $side = x ] && echo 10.205.0.1 || echo 10.205.0.2)
	ip netns exec "${tag}$side" sh -c "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 &&
		ip addr add $addr/30 dev ${tag}$side && ip link set ${tag}$side up &&
		ip link set lo up && ip route add 224.0.0.0/4 dev ${tag}$side"
done
for _ in $(seq 100); do
	[ "$(ip netns exec "$nsd" cat /sys/class/net/${tag}d/operstate)" = up ] && break
	sleep 0.1
done
printf 'leak:xsk_umem__create\n' >"$work/lsan.supp"
export LSAN_OPTIONS="suppressions=$work/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

cat >"$work/exsim.conf" <<EOF
[venue]
name = sim
session = TRADE00001
records = $work/rec
ready_file = $work/ready
control = $work/exsim.sock
[itch]
line_a = 239.205.0.1:33001
interface = 10.205.0.1
request_port = 33003
heartbeat_ms = 100
[ouch]
listen = 10.205.0.1:33002
[session.mm]
password = mm-secret1
firm = TSYS
cancel_on_disconnect = true
[instrument.AAPL]
price = 150.00
tick = 0.01
[instrument.MSFT]
price = 300.00
tick = 0.01
[flow]
mode = synthetic
rate = ${TRADSYS_TRADING_FEED_RATE:-3000}
cross_pct = 15
cancel_pct = 40
EOF
core=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')
idle=backoff
pin=()
if [ "${TRADSYS_TRADING_PIN:-0}" = 1 ]; then
	read -r core others < <(python3 -c '
import os
c = sorted(os.sched_getaffinity(0))
print(c[-1], ",".join(map(str, c[:-1] or c)))')
	idle=spin
	pin=(taskset -c "$others")
fi
ip netns exec "$nsx" "${pin[@]}" "$exsim" --config "$work/exsim.conf" >"$work/ex.out" 2>"$work/ex.err" &
ex_pid=$!
for _ in $(seq 100); do [ -f "$work/ready" ] && break; sleep 0.05; done
[ -f "$work/ready" ] || fail "exsim did not start"

case "$driver" in
xdp) drv="kind = xdp
interface = ${tag}d" ;;
uring) drv="kind = uring
interface = ${tag}d" ;;
dpdk) drv="kind = dpdk
interface = ${tag}d
dpdk_args = --no-pci --no-huge -m 256 --log-level=lib.eal:error --vdev=net_af_packet0,iface=${tag}d" ;;
*) fail "unknown driver $driver" ;;
esac
cat >"$work/dp.conf" <<EOF
[appliance]
instance = $inst
log_level = warn
journal_dir = $work/journal
[driver]
$drv
[feed.sim]
group = 239.205.0.1
port = 33001
request_server = 10.205.0.1:33003
max_instruments = 64
max_orders = 65536
max_levels = 1024
[venue.sim]
feed = sim
address = 10.205.0.1:33002
user = mm
password = mm-secret1
[risk]
tick = 0.01
max_order_qty = $max_qty
max_order_notional = 500000
collar_bps = 500
max_long = 5000
max_short = 5000
msg_rate = 2000
msg_burst = 200
[account.0]
max_gross_exposure = 2000000
max_open_orders = 50
order_rate = 1000
order_burst = 100
[strategy.mm]
type = market_maker
account = 0
symbol = AAPL
size = 100
spread_ticks = 2
skew_ticks = 1
max_position = 2000
[worker.0]
core = $core
idle = $idle
tx_flush_us = 20
handler = trading
report_file = $work/report.txt
EOF
mkdir -p "$work/journal"
ip netns exec "$nsd" "$dp" --config "$work/dp.conf" >"$work/dp.out" 2>"$work/dp.err" &
dp_pid=$!
if [ "$mode" = kill ] || [ "$mode" = limit ]; then
	sleep $((secs / 2))
	if [ "$mode" = kill ]; then
		"$dp" --command "$inst" 0 kill on >/dev/null || fail "--command kill on failed"
	else
		"$dp" --command "$inst" 0 limit firm 0 max_order_qty 50 >/dev/null ||
			fail "--command limit failed"
	fi
	# Orders sent once the command is in force: read after the first refusal for its reason
	# (published with the counters), not after a fixed sleep that a loaded machine outlasts.
	sent_at_kill=$(python3 -c '
import json, subprocess, sys, time
dp, inst, why = sys.argv[1:]
for _ in range(200):
    out = subprocess.run([dp, "--stats", inst], capture_output=True, check=True).stdout
    t = json.loads(out)["workers"][0]["trading"]
    if t["risk_rejects_by"].get(why, 0) > 0:
        print(t["orders_sent"])
        break
    time.sleep(0.05)' "$dp" "$inst" "$([ "$mode" = kill ] && echo kill_firm || echo max_qty)")
	[ -n "$sent_at_kill" ] || fail "no order refused for the $mode command within 10 s"
	sleep $((secs - secs / 2))
	# The stats region shows the switch (ABI 3) and the refusals by control.
	"$dp" --stats "$inst" | python3 -c '
import json, sys
t = json.load(sys.stdin)["workers"][0]["trading"]
k, why = t["kill_switches"], sys.argv[1]
assert k["firm"] is (why == "kill_firm") and k["accounts"] == 0 and k["instruments"] == 0, k
assert t["risk_rejects_by"][why] > 0, t["risk_rejects_by"]
assert t["accounts"] and t["accounts"][0]["id"] == 0, t["accounts"]' "$([ "$mode" = kill ] && echo kill_firm || echo max_qty)" ||
		fail "--stats does not show the $mode command's effect"
elif [ "$mode" = venue ]; then
	# session STATE [ADMIN_DOWN]: waits up to 5 s for venue sim's row in --stats to show it.
	session() {
		for _ in $(seq 50); do
			"$dp" --stats "$inst" | python3 -c '
import json, sys
s = json.load(sys.stdin)["workers"][0]["trading"]["sessions"][0]
want = sys.argv[1:]
ok = s["name"] == "sim" and s["state"] == want[0] and str(s["admin_down"]).lower() == want[1]
sys.exit(0 if ok else 1)' "$@" && return 0
			sleep 0.1
		done
		return 1
	}
	exsim_ctl() {
		python3 - "$work/exsim.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
print(s.recv(200).decode().strip())
PY
	}
	session active false || fail "the session did not log in at start"
	sleep $((secs / 3))
	"$dp" --command "$inst" 0 venue disconnect sim >/dev/null || fail "--command venue disconnect failed"
	session closed true || fail "--stats does not show the session closed by the operator"
	case $(exsim_ctl "disconnect mm") in
	"error mm is not connected") ;;
	*) fail "exsim still has the session connected after the disconnect command" ;;
	esac
	sleep 1
	session closed true || fail "the session did not stay down"
	"$dp" --command "$inst" 0 venue connect sim >/dev/null || fail "--command venue connect failed"
	session active false || fail "the session did not log in again after connect"
	sleep $((secs - secs / 3))
	# Two logins and no drop.
	read -r logins drops < <("$dp" --stats "$inst" | python3 -c 'import json,sys; s = json.load(sys.stdin)["workers"][0]["trading"]["sessions"][0]; print(s["logins"], s["disconnects"])')
	[ "$logins $drops" = "2 0" ] || fail "logins $logins, disconnects $drops after connect: expected 2, 0"
elif [ "$mode" = reconnect ]; then
	for _ in 1 2; do
		sleep $((secs / 3))
		python3 - "$work/exsim.sock" <<'PY' || fail "exsim disconnect command failed"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"disconnect mm\n")
r = s.recv(200).decode()
sys.exit(0 if r.startswith("ok") else 1)
PY
	done
	sleep $((secs - 2 * (secs / 3)))
else
	sleep "$secs"
fi
kill -0 "$dp_pid" 2>/dev/null || { wait "$dp_pid" || true; dp_pid=; fail "the dataplane exited early"; }
kill -TERM "$dp_pid"
rc=0
wait "$dp_pid" || rc=$?
dp_pid=
[ "$rc" = 0 ] || fail "the dataplane exited $rc after SIGTERM"
sleep 0.3
kill -TERM "$ex_pid"
rc=0
wait "$ex_pid" || rc=$?
ex_pid=
[ "$rc" = 0 ] || fail "exsim exited $rc"

grep -E '^trading: ' "$work/dp.out" | sed 's/^/  /'
if [ "$mode" = risk ]; then
	grep -qE '^trading: risk_reject max_qty [1-9]' "$work/dp.out" ||
		fail "no order was refused for max_qty"
	grep -qE '^trading: .* orders_sent 0 ' "$work/dp.out" || fail "an order got past risk"
	n=$(awk -F, 'NR > 1 && $2 == "mm" && $3 == "ENTER"' "$work/rec/orders.csv" | wc -l)
	[ "$n" = 0 ] || fail "the venue received $n orders risk should have stopped"
	echo "ok: $driver: every order refused by risk (max_qty), none reached the venue"
	exit 0
fi
sent=$(sed -n 's/^trading: .* orders_sent \([0-9]*\) .*/\1/p' "$work/dp.out")
if [ "$mode" = reconnect ]; then
	grep -qE '^trading: venue sim state [a-z_]+ logins [3-9] disconnects [2-9]' "$work/dp.out" ||
		fail "the session did not drop and log in again twice"
fi
if [ "$mode" = venue ]; then
	grep -qE '^trading: journal_records [1-9][0-9]* journal_failed 0 commands 2 command_errors 0' \
		"$work/dp.out" || fail "the venue commands were not acknowledged in the journal"
	# At the venue: a logout, no order entered while down, orders entered after the new login.
	awk -F, 'NR > 1 && $2 == "mm" {
		if ($3 == "DISCONNECT" && $11 == "logout") { down = 1; logouts++ }
		else if ($3 == "LOGIN") { if (down) relogins++; down = 0 }
		else if ($3 == "ENTER") { if (down) while_down++; else if (relogins) after++ }
	} END {
		printf "logouts %d relogins %d entered_while_down %d entered_after %d\n",
			logouts, relogins, while_down, after
		exit !(logouts >= 1 && relogins >= 1 && while_down == 0 && after > 0)
	}' "$work/rec/orders.csv" || fail "the venue's record does not show logout, silence, login, trading"
fi
if [ "$mode" = trade ]; then
	# The stop logs the one session out: no drop and no second login on the way (the worker
	# thread's io_uring requests end with it, so the stop runs on that thread), and the venue
	# saw one login and one logout.
	grep -qE '^trading: venue sim state closed logins 1 disconnects 0 ' "$work/dp.out" ||
		fail "the session did not end with one login, no drop, closed"
	# The market maker sends no quote that crosses its own other quote (a replace's old price
	# rests until the venue answers), and no order is tried before the session logged in (it
	# would spend the order rate's tokens: with 100 of them and 1000/s the maker never runs
	# out). Its requotes may still meet the message throttle in a burst.
	if grep -E '^trading: risk_reject (self_cross|order_rate) ' "$work/dp.out"; then
		fail "risk refused the market maker's orders as self-crosses or over the order rate"
	fi
	awk -F, 'NR > 1 && $2 == "mm" && $3 == "LOGIN" { l++ }
		NR > 1 && $2 == "mm" && $3 == "DISCONNECT" { d++; why = $11 }
		END { exit !(l == 1 && d == 1 && why == "logout") }' "$work/rec/orders.csv" ||
		fail "the venue did not see exactly one login and one logout"
fi
if [ "$mode" = kill ] || [ "$mode" = limit ]; then
	[ "$sent" = "$sent_at_kill" ] || fail "orders sent after the $mode command ($sent_at_kill then $sent)"
	why=$([ "$mode" = kill ] && echo kill_firm || echo max_qty)
	grep -qE "^trading: risk_reject $why [1-9]" "$work/dp.out" ||
		fail "no order refused as $why after the command"
	grep -qE '^trading: journal_records [1-9][0-9]* journal_failed 0 commands 1 command_errors 0' \
		"$work/dp.out" || fail "the kill command was not acknowledged in the journal"
fi
[ "${sent:-0}" -gt 0 ] || fail "the market maker sent no orders"

# Fills: the appliance's report against the venue's EXECUTED rows for the session.
awk '$1 == "fill" { print $3, $5, $6, $7 }' "$work/report.txt" | sort >"$work/ap_fills"
awk -F, 'NR > 1 && $2 == "mm" && $3 == "EXECUTED" { print $4, $8, $7, $10 }' \
	"$work/rec/orders.csv" | sort >"$work/ex_fills"
nf=$(wc -l <"$work/ex_fills")
[ "$nf" -gt 0 ] || fail "no fills in $secs s (the venue recorded none)"
diff -q "$work/ap_fills" "$work/ex_fills" >/dev/null ||
	{ diff "$work/ap_fills" "$work/ex_fills" | head; fail "fills differ from the venue's"; }

# The journal: its fills (count and quantity) equal the venue's.
jg="${TRADSYS_BUILD_ROOT:-}/tests/unit/shm/journal_gen"
if [ -x "$jg" ]; then
	read -r jn jq < <("$jg" fills "$work/journal" "$inst" 1 | awk '{ n++; q += $4 } END { print n + 0, q + 0 }')
	read -r en eq < <(awk '{ n++; q += $2 } END { print n + 0, q + 0 }' "$work/ex_fills")
	[ "$jn $jq" = "$en $eq" ] || fail "journal fills $jn ($jq shares), venue $en ($eq shares)"
fi

# Position: signed sum of the venue's executions = the appliance's position line.
want=$(awk -F, 'NR > 1 && $2 == "mm" && $3 == "EXECUTED" { q += ($6 == "B" ? $8 : -$8) } END { print q + 0 }' \
	"$work/rec/orders.csv")
got=$(awk '$1 == "position" && $4 == "AAPL" { print $5 }' "$work/report.txt")
[ "${got:-0}" = "$want" ] || fail "position $got, venue says $want"

# Open orders: per token the venue's last known leaves (a replace closes its previous token).
awk -F, 'NR > 1 && $2 == "mm" {
	if ($3 == "REPLACED") { split($11, r, ":"); open[r[2]] = 0 }
	if ($3 == "ACCEPTED" || $3 == "EXECUTED" || $3 == "CANCELED" || $3 == "REPLACED" ||
	    $3 == "REJECTED") open[$4] = ($3 == "REJECTED" ? 0 : $9)
} END { for (t in open) if (open[t] > 0) print t, open[t] }' "$work/rec/orders.csv" |
	sort >"$work/ex_open"
awk '$1 == "open" { print $3, $5 }' "$work/report.txt" | sort >"$work/ap_open"
diff -q "$work/ap_open" "$work/ex_open" >/dev/null ||
	{ diff "$work/ap_open" "$work/ex_open" | head; fail "open orders differ from the venue's"; }
grep -q "tick_to_trade_ns n [1-9]" "$work/dp.out" || fail "no tick-to-trade figures"
echo "ok: $driver: $sent orders sent, $nf fills, position ${got:-0}, $(wc -l <"$work/ap_open") open, equal at the venue"
