#!/usr/bin/env bash
# Description: tsctl end to end against a real `tradsys-controlplane serve` (private PostgreSQL,
# self-signed certificate) and the stand-in dataplane (api_fake_dataplane). login keeps the
# session in a 0600 token file in a 0700 directory; every subcommand's output and exit code as
# admin, trader and viewer (403 -> 2); bad input exits 4 naming the field, both what tsctl
# refuses itself and what the server refuses; 404 -> 3; usage -> 1; no server or an untrusted
# certificate -> 5; an expired access token is refreshed once (the refresh token rotates) and a
# spent one ends the session (2); logout revokes it; --json output parses for every command;
# `top --once` (with its sessions line) and the live `top` (until SIGINT, and until q on a
# terminal); `venues` and `venues disconnect|connect` (table, --json, roles, a bad name, an
# unknown venue, the commands at the worker that has the venue); server strings with
# terminal escapes are neutralised; no password or token ever appears in tsctl's output.
# Usage: pg-test test_tsctl.sh TRADSYS_CONTROLPLANE API_FAKE_DATAPLANE TSCTL  (0 pass, 1 fail, 77 skip)
set -euo pipefail
cp=$1 fake=$2 tsctl=$3
if [ -z "${TRADSYS_TEST_DATABASE:-}" ]; then
	echo "SKIP: run under tests/scripts/pg-test"
	exit 77
fi
db=$TRADSYS_TEST_DATABASE
work=$(mktemp -d /tmp/tradsys-tsctl-test-XXXXXX)
inst="gtsc$$"
srv= fakepid=
cleanup() {
	for p in $srv $fakepid; do
		if kill -0 "$p" 2>/dev/null; then
			kill -TERM "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	done
	rm -f "/dev/shm/tradsys-$inst-stats" "/dev/shm/tradsys-$inst-cmd-0" "/dev/shm/tradsys-$inst-cmd-1"
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	for f in out err; do
		[ -f "$work/$f" ] && sed "s/^/  $f: /" "$work/$f" | head -n 20
	done
	[ -f "$work/srv.err" ] && tail -n 10 "$work/srv.err" | sed 's/^/  server: /'
	exit 1
}
sql() { psql -X -Atq -v ON_ERROR_STOP=1 -c "$1"; }
checks=0

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$work/key.pem" -out "$work/cert.pem" \
	>/dev/null 2>&1 || fail "openssl req"
