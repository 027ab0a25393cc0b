#!/usr/bin/env bash
# Description: tradsys-exsim checked by an implementation no one here wrote. The venue runs in
# one network namespace and publishes ITCH over MoldUDP64 multicast across a veth pair with
# background flow; a scripted OUCH client (tests/integration/exsim_client.py) trades over
# SoupBinTCP from the other namespace and sends one MoldUDP64 re-request; tshark captures on the
# client's interface. Wireshark's moldudp64, soupbintcp and ouch dissectors then decode the
# capture: no malformed packets or error-level expert items; the MoldUDP64 sequence numbers and
# message counts on line A equal exsim's packets.csv; every OUCH message type, token and price the
# client saw is in the capture; the tokens and prices of Accepted/Executed messages equal exsim's
# orders.csv. Namespaces, veth and processes carry this run's pid and are removed on any exit.
# Usage: test_exsim_wireshark.sh TRADSYS_EXSIM   (exit 0 pass, 1 fail, 77 skip)
set -euo pipefail
exsim=$1
here=$(cd "$(dirname "$0")" && pwd)
id=$$
nsv="tsws-v$id"
nsc="tsws-c$id"
vv="wsv$id"
vc="wsc$id"
work=$(mktemp -d /tmp/tradsys-exsim-ws-XXXXXX)
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$nsv" 2>/dev/null || true
	ip netns del "$nsc" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	for f in exsim.err tshark.err client.out; do
		[ -s "$work/$f" ] && sed "s/^/  $f: /" "$work/$f" | tail -20
	done
	exit 1
}

command -v tshark >/dev/null || { echo "SKIP: tshark is not installed (scripts/bootstrap)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for network namespaces"; exit 77; }

ip netns add "$nsv"
ip netns add "$nsc"
ip link add "$vv" type veth peer name "$vc"
ip link set "$vv" netns "$nsv"
ip link set "$vc" netns "$nsc"
ip -n "$nsv" addr add 10.203.0.1/24 dev "$vv"
ip -n "$nsc" addr add 10.203.0.2/24 dev "$vc"
for ns in "$nsv" "$nsc"; do ip -n "$ns" link set lo up; done
ip -n "$nsv" link set "$vv" up
ip -n "$nsc" link set "$vc" up
ip -n "$nsv" route add 224.0.0.0/4 dev "$vv"

feed_port=31001
ouch_port=31002
req_port=31003
cat >"$work/exsim.conf" <<EOF
[venue]
name = wireshark
session = WSTEST0001
records = $work/rec
ready_file = $work/ready
max_orders = 100000
[itch]
line_a = 239.203.0.1:$feed_port
interface = 10.203.0.1
request_port = $req_port
heartbeat_ms = 200
[ouch]
listen = 10.203.0.1:$ouch_port
[session.alice]
password = wonderland
firm = ALIC
[session.bob]
password = builder123
firm = BOBF
[instrument.AAPL]
price = 150.00
tick = 0.01
[instrument.MSFT]
price = 300.00
tick = 0.01
[instrument.QUIET]
price = 150.00
tick = 0.01
flow = false
[flow]
mode = synthetic
rate = 2000
EOF

# A 64 MiB capture buffer: with the default 2 MiB, a capture starved of CPU by a loaded machine
# (the sanitizer build beside other tests) dropped packets exsim had sent. -P -l also prints
# each packet as it is captured, so the test sees the capture working before exsim starts:
# "Capturing on" alone came before packets were really taken (a sanitizer run missed the first
# hundred).
ip netns exec "$nsc" tshark -i "$vc" -B 64 -w "$work/cap.pcapng" -f "udp or tcp" -P -l \
	>"$work/tshark.out" 2>"$work/tshark.err" &
pids+=($!)
for _ in $(seq 100); do
	# A probe to the discard port, which none of the decodes below looks at.
	ip netns exec "$nsc" python3 -c 'import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"probe", ("10.203.0.1", 9))'
	[ -s "$work/tshark.out" ] && break
	sleep 0.1
done
[ -s "$work/tshark.out" ] || fail "tshark captured nothing of the probes: $(cat "$work/tshark.err")"

ip netns exec "$nsv" "$exsim" --config "$work/exsim.conf" >"$work/exsim.out" 2>"$work/exsim.err" &
exsim_pid=$!
pids+=("$exsim_pid")
for _ in $(seq 200); do [ -f "$work/ready" ] && break; sleep 0.05; done
[ -f "$work/ready" ] || fail "exsim did not become ready"

sleep 0.5
ip netns exec "$nsc" python3 "$here/exsim_client.py" 10.203.0.1 $ouch_port $req_port WSTEST0001 \
	>"$work/client.out" 2>&1 || fail "the OUCH client failed"
sleep 0.3
kill -TERM "$exsim_pid"
wait "$exsim_pid" || fail "exsim exited with status $?"
sleep 0.5
kill -INT "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
pids=()

