# shellcheck shell=bash
# Sourced by integration tests that need a live tradsys-dataplane that trades: tradsys-exsim with
# background flow on loopback (ITCH over MoldUDP64 unicast, OUCH over SoupBinTCP) and a dataplane
# on the io_uring driver with handler = trading, whose market maker quotes AAPL on venue "sim"
# for account 0, so sessions, risk rejects, accounts, PnL and positions are all in its stats.
#   start_trading_dataplane DATAPLANE EXSIM INSTANCE WORKDIR
# Sets dpid and xpid (their pids) plus port and mport, two free TCP ports for the caller's
# servers; the caller's cleanup kills both pids. Writes WORKDIR/{exsim,dp}.{conf,out,err}.
# Returns once the session is logged in and a fill made a position (up to 15 s). Exits 77 when
# io_uring is unavailable; calls the caller's fail() otherwise.
# shellcheck disable=SC2034 # dpid, xpid, port and mport are for the caller
start_trading_dataplane() {
	local dp=$1 exsim=$2 inst=$3 work=$4 core feed req ouch pass
	read -r feed req ouch port mport < <(python3 -c '
import socket
u = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for x in u: x.bind(("127.0.0.1", 0))
t = [socket.socket() for _ in range(3)]
for x in t: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in u], *[x.getsockname()[1] for x in t])')
	core=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')
	pass=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
	cat >"$work/exsim.conf" <<CONF
[venue]
name = sim
session = METR000001
ready_file = $work/ready
[itch]
line_a = 127.0.0.1:$feed
interface = 127.0.0.1
request_port = $req
heartbeat_ms = 200
[ouch]
listen = 127.0.0.1:$ouch
[session.mm]
password = $pass
firm = TSYS
[instrument.AAPL]
price = 150.00
tick = 0.01
[instrument.MSFT]
price = 300.00
tick = 0.01
[flow]
mode = synthetic
rate = 2000
cross_pct = 15
cancel_pct = 40
CONF
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
user = mm
password = $pass
[risk]
tick = 0.01
max_order_qty = 1000
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
idle = backoff
tx_flush_us = 50
handler = trading
CONF
	"$exsim" --config "$work/exsim.conf" >"$work/ex.out" 2>"$work/ex.err" &
	xpid=$!
	for _ in $(seq 100); do [ -f "$work/ready" ] && break; sleep 0.05; done
	[ -f "$work/ready" ] || fail "exsim did not start"
	"$dp" --config "$work/dp.conf" >"$work/dp.out" 2>"$work/dp.err" &
	dpid=$!
	for _ in $(seq 150); do
		"$dp" --stats "$inst" 2>/dev/null | python3 -c '
import json, sys
t = json.load(sys.stdin)["workers"][0]["trading"]
sys.exit(0 if t["sessions"] and t["sessions"][0]["state"] == "active" and t["positions"] else 1)' 2>/dev/null &&
			return 0
		if ! kill -0 "$dpid" 2>/dev/null; then
			grep -q io_uring "$work/dp.err" && { echo "SKIP: io_uring unavailable"; exit 77; }
			fail "dataplane exited during start"
		fi
		sleep 0.1
	done
	fail "the trading dataplane did not log in and fill within 15 s"
}