read -r port mport deadport < <(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

"$cp" create-admin --database "$db" --username root >"$work/out" 2>&1 || fail "create-admin"
admin_pw=$(tail -n 1 "$work/out")
"$fake" "$inst" "$work/commands.txt" >"$work/fake.out" 2>&1 &
fakepid=$!
for _ in $(seq 50); do grep -q ready "$work/fake.out" && break; sleep 0.1; done
grep -q ready "$work/fake.out" || fail "fake dataplane: $(cat "$work/fake.out")"

# access_ttl_s = 4: long enough for a command, short enough to test the refresh.
ttl=4
cat >"$work/cp.conf" <<EOF
[api]
listen = 127.0.0.1:$port
cert = $work/cert.pem
key = $work/key.pem
database = $db
instance = $inst
jwt_secret_file = $work/jwt.secret
access_ttl_s = $ttl
refresh_ttl_s = 600
login_max_failures = 5
lockout_s = 600
rate_per_s = 1000
threads = 4
argon2_t_cost = 1
argon2_m_kib = 8192
[metrics]
listen = 127.0.0.1:$mport
EOF
"$cp" serve --config "$work/cp.conf" >"$work/srv.out" 2>"$work/srv.err" &
srv=$!
base="https://127.0.0.1:$port"
for _ in $(seq 100); do
	curl -sf --cacert "$work/cert.pem" "$base/api/v1/health" >/dev/null 2>&1 && break
	kill -0 "$srv" 2>/dev/null || fail "server exited during start"
	sleep 0.1
done

# Everything tsctl prints goes to all.log too, to prove no secret is in it.
: >"$work/all.log"
# t WHO WANT_RC ARGS...: runs tsctl with WHO's token file; stdout in out, stderr in err. It runs
# in a new session, without a controlling terminal, so no prompt can wait for a tester's typing.
t() {
	local who=$1 want=$2 rc=0
	shift 2
	setsid -w "$tsctl" --url "$base" --cacert "$work/cert.pem" --token-file "$work/$who/tradsys/token" \
		"$@" >"$work/out" 2>"$work/err" </dev/null || rc=$?
	cat "$work/out" "$work/err" >>"$work/all.log"
	[ "$rc" = "$want" ] || fail "tsctl ($who) $*: exit $rc, expected $want"
	checks=$((checks + 1))
}
has() {
	local f=${2:-out}
	grep -qF -- "$1" "$work/$f" || fail "'$1' not in $f: $(head -c 600 "$work/$f")"
}
# bad WHO FIELD ARGS...: exit 4 with the field named on stderr.
bad() {
	local who=$1 field=$2
	shift 2
	t "$who" 4 "$@"
	grep -qF "field '$field'" "$work/err" || fail "tsctl $*: field '$field' not named: $(cat "$work/err")"
}
isjson() { python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/out" ||
	fail "not JSON: $(head -c 300 "$work/out")"; }
jq_() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d"+sys.argv[2]))' "$work/out" "$1"; }

# ---- usage, no session, no server ----
t admin 0 --help
has "exit codes" && has "4  bad request"
t admin 1
t admin 1 frobnicate
t admin 1 order new 1 2
t admin 1 orders --bogus
t admin 1 kill sideways
rc=0
"$tsctl" --url "http://127.0.0.1:$port" status >/dev/null 2>"$work/err" || rc=$?
[ "$rc" = 1 ] || fail "plain http URL accepted ($rc)"
t admin 2 status
has "not logged in" err
# The password never comes from a missing terminal: no prompt possible, usage error.
rc=0
setsid -w "$tsctl" --url "$base" --cacert "$work/cert.pem" --token-file "$work/x/token" login root \
	</dev/null >/dev/null 2>"$work/err" || rc=$?
[ "$rc" = 1 ] && grep -q TSCTL_PASSWORD "$work/err" || fail "login without a password: $rc"
TSCTL_PASSWORD=wrong-password-123 t admin 2 login root
has "invalid username or password" err
[ ! -e "$work/admin/tradsys/token" ] || fail "a failed login wrote a token file"
# Nothing listens: 5. A certificate not trusted: 5.
rc=0
TSCTL_PASSWORD=$admin_pw "$tsctl" --url "https://127.0.0.1:$deadport" --token-file "$work/d/token" \
	login root >/dev/null 2>"$work/err" || rc=$?
[ "$rc" = 5 ] || fail "no server: exit $rc"
rc=0
TSCTL_PASSWORD=$admin_pw "$tsctl" --url "$base" --token-file "$work/d/token" login root \
	>/dev/null 2>"$work/err" || rc=$?
[ "$rc" = 5 ] || fail "untrusted certificate: exit $rc"
checks=$((checks + 2))

# ---- login: the token file ----
TSCTL_PASSWORD=$admin_pw t admin 0 login root
has "logged in to $base as root (admin)"
[ "$(stat -c %a "$work/admin/tradsys/token")" = 600 ] || fail "token file mode $(stat -c %a "$work/admin/tradsys/token")"
[ "$(stat -c %a "$work/admin/tradsys")" = 700 ] || fail "token directory mode"
[ "$(stat -c %a "$work/admin")" = 700 ] || fail "token parent directory mode"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["access_token"] and d["refresh_token"] and d["url"] == sys.argv[2]' \
	"$work/admin/tradsys/token" "$base" || fail "token file content"
# The default path under HOME, and the URL and CA from the environment.
rc=0
HOME=$work/home TSCTL_URL=$base TSCTL_CACERT=$work/cert.pem TSCTL_PASSWORD=$admin_pw \
	"$tsctl" --json login root >"$work/out" 2>"$work/err" || rc=$?
[ "$rc" = 0 ] || fail "login with HOME and env: $rc $(cat "$work/err")"
isjson
[ "$(jq_ '["role"]')" = admin ] || fail "login --json role"
grep -q access_token "$work/out" && fail "login --json printed a token"
[ "$(stat -c %a "$work/home/.config/tradsys/token")" = 600 ] || fail "default token file mode"
[ "$(stat -c %a "$work/home/.config/tradsys")" = 700 ] || fail "default token dir mode"
cat "$work/out" >>"$work/all.log"
# With the token file's URL remembered, a later command needs no --url.
rc=0
HOME=$work/home TSCTL_CACERT=$work/cert.pem "$tsctl" status >"$work/out" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "status with the remembered URL: $rc $(cat "$work/out")"
# Tokens for one server are not sent to another.
rc=0
HOME=$work/home "$tsctl" --url "https://127.0.0.1:$deadport" status >/dev/null 2>"$work/err" || rc=$?
[ "$rc" = 2 ] && grep -q "another server" "$work/err" || fail "token sent to another server? $rc"
checks=$((checks + 5))

# ---- users: add trader and viewer, bad input ----
pw='correct-horse-battery'
TSCTL_NEW_PASSWORD=$pw t admin 0 users add trader trader --display "Tess Trader"
has "user trader created"
TSCTL_NEW_PASSWORD=$pw t admin 0 users add viewer viewer
TSCTL_NEW_PASSWORD=$pw bad admin role users add boss boss
TSCTL_NEW_PASSWORD=$pw bad admin username users add "Bad Name" viewer
TSCTL_NEW_PASSWORD=short bad admin password users add shorty viewer
TSCTL_NEW_PASSWORD=$pw bad admin username users add trader viewer # 409: exists
has "conflict (409)" err
# A display name with terminal escapes is shown neutralised.
TSCTL_NEW_PASSWORD=$pw t admin 0 users add evil viewer --display $'\e[31mred\e]0;title\a'
t admin 0 users
has "Tess Trader" && has "viewer" && has "root"
grep -q $'\e' "$work/out" && fail "an escape sequence reached the terminal"
t admin 0 --json users
isjson
[ "$(jq_ '["users"][1]["username"]')" = trader ] || fail "users --json"
TSCTL_PASSWORD=$pw t trader 0 login trader
TSCTL_PASSWORD=$pw t viewer 0 login viewer
has "as viewer (viewer)"
t viewer 2 users
has "permission denied (403)" err
TSCTL_NEW_PASSWORD=$pw t trader 2 users add x viewer

t admin 0 users role evil trader
has "now has role trader"
t admin 0 users disable evil
t admin 0 users enable evil
bad admin role users role evil boss
t admin 3 users del nosuchuser
t admin 3 users del 999999
t admin 0 --json users del evil
isjson
t viewer 2 users del trader

# ---- status and top ----
for who in admin viewer trader; do
	t $who 0 status
	has "instance   $inst" && has "dataplane  running (driver fake" && has "database   ok"
	has "WORKER" && has "T2T_P99"
done
[ "$(grep -cE '^ +[01]  running' "$work/out")" = 2 ] || fail "status workers: $(cat "$work/out")"
t admin 0 status --json
isjson
[ "$(jq_ '["workers"][1]["packets"]')" = 501 ] || fail "status --json packets"
t viewer 0 top --once
has "tsctl top  $base" && has "state running  driver fake" && has "PKT/S"
[ "$(grep -cE '^ +[01]  running' "$work/out")" = 2 ] || fail "top workers: $(cat "$work/out")"
# One frame has no previous one: its rates are averages since the dataplane started.
has "(rates: average since start)"
grep -qE '^ +1  running +[^ ]+ +[0-9]+ ' "$work/out" || fail "top --once packet rate: $(cat "$work/out")"
has "sessions  xnas/w0 active  xnas/w1 active  bats/w1 active"
t admin 0 --json top --once
isjson

# ---- orders, positions, balances ----
sql "INSERT INTO orders VALUES ('$inst', 1, 4242, 0, 77, 3, 12, 1, 0, 'B', 1000000, 100, 60, 40,
	'partially_filled', 0, 1764000000000000000, 1764000001000000000, 9)"
