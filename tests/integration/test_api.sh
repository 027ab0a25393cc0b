#!/usr/bin/env bash
# Description: the HTTPS admin API end to end against a private PostgreSQL and a stand-in
# dataplane (api_fake_dataplane: stats region + command rings). create-admin prints a password
# that logs in and no other user exists; every endpoint x every role and anonymous answers 2xx,
# 401 or 403 as the TradSys roles say; malformed JSON and bad fields get 400 naming the field;
# unknown routes 404; an audit row (actor, action, source address) for each mutation; commands
# reach the workers' rings (manual order, cancel, limits split per worker, kill switch, venue
# disconnect/connect to the workers that have the venue); GET /api/v1/venues lists the sessions
# per worker and shows an operator's disconnect; GET /api/v1/orders/{id} lists exactly the order's
# events, from its born range and from the order index (migration 008); lockout
# after N failed logins; access token expiry and refresh rotation; TOTP; API keys; the per-token
# rate limit (429); TLS below 1.2 refused; no secret in the server's log; /metrics passes
# `promtool check metrics`.
# Usage: pg-test test_api.sh TRADSYS_CONTROLPLANE API_FAKE_DATAPLANE   (0 pass, 1 fail, 77 skip)
set -euo pipefail
cp=$1 fake=$2
if [ -z "${TRADSYS_TEST_DATABASE:-}" ]; then
	echo "SKIP: run under tests/scripts/pg-test"
	exit 77
fi
db=$TRADSYS_TEST_DATABASE
work=$(mktemp -d /tmp/tradsys-api-test-XXXXXX)
inst="gapi$$"
srv= srv2= fakepid=
cleanup() {
	for p in $srv $srv2 $fakepid; do
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
	[ -f "$work/srv.err" ] && tail -n 20 "$work/srv.err" | sed 's/^/  server: /'
	exit 1
}
sql() { psql -X -Atq -v ON_ERROR_STOP=1 -c "$1"; }
checks=0
ok() { checks=$((checks + 1)); }

# A self-signed pair for 127.0.0.1.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$work/key.pem" -out "$work/cert.pem" \
	>/dev/null 2>&1 || fail "openssl req"
read -r port mport < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

# ---- create-admin ----
"$cp" create-admin --database "$db" >"$work/out" 2>&1 && fail "create-admin without --username"
grep -qF "usage: tradsys-controlplane create-admin" "$work/out" || fail "create-admin usage"
"$cp" create-admin --database "$db" --username 'Bad Name' >"$work/out" 2>&1 &&
	fail "create-admin accepted a bad name"
"$cp" create-admin --database "$db" --username root >"$work/out" 2>&1 || fail "create-admin: $(cat "$work/out")"
admin_pw=$(tail -n 1 "$work/out")
[ "${#admin_pw}" -ge 24 ] || fail "create-admin printed no password"
[ "$(sql "SELECT string_agg(username || ':' || role, ',') FROM users")" = "root:admin" ] ||
	fail "users after create-admin: $(sql "SELECT string_agg(username, ',') FROM users")"
"$cp" create-admin --database "$db" --username root >"$work/out" 2>&1 && fail "create-admin twice"
grep -qF "user 'root' exists already" "$work/out" || fail "create-admin twice: $(cat "$work/out")"
ok

# ---- the fake dataplane and the server ----
"$fake" "$inst" "$work/commands.txt" >"$work/fake.out" 2>&1 &
fakepid=$!
for _ in $(seq 50); do grep -q ready "$work/fake.out" && break; sleep 0.1; done
grep -q ready "$work/fake.out" || fail "fake dataplane: $(cat "$work/fake.out")"

cat >"$work/cp.conf" <<EOF
[api]
listen = 127.0.0.1:$port
cert = $work/cert.pem
key = $work/key.pem
database = $db
instance = $inst
jwt_secret_file = $work/jwt.secret
access_ttl_s = 60
refresh_ttl_s = 600
login_max_failures = 3
lockout_s = 600
rate_per_s = 100
threads = 4
argon2_t_cost = 1
argon2_m_kib = 8192
[metrics]
listen = 127.0.0.1:$mport
EOF
sed 's/^rate_per_s = 100/rate_pr_s = 100/' "$work/cp.conf" >"$work/bad.conf"
"$cp" serve --config "$work/bad.conf" >"$work/out" 2>&1 && fail "serve with a misspelt key"
grep -qF "rate_pr_s" "$work/out" || fail "misspelt key not named: $(cat "$work/out")"

