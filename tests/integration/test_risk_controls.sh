#!/usr/bin/env bash
# Description: every pre-trade control that can be reached from outside a live appliance, driven
# to its limit end to end. tradsys-exsim and tradsys-dataplane (handler trading, no strategy, the
# XDP driver) run in network namespaces as in test_trading.sh (lib_trading_netns.sh), with a 50 %
# price collar, account 0 refusing duplicates within 2 s and self-crosses, and account 1 with a
# cash check, no short selling and one new order a second. risk_controls.py sends manual orders
# through the worker's command ring and changes limits and kill switches there at run time: each
# order is seen to go out, or to be refused for exactly the control it was aimed at (max_qty,
# max_notional at and above, price_collar, max_long at and above, max_short, gross_exposure,
# net_exposure, credit, max_open_orders, duplicate, self_cross, order_rate, cash, no_short,
# no_limits, bad_order, halted while exsim halts AAPL and trading again after it resumes,
# kill_instrument, kill_account, kill_firm). Then the venue's own record holds exactly the orders
# that went out (side, price, quantity) and nothing risk refused, and the kill switches left
# every one of them canceled at the venue. The controls that need a market move, a feed gap or a
# configuration change (stale book, restricted, reduce-only, leverage, margin, message rate, no
# reference) are driven in tests/unit/risk at, just below and just above their limits.
# Usage: test_risk_controls.sh TRADSYS_DATAPLANE TRADSYS_EXSIM   (0 pass, 1 fail, 77 skip)
set -euo pipefail
dp=$1 exsim=$2
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)
tag="trc$$"
inst="riskc$$"
work=$(mktemp -d /tmp/tradsys-risk-controls-XXXXXX)
dp_pid='' ex_pid=''
# shellcheck disable=SC2317,SC2086 # called by the trap; the pids split on purpose
cleanup() { trading_cleanup "$tag" "$inst" "$work" $dp_pid $ex_pid; }
fail() {
	echo "FAIL: $*"
	trading_fail_report "$work" dp.err dp.out ex.err
	exit 1
}
# shellcheck source=lib_trading_netns.sh
. "$here/lib_trading_netns.sh"
trap cleanup EXIT

trading_netns_up "$tag"
# No flow that crosses the spread: an IOC sweeping the book would reach the resting orders.
trading_exsim_start "$exsim" "$work" "$tag" 0
trading_dataplane_conf "$work" "$inst" "$tag" 5000
python3 - "$work/dp.conf" <<'PYCONF'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("[account.0]\n", "[account.0]\ndup_window_ms = 2000\nself_cross_check = true\n", 1)
s = s.replace("[worker.0]\n", """[account.1]
max_gross_exposure = 2000000
check_cash = true
start_cash = 10000.00
allow_short = false
order_rate = 1
order_burst = 1
[worker.0]
""", 1)
open(p, "w").write(s)
PYCONF
trading_dataplane_start "$dp" "$work" "$tag" "$inst"
# The session logs in and the book has AAPL's market (the collar needs a reference price).
for _ in $(seq 100); do
	"$dp" --stats "$inst" | python3 -c '
import json, sys
t = json.load(sys.stdin)["workers"][0]["trading"]
sys.exit(0 if t["sessions"][0]["state"] == "active" and t["md_events"] > 100 else 1)' && break
	sleep 0.1
done

python3 "$here/risk_controls.py" "$dp" "$inst" "$work/exsim.sock" "$work/sent.txt" ||
	fail "an order met another fate than the control it was aimed at"

kill -TERM "$dp_pid"
wait "$dp_pid" || fail "the dataplane exited with status $?"
dp_pid=
kill -TERM "$ex_pid"
wait "$ex_pid" || true
ex_pid=

# The venue received exactly the orders that went out, and every one ended canceled.
awk -F, 'NR > 1 && $2 == "mm" && $3 == "ENTER" { print $6, $7, $8 }' "$work/rec/orders.csv" |
	sort >"$work/entered.txt"
sort "$work/sent.txt" >"$work/sent.sorted"
diff "$work/sent.sorted" "$work/entered.txt" >"$work/diff.txt" ||
	{ sed 's/^/  /' "$work/diff.txt"; fail "the venue's ENTER records differ from the orders that went out"; }
n=$(wc -l <"$work/entered.txt")
canceled=$(awk -F, 'NR > 1 && $2 == "mm" && $3 == "CANCELED"' "$work/rec/orders.csv" | wc -l)
filled=$(awk -F, 'NR > 1 && $2 == "mm" && $3 == "EXECUTED"' "$work/rec/orders.csv" | wc -l)
[ "$n" -ge 9 ] || fail "only $n orders reached the venue (the script sends 9)"
[ "$filled" = 0 ] || fail "$filled executions: the orders were meant to rest far from the market"
[ "$canceled" = "$n" ] || fail "$canceled of the $n orders canceled at the venue"
echo "ok: $n orders at the venue, each the one that went out, all canceled by the kill switches"
