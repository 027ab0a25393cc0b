#!/usr/bin/env bash
# Description: tradsys-itch end to end on real files. gen is deterministic (same seed, same bytes;
# another seed, other bytes); a generated day applies to the books with no refusal; stats on the
# Nasdaq sample gives its documented counts; pcap wraps every message into contiguous MoldUDP64
# packets whose blocks equal the file's messages.
# Usage: test_itch_tool.sh TRADSYS_ITCH   (exit 0 pass, 1 fail, 77 skip)
set -euo pipefail
tool=$1
work=$(mktemp -d /tmp/tradsys-itch-test-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$tool" gen --messages 300000 --symbols 50 --seed 11 -o "$work/a.itch"
"$tool" gen --messages 300000 --symbols 50 --seed 11 -o "$work/b.itch"
"$tool" gen --messages 300000 --symbols 50 --seed 12 -o "$work/c.itch"
cmp -s "$work/a.itch" "$work/b.itch" || fail "same seed gave different files"
cmp -s "$work/a.itch" "$work/c.itch" && fail "different seeds gave the same file"

"$tool" stats "$work/a.itch" >"$work/a.stats"
grep -qx "messages 300000" "$work/a.stats" || fail "message count: $(grep messages "$work/a.stats")"
grep -qx "symbols 50" "$work/a.stats" || fail "symbols"
grep -qx "book_refused unknown_ref 0 dup_ref 0 pool_full 0 over_execute 0 bad_order 0" \
	"$work/a.stats" || fail "books refused messages: $(grep book_refused "$work/a.stats")"
for e in empty unknown_type bad_length truncated; do
	grep -qx "error $e 0" "$work/a.stats" || fail "decoder error $e"
done
"$tool" stats "$work/b.itch" | sed 1d >"$work/b.stats"
sed 1d "$work/a.stats" | cmp -s - "$work/b.stats" || fail "stats not stable across runs"
"$tool" stats --json "$work/a.itch" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["messages"]==300000 and d["symbols"]==50, d["messages"]' || fail "json"

sample="${TRADSYS_SOURCE_ROOT:-.}/../shared/data/itch/nasdaq-sample-1000.itch"
if [ -f "$sample" ]; then
	"$tool" stats "$sample" >"$work/s.stats"
	for want in "messages 1000" "type S system_event 1" "type R stock_directory 993" \
		"type H trading_action 3" "type Y reg_sho 3" "symbols 993"; do
		grep -qx "$want" "$work/s.stats" || fail "sample: missing '$want'"
	done
fi

# A truncated file: counted, not a crash.
head -c 1000 "$work/a.itch" >"$work/t.itch"
"$tool" stats "$work/t.itch" | grep -qx "error truncated 1" || fail "truncated tail not counted"

"$tool" pcap "$work/a.itch" -o "$work/a.pcap" --group 239.9.9.9 --port 30001 2>/dev/null
python3 - "$work/a.itch" "$work/a.pcap" <<'PY'
import struct, sys
itch = open(sys.argv[1], 'rb').read()
msgs, o = [], 0
while o < len(itch):
    (l,) = struct.unpack_from('>H', itch, o); msgs.append(itch[o + 2:o + 2 + l]); o += 2 + l
pcap = open(sys.argv[2], 'rb').read()
assert struct.unpack_from('<I', pcap, 0)[0] == 0xa1b2c3d4, 'magic'
o, expect, got = 24, 1, []
frames = 0
while o < len(pcap):
    _, _, incl, _ = struct.unpack_from('<IIII', pcap, o); o += 16
    frame = pcap[o:o + incl]; o += incl; frames += 1
    assert frame[12:14] == b'\x08\x00' and frame[23] == 17, 'IPv4/UDP'
    assert frame[30:34] == bytes([239, 9, 9, 9]), 'group'
    assert struct.unpack_from('>H', frame, 36)[0] == 30001, 'port'
    mold = frame[42:]
    assert len(mold) <= 1400
    seq, cnt = struct.unpack_from('>QH', mold, 10)
    assert seq == expect, (seq, expect)
    p = 20
    for _ in range(cnt):
        (l,) = struct.unpack_from('>H', mold, p); got.append(mold[p + 2:p + 2 + l]); p += 2 + l
    assert p == len(mold), 'trailing bytes'
    expect += cnt
assert got == msgs, 'messages differ'
print('pcap ok: %d frames, %d messages' % (frames, len(got)))
PY
echo "PASS"