"$cp" serve --config "$work/cp.conf" >"$work/srv.out" 2>"$work/srv.err" &
srv=$!
base="https://127.0.0.1:$port"
for _ in $(seq 100); do
	curl -sf --cacert "$work/cert.pem" "$base/api/v1/health" >/dev/null 2>&1 && break
	kill -0 "$srv" 2>/dev/null || fail "server exited during start"
	sleep 0.1
done
[ "$(stat -c %a "$work/jwt.secret")" = 600 ] || fail "jwt secret file mode"
ok

# call METHOD PATH AUTH [BODY]: AUTH is "-" (none), "key:<api key>" or a bearer token. Sets
# $code and leaves the body in $work/body.
call() {
	local m=$1 p=$2 auth=$3 body=${4:-}
	local args=(-s -o "$work/body" -w '%{http_code}' --cacert "$work/cert.pem" -X "$m")
	case "$auth" in
	-) ;;
	key:*) args+=(-H "X-API-Key: ${auth#key:}") ;;
	*) args+=(-H "Authorization: Bearer $auth") ;;
	esac
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	code=$(curl "${args[@]}" "$base$p") || code=000
}
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d"+sys.argv[2]))' "$work/body" "$1"; }
expect() { # expect CODE METHOD PATH AUTH [BODY]
	local want=$1
	shift
	call "$@"
	[ "$code" = "$want" ] || fail "$1 $2 as ${3:0:12}: $code, expected $want: $(cat "$work/body")"
	ok
}
login() { # login USER PASSWORD -> token in $tok, refresh in $rtok
	expect 200 POST /api/v1/auth/login - "{\"username\":\"$1\",\"password\":\"$2\"}"
	tok=$(jget '["access_token"]')
	rtok=$(jget '["refresh_token"]')
}

login root "$admin_pw"
admin=$tok
[ "$(jget '["role"]')" = admin ] || fail "root's role"
pw='correct-horse-battery'
for u in trader viewer victim locky tot; do
	role=$u
	case $u in victim | locky | tot) role=viewer ;; esac
	expect 201 POST /api/v1/users "$admin" "{\"username\":\"$u\",\"password\":\"$pw\",\"role\":\"$role\"}"
done
victim=$(sql "SELECT id FROM users WHERE username = 'victim'")
login trader "$pw"
trader=$tok
login viewer "$pw"
viewer=$tok
expect 201 POST /api/v1/users/"$victim"/api-keys "$admin" '{}'
victim_key_id=$(jget '["id"]')
# An order the persister would have loaded, on worker 1, for the get and cancel endpoints.
sql "INSERT INTO orders VALUES ('$inst', 1, 4242, 0, 77, 3, 12, 1, 0, 'B', 1000000, 100, 100, 0,
	'open', 0, 1, 2, 9)"

# ---- every endpoint x every role ----
# method path body permission success-code
matrix=$(cat <<EOF
GET /api/v1/health - none 200
GET /api/v1/ready - none 200
GET /api/v1/users - user.manage 200
POST /api/v1/users {"username":"made_ROLE","password":"$pw","role":"viewer"} user.manage 201
GET /api/v1/users/$victim - user.manage 200
PUT /api/v1/users/$victim {"display_name":"Vic"} user.manage 200
POST /api/v1/users/$victim/totp - user.manage 201
DELETE /api/v1/users/$victim/totp - user.manage 204
POST /api/v1/users/$victim/api-keys {"role":"viewer"} user.manage 201
DELETE /api/v1/api-keys/$victim_key_id - user.manage 204
GET /api/v1/orders - order.view 200
GET /api/v1/orders/4242 - order.view 200
POST /api/v1/orders {"account":3,"instrument":12,"venue":1,"side":"buy","price":1000000,"qty":100} order.create 202
DELETE /api/v1/orders/4242 - order.cancel 202
GET /api/v1/positions - position.view 200
GET /api/v1/balances - balance.view 200
GET /api/v1/risk/limits - order.view 200
PUT /api/v1/risk/limits {"scope":"firm","kind":"max_gross_exposure","value":1000001} system.configure 200
POST /api/v1/kill {"scope":"account","id":3,"on":true} system.configure 200
GET /api/v1/status - order.view 200
GET /api/v1/venues - order.view 200
POST /api/v1/venues/bats/disconnect - system.configure 200
POST /api/v1/venues/bats/connect - system.configure 200
GET /api/v1/audit - reports.generate 200
DELETE /api/v1/users/$victim - user.manage 204
EOF
)
declare -A perms=(
	[admin]="user.manage order.create order.cancel order.view position.view balance.view system.configure reports.generate"
	[trader]="order.create order.cancel order.view position.view balance.view"
	[viewer]="order.view position.view balance.view"
)
declare -A tokens=([admin]=$admin [trader]=$trader [viewer]=$viewer [anon]=-)
cells=0
while read -r m p body perm good; do
	[ "$body" = - ] && body=
	for who in anon viewer trader admin; do
		want=$good
		if [ "$perm" != none ]; then
			if [ "$who" = anon ]; then
				want=401
			elif [[ " ${perms[$who]} " != *" $perm "* ]]; then
				want=403
			fi
		fi
		expect "$want" "$m" "$p" "${tokens[$who]}" "${body//ROLE/$who}"
		cells=$((cells + 1))
	done
