# shellcheck shell=bash
# Sourced by integration tests that need the trading path as test_trading.sh builds it: a venue
# (tradsys-exsim) in one network namespace and tradsys-dataplane with handler = trading in
# another, joined by a veth pair (10.205.0.1 venue, 10.205.0.2 dataplane), ITCH over MoldUDP64
# multicast and OUCH over SoupBinTCP, the venue quoting AAPL (instrument 1) and MSFT with
# background flow and recording every order event in WORKDIR/rec/orders.csv.
#   trading_netns_up TAG            namespaces TAGx and TAGd; trading_netns_down TAG removes them
#   trading_exsim_start EXSIM WORK TAG [CROSS_PCT]   sets ex_pid; CROSS_PCT (default 15) is the
#                                   share of the flow that crosses the spread with an IOC
#   trading_dataplane_conf WORK INSTANCE TAG [COLLAR_BPS]   writes WORK/dp.conf: xdp driver, risk
#                                   as in test_trading.sh (collar 500 bps unless given), account 0
#                                   configured, no strategy, journal in WORK/journal, report in
#                                   WORK/report.txt
#   trading_dataplane_start DP WORK TAG INSTANCE   sets dp_pid; waits until its worker runs
#   trading_cleanup TAG INSTANCE WORK [PID...]   for the trap: kills the PIDs, removes the
#                                   namespaces, the instance's shm objects and WORK
#   trading_fail_report WORK FILE...   the tails of WORK's FILEs and exsim's record of session mm
# The caller defines fail(); the functions call it when something does not start.
trading_netns_up() {
	local tag=$1 side addr
	ip netns add "${tag}x"
	ip netns add "${tag}d"
	ip link add "${tag}x" netns "${tag}x" type veth peer name "${tag}d" netns "${tag}d"
	for side in x d; do
		addr=$([ $side = x ] && echo 10.205.0.1 || echo 10.205.0.2)
		ip netns exec "${tag}$side" sh -c "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 &&
			ip addr add $addr/30 dev ${tag}$side && ip link set ${tag}$side up &&
			ip link set lo up && ip route add 224.0.0.0/4 dev ${tag}$side"
	done
	for _ in $(seq 100); do
		[ "$(ip netns exec "${tag}d" cat "/sys/class/net/${tag}d/operstate")" = up ] && break
		sleep 0.1
	done
}

trading_netns_down() {
	ip netns del "${1}x" 2>/dev/null || true
	ip netns del "${1}d" 2>/dev/null || true
}

trading_exsim_start() {
	local exsim=$1 work=$2 tag=$3 cross=${4:-15}
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
rate = 3000
cross_pct = $cross
cancel_pct = 40
EOF
	ip netns exec "${tag}x" "$exsim" --config "$work/exsim.conf" >"$work/ex.out" 2>"$work/ex.err" &
	# shellcheck disable=SC2034 # the caller's
	ex_pid=$!
	for _ in $(seq 100); do [ -f "$work/ready" ] && break; sleep 0.05; done
	[ -f "$work/ready" ] || fail "exsim did not start"
}

trading_dataplane_conf() {
	local work=$1 inst=$2 tag=$3 collar=${4:-500} core
	core=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')
	mkdir -p "$work/journal"
	cat >"$work/dp.conf" <<EOF
[appliance]
instance = $inst
log_level = warn
journal_dir = $work/journal
[driver]
kind = xdp
interface = ${tag}d
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
max_order_qty = 1000
max_order_notional = 500000
collar_bps = $collar
max_long = 5000
max_short = 5000
msg_rate = 2000
msg_burst = 200
[account.0]
max_gross_exposure = 2000000
max_open_orders = 50
order_rate = 1000
order_burst = 100
[worker.0]
core = $core
idle = backoff
tx_flush_us = 20
handler = trading
report_file = $work/report.txt
EOF
}

trading_dataplane_start() {
	local dp=$1 work=$2 tag=$3 inst=$4
	ip netns exec "${tag}d" "$dp" --config "$work/dp.conf" >>"$work/dp.out" 2>>"$work/dp.err" &
	dp_pid=$!
	for _ in $(seq 100); do
		"$dp" --stats "$inst" 2>/dev/null | grep -q "\"pid\":$dp_pid,.*\"state\":\"running\"" &&
			return 0
		kill -0 "$dp_pid" 2>/dev/null || fail "the dataplane exited during start"
		sleep 0.1
	done
	fail "the dataplane did not reach running"
}

trading_cleanup() {
	local tag=$1 inst=$2 work=$3 p
	shift 3
	for p in "$@"; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	trading_netns_down "$tag"
	rm -f "/dev/shm/tradsys-$inst-stats" "/dev/shm/tradsys-$inst-cmd-"*
	rm -rf "$work"
}

trading_fail_report() {
	local work=$1 f
	shift
	for f in "$@"; do
		[ -s "$work/$f" ] && tail -n 15 "$work/$f" | sed "s/^/  $f: /"
	done
	[ -f "$work/rec/orders.csv" ] && awk -F, '$2 == "mm"' "$work/rec/orders.csv" | tail -n 15 |
		sed "s/^/  exsim orders.csv: /"
	return 0
}