sql "INSERT INTO order_events (instance, worker, seq, event_type, wall_ns, order_id, orig_order_id,
	venue_order_id, match_no, account_id, instrument_id, venue_id, strategy_id, side, ord_type, tif,
	price, qty, leaves, last_px, last_qty, liquidity, reason) VALUES ('$inst', 1, 8, 'fill',
	1764000001000000000, 4242, 0, 77, 5, 3, 12, 1, 0, 'B', 0, 0, 1000000, 100, 60, 1000000, 40, 0, 0)"
sql "INSERT INTO positions (account_id, instrument_id, qty, avg_price, realized_pnl) VALUES (3, 12, 40, 1000000, -25)"
sql "INSERT INTO balances (account_id, currency, amount) VALUES (3, 'USD', 1234567.5)"
for who in admin viewer; do
	t $who 0 orders
	has "ORDER" && has "4242" && has "partially_filled" && has "2025-11-24 16:00:01.000"
done
t viewer 0 orders --status partially_filled --account 3
has 4242
t viewer 0 orders --status open
has "no orders"
t admin 0 orders --json --limit 5
isjson
[ "$(jq_ '["orders"][0]["order_id"]')" = 4242 ] || fail "orders --json"
bad viewer status orders --status lost
bad viewer account orders --account x
bad viewer limit orders --limit 0
t viewer 0 order show 4242
has "partially_filled" && has "filled       40" && has "fill" && has "2025-11-24 16:00:01.000"
t viewer 0 --json order show 4242
isjson
t viewer 3 order show 999
has "not found (404)" err
bad viewer id order show abc
t viewer 0 positions
has "REALIZED_PNL" && has "-25"
t viewer 0 positions --account 3 --json
isjson
[ "$(jq_ '["positions"][0]["qty"]')" = 40 ] || fail "positions --json"
t trader 0 balances
has "USD" && has "1234567.50000000"
t trader 0 --json balances
isjson
bad viewer account balances --account -1