decode=(-r "$work/cap.pcapng" -d "udp.port==$feed_port,moldudp64" -d "udp.port==$req_port,moldudp64"
	-d "tcp.port==$ouch_port,soupbintcp")

# 1. Nothing malformed, no error-level expert info.
bad=$(tshark "${decode[@]}" -Y '_ws.malformed || _ws.expert.severity >= "Error"' 2>/dev/null | wc -l)
[ "$bad" = 0 ] || { tshark "${decode[@]}" -Y '_ws.malformed || _ws.expert.severity >= "Error"' -V |
	head -60; fail "$bad malformed or error packets"; }

# 2. MoldUDP64: line A's (sequence, count) as Wireshark reads them = exsim's record of what it sent.
tshark "${decode[@]}" -Y "moldudp64 && udp.dstport==$feed_port" -T fields \
	-e moldudp64.sequence -e moldudp64.count 2>/dev/null | sort -n -k1,1 -k2,2 >"$work/ws_mold"
awk -F, 'NR > 1 && $2 == "A" && $6 == "sent" { print $3 "\t" $4 }' "$work/rec/packets.csv" |
	sort -n -k1,1 -k2,2 >"$work/ex_mold"
[ -s "$work/ex_mold" ] || fail "exsim recorded no packets"
n_ws=$(wc -l <"$work/ws_mold")
n_ex=$(wc -l <"$work/ex_mold")
[ "$n_ws" -gt 50 ] || fail "only $n_ws MoldUDP64 packets captured"
diff -q "$work/ws_mold" "$work/ex_mold" >/dev/null ||
	{ diff "$work/ws_mold" "$work/ex_mold" | head; tail -3 "$work/tshark.err"
	  fail "MoldUDP64 sequence/count differ ($n_ws vs $n_ex)"; }
# The last one is the end of session; data packets' counts add up to the messages sent.
tail -1 "$work/ws_mold" | grep -q $'\t65535$' || fail "no end-of-session packet (count 65535)"
msgs=$(awk -F'\t' '$2 != 65535 { s += $2 } END { print s }' "$work/ws_mold")
last=$(tail -1 "$work/ws_mold" | cut -f1)
[ "$msgs" = $((last - 1)) ] || fail "message counts add to $msgs, end of session at $last"

# 3. The re-request and its answer are MoldUDP64 to Wireshark too.
tshark "${decode[@]}" -Y "moldudp64 && udp.srcport==$req_port && udp.dstport!=$feed_port" -T fields \
	-e moldudp64.sequence -e moldudp64.count 2>/dev/null | grep -q $'^1\t5$' ||
	fail "the re-request answer (sequence 1, count 5) was not decoded"

# 4. OUCH: every message the client saw is in the capture with the same type, token and price.
# PDML keeps one <proto name="ouch"> per message, however many share a TCP segment.
tshark "${decode[@]}" -Y "ouch && tcp.srcport==$ouch_port" -T pdml 2>/dev/null | python3 -c '
import sys, xml.etree.ElementTree as ET
for proto in ET.parse(sys.stdin).iter("proto"):
    if proto.get("name") != "ouch":
        continue
    f = {x.get("name"): x.get("show") for x in proto.iter("field")}
    t = (f.get("ouch.packet_type") or "").strip("\x27")
    tok = (f.get("ouch.order_token") or f.get("ouch.replacement_order_token") or "").strip()
    px = f.get("ouch.price") or f.get("ouch.execution_price") or "0"
    if t != "S":
        print(t, tok, px)' | sort >"$work/ws_ouch"
awk '$1 != "rerequest" && $2 != "S" { print $2, $3, $4 }' "$work/client.out" | sort >"$work/cl_ouch"
[ "$(wc -l <"$work/cl_ouch")" -ge 18 ] || fail "the client saw too few OUCH messages"
diff -q "$work/ws_ouch" "$work/cl_ouch" >/dev/null ||
	{ diff "$work/ws_ouch" "$work/cl_ouch" | head -20; fail "OUCH messages differ from the client's"; }

# 5. ... and the venue's own records agree on tokens and prices of accepts and executions.
awk -F, 'NR > 1 && ($3 == "ACCEPTED" || $3 == "EXECUTED") {
	print ($3 == "ACCEPTED" ? "A" : "E"), $4, $7 }' "$work/rec/orders.csv" | sort >"$work/ex_ouch"
grep -E '^(A|E) ' "$work/ws_ouch" >"$work/ws_ae" || true
diff -q "$work/ws_ae" "$work/ex_ouch" >/dev/null ||
	{ diff "$work/ws_ae" "$work/ex_ouch" | head -20; fail "accepts/executions differ from orders.csv"; }

echo "ok: $n_ws MoldUDP64 packets ($msgs messages) and $(wc -l <"$work/ws_ouch") OUCH messages" \
	"decoded by Wireshark, equal to exsim's records"
