#!/usr/bin/env bash
# Description: risk changes made through the admin API reach a REAL dataplane. tradsys-exsim and
# tradsys-dataplane (handler trading, no strategy) run in network namespaces as in
# test_trading.sh (lib_trading_netns.sh); `serve` and the persister run against a private
# PostgreSQL. Through the API, as the admin create-admin made:
#  1. a manual buy of 77 AAPL resting below the market is accepted: exsim records it (ENTER) and
#     the API lists it open;
#  2. PUT max_order_qty 50 (firm): the same order is refused by the dataplane's risk check with
#     reason max_qty (its command result and its risk event, control 9, persisted from the
#     journal) and exsim receives no second order of 77;
#  3. kill switch on (firm, cancel open): the resting order is canceled at exsim and the API
#     lists it canceled; a small order is refused as kill_firm and never reaches exsim;
#  4. kill switch off: a small order reaches exsim again;
#  5. the dataplane restarts: serve pushes the persisted limit to the new incarnation (its log
#     says so) and the order of 77 is refused as max_qty again, while a small one still trades.
# Usage: pg-test test_api_live.sh TRADSYS_CONTROLPLANE TRADSYS_DATAPLANE TRADSYS_EXSIM
#        (0 pass, 1 fail, 77 skip)
set -euo pipefail
cp=$1 dp=$2 exsim=$3
if [ -z "${TRADSYS_TEST_DATABASE:-}" ]; then
	echo "SKIP: run under tests/scripts/pg-test"
	exit 77
fi
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
db=$TRADSYS_TEST_DATABASE
tag="tal$$"
inst="live$$"
work=$(mktemp -d /tmp/tradsys-api-live-XXXXXX)
dp_pid='' ex_pid='' srv='' ps_pid=''
# shellcheck disable=SC2317,SC2086 # called by the trap; the pids split on purpose
cleanup() { trading_cleanup "$tag" "$inst" "$work" $srv $ps_pid $dp_pid $ex_pid; }
fail() {
	echo "FAIL: $*"
	trading_fail_report "$work" srv.err ps.err dp.err dp.out ex.err
	exit 1
}
# shellcheck source=lib_trading_netns.sh
. "$(dirname "$0")/lib_trading_netns.sh"
trap cleanup EXIT
sql() { psql -X -Atq -v ON_ERROR_STOP=1 -c "$1"; }
checks=0
ok() { checks=$((checks + 1)); }
# until SECONDS CMD...: runs CMD every 0.1 s until it succeeds; false after SECONDS.
until_ok() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# ---- the venue, the dataplane, the control plane ----
trading_netns_up "$tag"
printf 'leak:xsk_umem__create\n' >"$work/lsan.supp"
export LSAN_OPTIONS="suppressions=$work/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
# No IOC crossing in the flow: an IOC sell takes the best bid whatever its price, and in a thin
# moment that is the test's resting buy. Resting flow orders stay near the mid.
trading_exsim_start "$exsim" "$work" "$tag" 0
# A wide collar lets the test's buy rest far below the market, where the flow never reaches it.
trading_dataplane_conf "$work" "$inst" "$tag" 3000
trading_dataplane_start "$dp" "$work" "$tag" "$inst"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$work/key.pem" -out "$work/cert.pem" \
	>/dev/null 2>&1 || fail "openssl req"
read -r port mport < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
"$cp" create-admin --database "$db" --username root >"$work/admin" 2>&1 || fail "create-admin: $(cat "$work/admin")"
admin_pw=$(tail -n 1 "$work/admin")
cat >"$work/cp.conf" <<EOF
[api]
listen = 127.0.0.1:$port
cert = $work/cert.pem
key = $work/key.pem
database = $db
instance = $inst
jwt_secret_file = $work/jwt.secret
argon2_t_cost = 1
argon2_m_kib = 8192
[metrics]
listen = 127.0.0.1:$mport
EOF
"$cp" serve --config "$work/cp.conf" >"$work/srv.out" 2>"$work/srv.err" &
srv=$!
"$cp" persist --database "$db" --journal-dir "$work/journal" --instance "$inst" \
	>"$work/ps.out" 2>"$work/ps.err" &
ps_pid=$!
base="https://127.0.0.1:$port"
until_ok 10 curl -sf --cacert "$work/cert.pem" -o /dev/null "$base/api/v1/health" || fail "serve did not start"