# Manual orders: trader yes, viewer no; bad fields from tsctl and from the server.
t trader 0 order new 3 1 12 B 100 1000000
has "order sent: client order id"
t trader 0 --json order new 3 1 12 sell 5 990000
isjson
[ "$(jq_ '["status"]')" = sent ] || fail "order new --json"
t viewer 2 order new 3 1 12 B 100 1000000
has "order.create" err
bad trader qty order new 3 1 12 B ten 1000000
bad trader account order new x 1 12 B 1 1
bad trader price order new 3 1 12 B 100 0
bad trader side order new 3 1 12 X 100 1000000
bad trader venue order new 3 70000 12 B 100 1000000
t trader 0 order cancel 4242
has "cancel sent for order 4242"
t viewer 2 order cancel 4242
t trader 3 order cancel 999
sleep 0.2
grep -q "^worker=0 id=[0-9]* type=4 client_order_id=[0-9]* account=3 instrument=12 venue=1 side=B price=1000000 qty=100$" \
	"$work/commands.txt" || fail "manual order not at the worker: $(cat "$work/commands.txt")"
grep -q "side=S price=990000 qty=5$" "$work/commands.txt" || fail "sell order not at the worker"
grep -q "^worker=1 id=[0-9]* type=5 order_id=4242 account=3$" "$work/commands.txt" ||
	fail "cancel not at the worker"