done <<<"$matrix"
echo "role matrix: $cells cells"

# ---- what the mutations did ----
for a in user.create user.update user.totp_enrol user.totp_remove api_key.create api_key.revoke \
	user.delete order.create order.cancel risk_limit.set kill_switch.on venue.disconnect \
	venue.connect auth.login; do
	[ "$(sql "SELECT count(*) FROM audit_log WHERE action = '$a' AND source_ip = '127.0.0.1'")" -ge 1 ] ||
		fail "no audit row for $a"
	ok
done
[ "$(sql "SELECT actor FROM audit_log WHERE action = 'order.create' ORDER BY id LIMIT 1")" = trader ] ||
	fail "order.create actor"
[ "$(sql "SELECT details->>'value' FROM audit_log WHERE action = 'risk_limit.set' ORDER BY id DESC LIMIT 1")" = 1000001 ] ||
	fail "risk_limit.set details"
[ "$(sql "SELECT value FROM risk_limits WHERE scope = 'firm' AND limit_kind = 'max_gross_exposure'")" = 1000001 ] ||
	fail "risk_limits row"
[ "$(sql "SELECT active FROM kill_switches WHERE scope = 'account' AND scope_id = 3")" = t ] ||
	fail "kill_switches row"
[ "$(sql "SELECT count(*) FROM users WHERE username = 'victim'")" = 0 ] || fail "victim not deleted"
ok
sleep 0.2
grep -q "^worker=0 id=[0-9]* type=4 client_order_id=[0-9]* account=3 instrument=12 venue=1 side=B price=1000000 qty=100$" \
	"$work/commands.txt" || fail "manual order command: $(cat "$work/commands.txt")"
grep -q "^worker=1 id=[0-9]* type=5 order_id=4242 account=3$" "$work/commands.txt" ||
	fail "manual cancel command"
# 1000001 split over two workers: 500001 + 500000.
grep -q "^worker=0 .*type=1 scope=1 target=0 limit=7 value=500001$" "$work/commands.txt" ||
	fail "limit command worker 0: $(cat "$work/commands.txt")"
grep -q "^worker=1 .*type=1 scope=1 target=0 limit=7 value=500000$" "$work/commands.txt" ||
	fail "limit command worker 1"
grep -q "^worker=1 .*type=2 scope=2 target=3 on=1 cancel_open=0$" "$work/commands.txt" ||
	fail "kill command"
# bats is on worker 1 only: its commands reach that worker and no other.
grep -q "^worker=1 id=[0-9]* type=7 venue=bats$" "$work/commands.txt" || fail "venue disconnect command"
grep -q "^worker=1 id=[0-9]* type=8 venue=bats$" "$work/commands.txt" || fail "venue connect command"
grep -q "^worker=0 .*venue=bats" "$work/commands.txt" && fail "a bats command went to worker 0"
[ "$(sql "SELECT details->>'workers' FROM audit_log WHERE action = 'venue.disconnect' ORDER BY id LIMIT 1")" = "[1]" ] ||
	fail "venue.disconnect audit details"