# call METHOD PATH [BODY]: as the admin; sets $code, leaves the body in $work/body.
call() {
	local args=(-s -o "$work/body" -w '%{http_code}' --cacert "$work/cert.pem" -X "$1")
	[ -n "${tok:-}" ] && args+=(-H "Authorization: Bearer $tok")
	[ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	code=$(curl "${args[@]}" "$base$2") || code=000
}
expect() { # expect CODE METHOD PATH [BODY]
	local want=$1
	shift
	call "$@"
	[ "$code" = "$want" ] || fail "$1 $2: $code, expected $want: $(cat "$work/body")"
}
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d"+sys.argv[2]))' "$work/body" "$1"; }
tok=''
expect 200 POST /api/v1/auth/login "{\"username\":\"root\",\"password\":\"$admin_pw\"}"
tok=$(jget '["access_token"]')

# The dataplane has the book (a reference price for the collar) once exsim's flow arrived; a
# thousand events in, the background orders rest on both sides.
until_ok 10 sh -c "'$dp' --stats '$inst' | grep -q '\"md_events\":[1-9][0-9][0-9][0-9]'" ||
	fail "no market data reached the dataplane: $("$dp" --stats "$inst")"

# order QTY PRICE: POSTs a manual day buy of AAPL for account 0 at venue 0; sets $cmd, the
# command id the dataplane answers to.
order() {
	expect 202 POST /api/v1/orders "{\"account\":0,\"instrument\":1,\"venue\":0,\"side\":\"buy\",\"price\":$2,\"qty\":$1}"
	cmd=$(jget '["command_id"]')
}
# result CMD: the dataplane's answer to command CMD as "result|detail", once persisted.
result() { sql "SELECT result || '|' || detail FROM command_results WHERE instance = '$inst' AND command_id = $1"; }
await_result() {
	until_ok 10 sh -c "[ -n \"\$(psql -X -Atq -c \"SELECT 1 FROM command_results WHERE instance = '$inst' AND command_id = $1\")\" ]" ||
		fail "no answer to command $1 persisted"
	res=$(result "$1")
}
# entered QTY: how many orders of QTY shares exsim received from the appliance's session.
entered() { awk -F, -v q="$1" 'NR > 1 && $2 == "mm" && $3 == "ENTER" && $8 == q' "$work/rec/orders.csv" | wc -l; }
api_order_status() { # api_order_status QTY: the statuses of the orders of QTY the API lists
	call GET "/api/v1/orders?account=0&limit=100"
	python3 -c '
import json, sys
o = {x["status"] for x in json.load(open(sys.argv[1]))["orders"] if x["qty"] == int(sys.argv[2])}
print(",".join(sorted(o)) or "none")' "$work/body" "$1"
}

# ---- 1. a manual order is accepted and reaches the venue ----
px=1200000 # 120.00: inside the 30 % collar, far below where the flow trades, so it rests
order 77 $px
await_result "$cmd"
[[ "$res" == "0|order "*" sent" ]] || fail "order of 77: the dataplane answered $res"
until_ok 5 sh -c "[ \$(awk -F, 'NR > 1 && \$2 == \"mm\" && \$3 == \"ENTER\" && \$8 == 77' '$work/rec/orders.csv' | wc -l) = 1 ]" ||
	fail "exsim did not receive the order of 77"
for _ in $(seq 100); do [ "$(api_order_status 77)" = open ] && break; sleep 0.1; done
[ "$(api_order_status 77)" = open ] || fail "the API lists the order of 77 as $(api_order_status 77)"
ok

# ---- 2. a lower max order quantity: the same order is refused by the dataplane ----
expect 200 PUT /api/v1/risk/limits '{"scope":"firm","kind":"max_order_qty","value":50}'
[ "$(jget '["push_failed"]')" = "[]" ] || fail "limit not pushed: $(cat "$work/body")"
[ "$(jget '["command_ids"].__len__()')" = 1 ] || fail "limit not pushed: $(cat "$work/body")"
await_result "$(jget '["command_ids"][0]')"
[ "${res%%|*}" = 0 ] || fail "the dataplane refused the limit: $res"
order 77 $px
await_result "$cmd"
[ "$res" = "-9|risk: max_qty" ] || fail "order of 77 over the limit: the dataplane answered $res"
until_ok 10 sh -c "[ -n \"\$(psql -X -Atq -c \"SELECT 1 FROM risk_events WHERE instance = '$inst' AND qty = 77 AND control = 9\")\" ]" ||
	fail "no max_qty risk event: $(sql "SELECT control, qty FROM risk_events")"
# The event names the order and what refused it: account, instrument, side, price, the limit in
# force and the order's value against it.
ev=$(sql "SELECT concat_ws('|', account_id, instrument_id, side, price, limit_value, observed_value)
	FROM risk_events WHERE instance = '$inst' AND qty = 77 AND control = 9 LIMIT 1")
[ "$ev" = "0|1|B|$px|50|77" ] || fail "the max_qty risk event reads $ev, expected 0|1|B|$px|50|77"
sleep 0.5
[ "$(entered 77)" = 1 ] || fail "exsim received $(entered 77) orders of 77, expected 1"
ok

# ---- 3. the kill switch: the resting order is canceled at the venue, new ones refused ----
token=$(awk -F, 'NR > 1 && $2 == "mm" && $3 == "ENTER" && $8 == 77 { print $4 }' "$work/rec/orders.csv")
expect 200 POST /api/v1/kill '{"scope":"firm","on":true,"cancel_open":true}'
[ "$(jget '["push_failed"]')" = "[]" ] || fail "kill switch not pushed: $(cat "$work/body")"
until_ok 5 sh -c "awk -F, 'NR > 1 && \$3 == \"CANCELED\" && \$4 == \"$token\"' '$work/rec/orders.csv' | grep -q ." ||
	fail "the resting order $token was not canceled at exsim"
for _ in $(seq 100); do [ "$(api_order_status 77)" = canceled ] && break; sleep 0.1; done
[ "$(api_order_status 77)" = canceled ] || fail "the API lists the order of 77 as $(api_order_status 77)"
order 10 $px
await_result "$cmd"
[ "$res" = "-2|risk: kill_firm" ] || fail "order under the kill switch: the dataplane answered $res"
sleep 0.5
[ "$(entered 10)" = 0 ] || fail "exsim received an order under the kill switch"
ok

# ---- 4. kill switch off: orders flow again ----
expect 200 POST /api/v1/kill '{"scope":"firm","on":false}'
order 10 $px
await_result "$cmd"
[[ "$res" == "0|order "*" sent" ]] || fail "order after the kill switch: the dataplane answered $res"
until_ok 5 sh -c "[ \$(awk -F, 'NR > 1 && \$2 == \"mm\" && \$3 == \"ENTER\" && \$8 == 10' '$work/rec/orders.csv' | wc -l) = 1 ]" ||
	fail "exsim did not receive the order after the kill switch went off"
ok

# ---- 5. a restarted dataplane gets the persisted limit from serve ----
old=$dp_pid
kill -TERM "$dp_pid"
wait "$dp_pid" || fail "the dataplane exited $? on SIGTERM"
dp_pid=''
trading_dataplane_start "$dp" "$work" "$tag" "$inst"
[ "$dp_pid" != "$old" ] || fail "same pid"
until_ok 10 grep -q "dataplane '$inst' pid $dp_pid (1 workers): pushed 1 persisted limit(s) and 0 engaged kill switch(es)" "$work/srv.err" ||
	fail "serve did not push to the new dataplane: $(grep pushed "$work/srv.err")"
until_ok 10 sh -c "'$dp' --stats '$inst' | grep -q '\"md_events\":[1-9]'" ||
	fail "no market data reached the restarted dataplane"
order 77 $px
await_result "$cmd"
[ "$res" = "-9|risk: max_qty" ] || fail "order of 77 after the restart: the dataplane answered $res"
order 10 $px
await_result "$cmd"
[[ "$res" == "0|order "*" sent" ]] || fail "order of 10 after the restart: the dataplane answered $res"
until_ok 5 sh -c "[ \$(awk -F, 'NR > 1 && \$2 == \"mm\" && \$3 == \"ENTER\" && \$8 == 10' '$work/rec/orders.csv' | wc -l) = 2 ]" ||
	fail "exsim did not receive the order of 10 from the restarted dataplane"
[ "$(entered 77)" = 1 ] || fail "exsim received $(entered 77) orders of 77, expected 1"
# The restarted dataplane's orders have ids of their own: each order the venue received is one
# row of orders (an id reused from the first run would have overwritten that run's row).
n_ex=$(awk -F, 'NR > 1 && $2 == "mm" && $3 == "ENTER"' "$work/rec/orders.csv" | wc -l)
order_rows() { sql "SELECT count(DISTINCT order_id) FROM orders WHERE instance = '$inst'"; }
for _ in $(seq 100); do [ "$(order_rows)" = "$n_ex" ] && break; sleep 0.1; done
[ "$(order_rows)" = "$n_ex" ] || fail "$(order_rows) order rows for the $n_ex orders exsim received"
ok

kill -TERM "$srv"
wait "$srv" || fail "serve exited $? on SIGTERM"
srv=''
echo "PASS ($checks checks)"