# ---- risk limits and the kill switch ----
t viewer 0 risk get
has "no risk limits set" && has "no kill switch on"
t admin 0 risk set firm 0 max_gross_exposure 1000001
has "limit max_gross_exposure for firm 0 set to 1000001; pushed to 2 worker(s)"
t admin 0 risk set firm 0 max_gross_exposure 2000000
has "set to 2000000"
t admin 0 --json risk set account 3 max_open_orders 10
isjson
[ "$(jq_ '["command_ids"].__len__()')" = 2 ] || fail "risk set --json command ids"
t trader 2 risk set firm 0 max_order_qty 5
t viewer 2 risk set firm 0 max_order_qty 5
bad admin scope risk set desk 0 max_order_qty 5
bad admin kind risk set firm 0 collar_bps 1
bad admin value risk set firm 0 max_order_qty -1
bad admin value risk set firm 0 max_order_qty lots
bad admin id risk set account -3 credit_limit 5
t admin 1 risk set firm 0 max_order_qty
t viewer 0 risk get
has "max_gross_exposure" && has "2000000" && has "max_open_orders" && has "root"
t admin 0 kill on --scope account --id 3
has "kill switch ON for account 3; pushed to 2 worker(s)"
t viewer 0 risk get
has "KILL SCOPE" && has "account"
t admin 0 --json risk get
isjson
[ "$(jq_ '["kill_switches"][0]["id"]')" = 3 ] || fail "kill switch not listed"
t admin 0 kill off --scope account --id 3
has "kill switch OFF"
t admin 0 kill on --cancel-open
has "kill switch ON for firm 0, open orders canceled"
t admin 0 --json kill off
isjson
t trader 2 kill on
t viewer 2 kill off
bad admin scope kill on --scope desk --id 1
bad admin id kill on --scope account --id x
bad admin id kill on --scope account
sleep 0.2
grep -q "^worker=0 .*type=1 scope=1 target=0 limit=7 value=1000000$" "$work/commands.txt" ||
	fail "limit not split to worker 0: $(cat "$work/commands.txt")"
grep -q "^worker=1 .*type=2 scope=2 target=3 on=1 cancel_open=0$" "$work/commands.txt" ||
	fail "kill switch not at worker 1"
grep -q "^worker=0 .*type=2 scope=1 target=0 on=1 cancel_open=1$" "$work/commands.txt" ||
	fail "firm kill switch with cancel_open not at worker 0"

# ---- audit ----
t admin 0 audit --limit 5
has "ACTION" && has "kill_switch.off"
[ "$(grep -c . "$work/out")" = 6 ] || fail "audit --limit 5: $(cat "$work/out")"
t admin 0 audit --action order.create
has "trader" && has "127.0.0.1"
t admin 0 --json audit --limit 3
isjson
[ "$(jq_ '["audit"].__len__()')" = 3 ] || fail "audit --json"
t trader 2 audit
t viewer 2 audit
bad admin limit audit --limit 0
bad admin limit audit --limit many

# ---- venues ----
for who in admin viewer trader; do
	t $who 0 venues
	has "WORKER" && has "ADMIN_DOWN" && has "RECONN"
done
[ "$(grep -cE '^ +[01]  (xnas|bats) +active +no ' "$work/out")" = 3 ] || fail "venues table: $(cat "$work/out")"
grep -qE '^ +0  xnas +active +no +101 +40 +100 +1 +0 +30 +12 +0 +0$' "$work/out" ||
	fail "venues row of worker 0: $(cat "$work/out")"
t viewer 0 --json venues
isjson
[ "$(jq_ '["venues"][2]["name"]')" = bats ] || fail "venues --json"
t admin 0 venues disconnect bats
has "venue bats: disconnect sent to 1 worker(s)"
sleep 0.2
t viewer 0 venues
grep -qE '^ +1  bats +closed +yes ' "$work/out" || fail "bats not closed by the operator: $(cat "$work/out")"
t viewer 0 top --once
has "bats/w1 closed (operator)"
t admin 0 --json venues connect bats
isjson
[ "$(jq_ '["workers"]')" = "[1]" ] || fail "venues connect --json workers"
t trader 2 venues disconnect xnas
t viewer 2 venues connect xnas
t admin 3 venues disconnect nyse
has "nyse" err
bad admin name venues disconnect 'a/b'
t admin 1 venues disconnect
t admin 1 venues reboot xnas
sleep 0.2
grep -q "^worker=1 id=[0-9]* type=7 venue=bats$" "$work/commands.txt" || fail "bats disconnect not at worker 1"
grep -q "^worker=1 id=[0-9]* type=8 venue=bats$" "$work/commands.txt" || fail "bats connect not at worker 1"
grep -q "venue=xnas" "$work/commands.txt" && fail "a refused venue command reached a worker"