[ "$(cut -d' ' -f2 "$work/commands.txt" | sort | uniq -d | wc -l)" = 0 ] || fail "command ids repeat"
ok

# ---- venues: the sessions per worker, and an operator's disconnect and connect ----
expect 200 GET /api/v1/venues "$viewer"
[ "$(jget '["running"]')" = True ] || fail "venues: running"
python3 - "$work/body" <<'PY' || fail "venues list: $(cat "$work/body")"
import json, sys
v = json.load(open(sys.argv[1]))["venues"]
assert [(x["worker"], x["name"]) for x in v] == [(0, "xnas"), (1, "xnas"), (1, "bats")], v
x = v[0]
assert x["state"] == "active" and x["admin_down"] is False and x["next_seq"] == 101, x
assert x["orders"] == {"accepted": 30, "canceled": 0, "filled": 12, "rejected": 0}, x
assert v[2]["logins"] == 2 and v[2]["reconnects"] == 1, v[2]  # the matrix's connect
PY
ok
expect 200 POST /api/v1/venues/xnas/disconnect "$admin"
[ "$(jget '["workers"]')" = "[0, 1]" ] || fail "xnas is on both workers: $(cat "$work/body")"
[ "$(jget '["push_failed"]')" = "[]" ] || fail "xnas push failed: $(cat "$work/body")"
sleep 0.2
expect 200 GET /api/v1/venues "$trader"
python3 - "$work/body" <<'PY' || fail "venues after disconnect: $(cat "$work/body")"
import json, sys
v = json.load(open(sys.argv[1]))["venues"]
states = {(x["worker"], x["name"]): (x["state"], x["admin_down"]) for x in v}
assert states == {(0, "xnas"): ("closed", True), (1, "xnas"): ("closed", True),
                  (1, "bats"): ("active", False)}, states
PY
ok
expect 200 POST /api/v1/venues/xnas/connect "$admin"
expect 404 POST /api/v1/venues/nyse/disconnect "$admin"
[ "$(jget '["field"]')" = name ] || fail "unknown venue: field $(jget '.get("field")')"
expect 400 POST '/api/v1/venues/a%20b/connect' "$admin"
[ "$(jget '["field"]')" = name ] || fail "bad venue name: field $(jget '.get("field")')"
expect 405 GET /api/v1/venues/xnas/connect "$admin"
ok

# ---- PUT /risk/limits answers with the value it replaced (null when there was none) ----
lim='{"scope":"instrument","id":12,"kind":"max_order_qty","value":500}'
expect 200 PUT /api/v1/risk/limits "$admin" "$lim"
[ "$(jget '["previous"]')" = None ] || fail "previous of a new limit: $(cat "$work/body")"
expect 200 PUT /api/v1/risk/limits "$admin" '{"scope":"instrument","id":12,"kind":"max_order_qty","value":400,"enabled":false}'
[ "$(jget '["previous"]')" = "{'value': 500, 'enabled': True}" ] || fail "previous: $(cat "$work/body")"
expect 200 PUT /api/v1/risk/limits "$admin" "$lim"
[ "$(jget '["previous"]')" = "{'value': 400, 'enabled': False}" ] || fail "previous: $(cat "$work/body")"
[ "$(jget '["value"]')" = 500 ] || fail "value: $(cat "$work/body")"
[ "$(sql "SELECT details->'previous'->>'value' FROM audit_log WHERE action = 'risk_limit.set' ORDER BY id DESC LIMIT 1")" = 400 ] ||
	fail "previous not audited"
[ "$(sql "SELECT value || ',' || enabled FROM risk_limits WHERE scope = 'instrument' AND scope_id = 12 AND limit_kind = 'max_order_qty'")" = "500,true" ] ||
	fail "risk_limits row after three PUTs"
ok

# ---- bad requests name the field ----
badreq() { # badreq METHOD PATH BODY FIELD
	expect 400 "$1" "$2" "$admin" "$3"
	[ "$(jget '.get("field")')" = "$4" ] || fail "$1 $2 $3: field '$(jget '.get("field")')', expected '$4'"
}
badreq POST /api/v1/users '{"username":' ''
badreq POST /api/v1/users '[1,2]' ''
badreq POST /api/v1/users "{\"username\":\"x\",\"password\":\"$pw\",\"role\":\"boss\"}" role
badreq POST /api/v1/users "{\"username\":\"x\",\"password\":\"short\",\"role\":\"viewer\"}" password
badreq POST /api/v1/users "{\"username\":\"X Y\",\"password\":\"$pw\",\"role\":\"viewer\"}" username
badreq POST /api/v1/users "{\"username\":\"x\",\"password\":\"$pw\",\"role\":\"viewer\",\"admin\":true}" admin
badreq POST /api/v1/users '{"username":"x","username":"y"}' ''
badreq POST /api/v1/orders '{"account":3,"instrument":12,"venue":1,"side":"buy","price":1000000,"qty":"10"}' qty
badreq POST /api/v1/orders '{"account":3,"instrument":12,"venue":70000,"side":"buy","price":1,"qty":1}' venue
badreq POST /api/v1/orders '{"account":3,"instrument":12,"venue":1,"side":"up","price":1,"qty":1}' side
badreq POST /api/v1/orders '{"account":3,"instrument":12,"venue":1,"side":"buy","price":0,"qty":1}' price
badreq PUT /api/v1/risk/limits '{"scope":"firm","kind":"max_order_qty","value":-1}' value
badreq PUT /api/v1/risk/limits '{"scope":"desk","kind":"max_order_qty","value":1}' scope
badreq PUT /api/v1/risk/limits '{"scope":"firm","kind":"collar_bps","value":1}' kind
badreq PUT /api/v1/risk/limits '{"scope":"account","kind":"credit_limit","value":1}' id
badreq POST /api/v1/kill '{"scope":"firm"}' on
badreq POST /api/v1/kill '{"scope":"firm","on":"yes"}' on
badreq GET '/api/v1/orders?limit=0' '' limit
badreq GET '/api/v1/orders?status=lost' '' status
badreq POST /api/v1/auth/login '{"username":"root"}' password
expect 409 POST /api/v1/users "$admin" "{\"username\":\"trader\",\"password\":\"$pw\",\"role\":\"viewer\"}"
[ "$(jget '["field"]')" = username ] || fail "409 field"
expect 404 GET /api/v1/nothing "$admin"
expect 404 GET /api/v1/users/999999 "$admin"
expect 404 DELETE /api/v1/orders/999 "$trader"
# GET /orders/{id} reads an order's events from its born range (not late) and the order index
# (late): order 4343 was born at seq 20 with events up to 21 in its range, a late fill at 30; the
# not-late event at 25 of order 4344 lies in that range and is not 4343's.
sql "INSERT INTO orders (instance, worker, order_id, orig_order_id, venue_order_id, account_id,
	instrument_id, venue_id, strategy_id, side, price, qty, leaves, cum_qty, status, reason,
	created_ns, updated_ns, last_seq, born_seq, born_last_seq) VALUES ('$inst', 1, 4343, 0, 78, 3,
	12, 1, 0, 'B', 1000000, 100, 60, 40, 'partially_filled', 0, 1, 3, 30, 20, 21)"
sql "INSERT INTO order_events (instance, worker, seq, event_type, wall_ns, order_id, orig_order_id,
	venue_order_id, match_no, account_id, instrument_id, venue_id, strategy_id, side, ord_type, tif,
	price, qty, leaves, last_px, last_qty, liquidity, reason, late) VALUES
	('$inst', 1, 20, 'new', 1, 4343, 0, 0, 0, 3, 12, 1, 0, 'B', 0, 0, 1000000, 100, 100, 0, 0, 0, 0, false),
	('$inst', 1, 21, 'ack', 2, 4343, 0, 78, 0, 3, 12, 1, 0, 'B', 0, 0, 1000000, 100, 100, 0, 0, 0, 0, false),
	('$inst', 1, 25, 'new', 2, 4344, 0, 0, 0, 3, 12, 1, 0, 'B', 0, 0, 1000000, 100, 100, 0, 0, 0, 0, false),
	('$inst', 0, 21, 'new', 2, 4343, 0, 0, 0, 3, 12, 1, 0, 'B', 0, 0, 1000000, 100, 100, 0, 0, 0, 0, false),
	('$inst', 1, 30, 'fill', 3, 4343, 0, 78, 5, 3, 12, 1, 0, 'B', 0, 0, 1000000, 100, 60, 1000000, 40, 0, 0, true)"