# ---- the refresh: wait out the access token, a command refreshes once and goes on ----
tok=$work/admin/tradsys/token
cp "$tok" "$work/token.before"
sleep $((ttl + 1))
t admin 0 status
python3 - "$work/token.before" "$tok" <<'EOF' || fail "tokens not rotated by the refresh"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["access_token"] != b["access_token"] and a["refresh_token"] != b["refresh_token"]
EOF
[ "$(stat -c %a "$tok")" = 600 ] || fail "token file mode after the refresh"
[ "$(sql "SELECT count(*) FROM audit_log WHERE action = 'auth.refresh' AND actor = 'root'")" -ge 1 ] ||
	fail "no refresh in the audit log"
# The old session: its access token expired and its refresh token spent -> 2, log in again.
cp "$work/token.before" "$work/old/tradsys/token" 2>/dev/null ||
	{ mkdir -p -m 700 "$work/old/tradsys" && install -m 600 "$work/token.before" "$work/old/tradsys/token"; }
t old 2 orders
has "log in again" err
# A token file others may read is refused.
chmod 644 "$work/old/tradsys/token"
t old 2 orders
has "may be read by others" err

# ---- the live top: frames until SIGINT; on a terminal until q ----
rc=0
timeout --preserve-status -s INT 2.5 "$tsctl" --url "$base" --cacert "$work/cert.pem" \
	--token-file "$tok" top </dev/null >"$work/out" 2>"$work/err" || rc=$?
[ "$rc" = 0 ] || fail "top after SIGINT: exit $rc $(cat "$work/err")"
[ "$(grep -c '^tsctl top' "$work/out")" -ge 2 ] || fail "top drew fewer than 2 frames: $(cat "$work/out")"
has "PKT/S"
grep -qE '^ +0  running .* 0 ' "$work/out" || fail "top rates: $(cat "$work/out")"
if command -v script >/dev/null; then
	rc=0
	(sleep 1.5; printf q) | timeout 10 script -qfec "$tsctl --url $base --cacert $work/cert.pem \
		--token-file $tok top" /dev/null >"$work/out" 2>&1 || rc=$?
	[ "$rc" = 0 ] || fail "top on a terminal: exit $rc"
	grep -qF $'\e[?1049h' "$work/out" && grep -qF $'\e[?1049l' "$work/out" ||
		fail "top did not use and restore the alternate screen"
	has "(q to quit)"
	checks=$((checks + 1))
fi
checks=$((checks + 1))

# ---- logout ----
t trader 0 logout
has "logged out of $base"
[ ! -e "$work/trader/tradsys/token" ] || fail "token file left after logout"
[ "$(sql "SELECT count(*) FROM audit_log WHERE action = 'auth.logout' AND actor = 'trader'")" = 1 ] ||
	fail "logout not seen by the server"
t trader 2 orders
t trader 0 logout
has "not logged in"
t viewer 0 --json logout
isjson

# ---- no secret in anything tsctl printed ----
for s in "$admin_pw" "$pw"; do
	grep -qF -- "$s" "$work/all.log" && fail "a password is in tsctl's output"
done
for f in "$tok" "$work/token.before" "$work/home/.config/tradsys/token"; do
	for k in access_token refresh_token; do
		v=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$f" "$k")
		grep -qF -- "$v" "$work/all.log" && fail "a token is in tsctl's output"
	done
done
checks=$((checks + 1))

kill -TERM "$srv"
wait "$srv" || fail "serve exit status"
srv=
echo "PASS ($checks checks)"