expect 200 GET /api/v1/orders/4343 "$viewer"
[ "$(jget '["order_id"]') $(jget '["status"]')" = "4343 partially_filled" ] || fail "GET order 4343: $(cat "$work/body")"
[ "$(python3 -c 'import json,sys; print(",".join("%d:%s" % (e["seq"], e["event_type"]) for e in json.load(open(sys.argv[1]))["events"]))' "$work/body")" = \
	"20:new,21:ack,30:fill" ] || fail "GET order 4343's events: $(cat "$work/body")"
expect 405 PATCH /api/v1/orders "$admin"
root_id=$(sql "SELECT id FROM users WHERE username = 'root'")
expect 409 PUT /api/v1/users/"$root_id" "$admin" '{"role":"viewer"}'
expect 401 GET /api/v1/orders 'not.a.token'
expect 401 GET /api/v1/orders "key:tsk_000000000000_nope"
# A token signed with another key (alg HS256) and one with alg none.
forged=$(python3 -c '
import base64, hmac, hashlib, json, time
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
h = b(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
p = b(json.dumps({"sub": 1, "name": "root", "role": "admin", "typ": "access", "jti": "x", "exp": int(time.time()) + 600}).encode())
print(h + "." + p + "." + b(hmac.new(b"guess", (h + "." + p).encode(), hashlib.sha256).digest()))
print(b(json.dumps({"alg": "none", "typ": "JWT"}).encode()) + "." + p + ".")')
expect 401 GET /api/v1/users "$(sed -n 1p <<<"$forged")"
expect 401 GET /api/v1/users "$(sed -n 2p <<<"$forged")"

# ---- API keys ----
trader_id=$(sql "SELECT id FROM users WHERE username = 'trader'")
expect 400 POST /api/v1/users/"$trader_id"/api-keys "$admin" '{"role":"admin"}'
expect 201 POST /api/v1/users/"$trader_id"/api-keys "$admin" '{"role":"viewer"}'
key=$(jget '["key"]')
key_id=$(jget '["id"]')
# The secret is what follows "tsk_<12 hex>_" (it may itself hold '_', a LIKE wildcard: strpos).
secret=${key:17}
[ "${#secret}" -ge 16 ] || fail "API key '$key' has a short secret"
[ "$(sql "SELECT count(*) FROM api_keys WHERE strpos(key_hash, '$secret') > 0")" = 0 ] || fail "key stored in clear"
expect 200 GET /api/v1/orders "key:$key"
expect 403 POST /api/v1/orders "key:$key" '{"account":3,"instrument":12,"venue":1,"side":"buy","price":1,"qty":1}'
expect 204 DELETE /api/v1/api-keys/"$key_id" "$admin"
expect 401 GET /api/v1/orders "key:$key"

# ---- lockout: three failures lock the account, the right password then fails too ----
for _ in 1 2 3; do
	expect 401 POST /api/v1/auth/login - '{"username":"locky","password":"wrong-password-1"}'
done
expect 401 POST /api/v1/auth/login - "{\"username\":\"locky\",\"password\":\"$pw\"}"
grep -q "locked" "$work/body" || fail "lockout message: $(cat "$work/body")"
[ "$(sql "SELECT locked_until > now() FROM users WHERE username = 'locky'")" = t ] || fail "locked_until"
expect 401 POST /api/v1/auth/login - '{"username":"nosuchuser","password":"whatever-it-is"}'
[ "$(sql "SELECT count(*) FROM audit_log WHERE action = 'auth.login_failed' AND target = 'locky'")" -ge 4 ] ||
	fail "failed logins not audited"

# ---- TOTP ----
tot_id=$(sql "SELECT id FROM users WHERE username = 'tot'")
expect 201 POST /api/v1/users/"$tot_id"/totp "$admin"
secret=$(jget '["secret"]')
[ "$(sql "SELECT count(*) FROM audit_log WHERE details::text LIKE '%$secret%'")" = 0 ] || fail "TOTP secret audited"
expect 401 POST /api/v1/auth/login - "{\"username\":\"tot\",\"password\":\"$pw\"}"
[ "$(jget '["field"]')" = totp ] || fail "TOTP not asked for"
code6=$(python3 -c '
import base64, hmac, hashlib, struct, sys, time
k = base64.b32decode(sys.argv[1] + "=" * (-len(sys.argv[1]) % 8))
h = hmac.new(k, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
o = h[-1] & 15
print("%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000))' "$secret")
expect 401 POST /api/v1/auth/login - "{\"username\":\"tot\",\"password\":\"$pw\",\"totp\":\"000000\"}"
expect 200 POST /api/v1/auth/login - "{\"username\":\"tot\",\"password\":\"$pw\",\"totp\":\"$code6\"}"

# ---- token expiry and refresh rotation: a second server with access_ttl_s = 2 ----
read -r port2 < <(python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -e "s/^access_ttl_s = 60/access_ttl_s = 2/" -e "s/^listen = 127.0.0.1:$port/listen = 127.0.0.1:$port2/" \
	-e "/^\[metrics\]/,\$ s/^listen = .*/listen = 127.0.0.1:0/" "$work/cp.conf" >"$work/short.conf"
"$cp" serve --config "$work/short.conf" >"$work/srv2.out" 2>"$work/srv2.err" &
srv2=$!
for _ in $(seq 100); do
	curl -sf --cacert "$work/cert.pem" "https://127.0.0.1:$port2/api/v1/health" >/dev/null 2>&1 && break
	sleep 0.1
done
base1=$base base="https://127.0.0.1:$port2"
login viewer "$pw"
short=$tok r1=$rtok
expect 200 GET /api/v1/orders "$short"
sleep 3
expect 401 GET /api/v1/orders "$short"
grep -q expired "$work/body" || fail "expiry message: $(cat "$work/body")"
expect 200 POST /api/v1/auth/refresh - "{\"refresh_token\":\"$r1\"}"
fresh=$(jget '["access_token"]')
r2=$(jget '["refresh_token"]')
expect 200 GET /api/v1/orders "$fresh"
expect 401 POST /api/v1/auth/refresh - "{\"refresh_token\":\"$r1\"}"
expect 204 POST /api/v1/auth/logout - "{\"refresh_token\":\"$r2\"}"
expect 401 POST /api/v1/auth/refresh - "{\"refresh_token\":\"$r2\"}"
[ "$(sql "SELECT count(*) FROM refresh_tokens WHERE token_hash = '$r2'")" = 0 ] || fail "refresh token stored in clear"
kill -TERM "$srv2"
wait "$srv2" || fail "second server exit status"
base=$base1

# ---- per-token rate limit: 300 keep-alive requests in well under a second at 100/s ----
login trader "$pw"
urls=()
for _ in $(seq 300); do urls+=("$base/api/v1/status"); done
curl -s --cacert "$work/cert.pem" -H "Authorization: Bearer $tok" -o /dev/null \
	-w '%{http_code}\n' "${urls[@]}" >"$work/codes"
n429=$(grep -c '^429$' "$work/codes" || true)
n200=$(grep -c '^200$' "$work/codes" || true)
[ "$n429" -ge 50 ] && [ "$n200" -ge 100 ] || fail "rate limit: $n200 x 200, $n429 x 429"
ok

# ---- TLS: 1.2 and 1.3 only ----
curl -s --cacert "$work/cert.pem" --tlsv1.2 --tls-max 1.2 -o /dev/null "$base/api/v1/health" ||
	fail "TLS 1.2 refused"
curl -s --cacert "$work/cert.pem" --tlsv1.3 -o /dev/null "$base/api/v1/health" || fail "TLS 1.3 refused"
if openssl s_client -connect "127.0.0.1:$port" -tls1_1 </dev/null >"$work/s11" 2>&1; then
	grep -q "Protocol  *: TLSv1.1" "$work/s11" && fail "TLS 1.1 accepted"
fi
curl -s -o /dev/null "http://127.0.0.1:$port/api/v1/health" && fail "plain HTTP answered"
ok

# ---- a restarted dataplane: the API follows it, whether the old one crashed (its shm objects
# are reused in place) or stopped cleanly (they are made anew) ----
restart_fake() { # restart_fake SIGNAL OUT_FILE
	kill "-$1" "$fakepid"
	wait "$fakepid" 2>/dev/null || true
	"$fake" "$inst" "$2" >"$work/fake.out" 2>&1 &
	fakepid=$!
	for _ in $(seq 50); do grep -q ready "$work/fake.out" && break; sleep 0.1; done
	grep -q ready "$work/fake.out" || fail "fake dataplane restart: $(cat "$work/fake.out")"
}
expect 200 GET /api/v1/status "$admin"
[ "$(jget '["pid"]')" = "$fakepid" ] || fail "status pid $(jget '["pid"]'), expected $fakepid"
for sig in KILL TERM; do
	restart_fake "$sig" "$work/commands-$sig.txt"
	expect 200 GET /api/v1/status "$admin"
	[ "$(jget '["pid"]')" = "$fakepid" ] && [ "$(jget '["running"]')" = True ] ||
		fail "status after a $sig restart: $(cat "$work/body"), expected pid $fakepid"
	expect 200 GET /api/v1/ready -
	[ "$(jget '["dataplane_workers"]')" = 2 ] || fail "ready after a $sig restart: $(cat "$work/body")"
	# Every persisted limit and engaged kill switch is pushed to the new incarnation.
	want=(
		"^worker=0 .*type=1 scope=1 target=0 limit=7 value=500001$"
		"^worker=1 .*type=1 scope=1 target=0 limit=7 value=500000$"
		"^worker=0 .*type=1 scope=3 target=12 limit=1 value=500$"
		"^worker=1 .*type=1 scope=3 target=12 limit=1 value=500$"
		"^worker=0 .*type=2 scope=2 target=3 on=1 cancel_open=0$"
		"^worker=1 .*type=2 scope=2 target=3 on=1 cancel_open=0$"
	)
	for _ in $(seq 50); do
		[ "$(grep -c . "$work/commands-$sig.txt")" -ge "${#want[@]}" ] && break
		sleep 0.1
	done
	for re in "${want[@]}"; do
		grep -q "$re" "$work/commands-$sig.txt" ||
			fail "after a $sig restart, not pushed: $re: $(cat "$work/commands-$sig.txt")"
	done
	[ "$(grep -c . "$work/commands-$sig.txt")" = "${#want[@]}" ] ||
		fail "after a $sig restart, pushed: $(cat "$work/commands-$sig.txt")"
	grep -q "dataplane '$inst' pid $fakepid (2 workers): pushed 2 persisted limit(s) and 1 engaged kill switch(es)" \
		"$work/srv.err" || fail "push not logged: $(grep pushed "$work/srv.err")"
	ok
done

# ---- /metrics ----
curl -sf "http://127.0.0.1:$mport/metrics" >"$work/metrics.txt" || fail "scrape"
for m in 'tradsys_dataplane_up 1' 'tradsys_worker_packets_total{worker="1"} 501' \
	'tradsys_orders_sent_total{worker="0"} 7' 'tradsys_api_requests_total{code="403"}' \
	'tradsys_tick_to_trade_seconds_bucket{worker="0",le="+Inf"}' \
	'tradsys_worker_drops_total{worker="0",reason="malformed"} 0' \
	'tradsys_session_up{worker="1",venue="bats"} 1' \
	'tradsys_risk_rejects_total{worker="1",control="max_qty"} 5' \
	'tradsys_pnl_realized{worker="0",account="3"} 12.5000' \
	'tradsys_position{worker="0",account="3",venue="xnas",instrument="AAPL"} 200' \
	'tradsys_kill_switch_engaged{worker="0",scope="firm"} 0'; do
	grep -qF "$m" "$work/metrics.txt" || fail "metrics lack '$m'"
done
if command -v promtool >/dev/null; then
	promtool check metrics <"$work/metrics.txt" >"$work/promtool.out" 2>&1 ||
		fail "promtool: $(cat "$work/promtool.out")"
	[ -s "$work/promtool.out" ] && fail "promtool warnings: $(cat "$work/promtool.out")"
	ok
else
	echo "note: promtool not installed (scripts/bootstrap installs prometheus); check skipped"
fi

# ---- no secret in the log, clean stop ----
kill -TERM "$srv"
rc=0
wait "$srv" || rc=$?
srv=
[ "$rc" = 0 ] || fail "serve exited $rc after SIGTERM"
for s in "$admin_pw" "$pw" "$admin" "$r1" "$secret"; do
	grep -qF -- "$s" "$work/srv.err" "$work/srv.out" && fail "a secret is in the server log"
done
ok
echo "PASS ($checks checks, role matrix $cells cells)"
