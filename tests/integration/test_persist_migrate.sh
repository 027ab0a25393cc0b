#!/usr/bin/env bash
# Description: `tradsys-controlplane migrate` on an empty database creates every table of the
# schema (checked by name) and records each migration; a second run applies nothing; an applied
# migration edited afterwards is refused with a message naming it; a new migration in a directory
# is applied alone; a failing migration names its line and leaves nothing behind; a database that
# has a migration this build does not know is refused; a badly named file is refused; day
# partitions of market data are made by market_data_add_day and receive their day's rows.
# From the previous version (migrations up to 004, with fills a table holding rows): 005 turns
# fills into a view of the fill order events that returns the same rows, and refuses (changing
# nothing) while a fills row has no equal fill event. 007 (applied to both databases) keys
# order_events by (seq, worker, instance) and drops its event_time column. 008 makes the order
# index partial (WHERE late), and the rows loaded before it stay in it and are found through it.
# Usage: pg-test test_persist_migrate.sh TRADSYS_CONTROLPLANE MIGRATIONS_DIR   (0 pass, 1 fail, 77 skip)
set -euo pipefail
cp=$1 src=$2
if [ -z "${TRADSYS_TEST_DATABASE:-}" ]; then
	echo "SKIP: run under tests/scripts/pg-test"
	exit 77
fi
db=$TRADSYS_TEST_DATABASE
work=$(mktemp -d /tmp/tradsys-migrate-test-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$work/out" ] && sed 's/^/  output: /' "$work/out"
	exit 1
}
sql() { psql -X -Atq -v ON_ERROR_STOP=1 -c "$1"; }
# expect STATUS TEXT ARGS...: runs migrate with ARGS, checks its status and that TEXT is in its output.
expect() {
	local want=$1 text=$2 got=0
	shift 2
	"$cp" migrate --database "$db" "$@" >"$work/out" 2>&1 || got=$?
	[ "$got" = "$want" ] || fail "migrate $*: status $got, expected $want"
	grep -qF -- "$text" "$work/out" || fail "migrate $*: no '$text' in the output"
}

expect 0 "8 migrations applied now"
for t in users api_keys venues instruments accounts orders order_events positions balances \
	risk_limits market_data_trades market_data_bars_1s audit_log journal_checkpoints \
	risk_events session_events command_results journal_unknown schema_migrations; do
	[ "$(sql "SELECT count(*) FROM pg_class WHERE relname = '$t' AND relkind IN ('r', 'p')")" = 1 ] ||
		fail "table $t missing"
done
[ "$(sql "SELECT count(*) FROM pg_class WHERE relname = 'fills' AND relkind = 'v'")" = 1 ] ||
	fail "view fills missing"
[ "$(sql "SELECT string_agg(name, ',' ORDER BY version) FROM schema_migrations")" = \
	"001_reference,002_trading,003_market_data,004_api,005_fills_view,006_journal_keys,007_order_events_load,008_order_events_by_order" ] || fail "schema_migrations rows"
[ "$(sql "SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
	WHERE c.relname IN ('market_data_trades', 'market_data_bars_1s')")" = 2 ] || fail "market data not partitioned"
[ "$(sql "SELECT count(*) FROM pg_indexes WHERE tablename = 'order_events'")" -ge 3 ] || fail "order_events indexes"
[ "$(sql "SELECT string_agg(indexdef, ';' ORDER BY indexname) FROM pg_indexes
	WHERE indexname IN ('order_events_pkey', 'order_events_order_idx', 'orders_pkey')")" = \
	"CREATE INDEX order_events_order_idx ON public.order_events USING btree (order_id, worker) WHERE late;CREATE UNIQUE INDEX order_events_pkey ON public.order_events USING btree (seq, worker, instance);CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (order_id, worker, instance)" ] ||
	fail "journal keys: $(sql "SELECT string_agg(indexdef, ';') FROM pg_indexes WHERE tablename IN ('orders', 'order_events')")"

[ "$(sql "SELECT count(*) FROM information_schema.columns
	WHERE table_name = 'order_events' AND column_name = 'event_time'")" = 0 ] || fail "007: event_time still there"

expect 0 "0 migrations applied now"

cp -r "$src" "$work/m"
echo "-- an afterthought" >>"$work/m/002_trading.sql"
expect 1 "migration 002_trading was applied as 002_trading with checksum" --migrations "$work/m"
grep -qF "an applied migration must not be edited" "$work/out" || fail "edit message"
cp "$src/002_trading.sql" "$work/m/002_trading.sql"

printf 'CREATE TABLE extra_one (id int);\n' >"$work/m/009_extra.sql"
expect 0 "1 migration applied now" --migrations "$work/m"
grep -qF "applied migration 009_extra" "$work/out" || fail "009 not named"

printf -- '-- comment\nCREATE TABLE extra_two (id int);\nCREATE TABLE extra_bad (id nosuchtype);\n' \
	>"$work/m/010_broken.sql"
expect 1 "migration 010_broken: line 3: type \"nosuchtype\" does not exist" --migrations "$work/m"
[ "$(sql "SELECT count(*) FROM pg_class WHERE relname = 'extra_two'")" = 0 ] ||
	fail "a failed migration left its first table"
[ "$(sql "SELECT count(*) FROM schema_migrations WHERE version = 10")" = 0 ] || fail "010 recorded"
rm "$work/m/010_broken.sql"

touch "$work/m/6-bad-name.sql"
expect 1 "a migration must be named NNN_name.sql" --migrations "$work/m"
rm "$work/m/6-bad-name.sql"

expect 1 "the database has migration 009_extra (version 9) that this build does not know"

sql "SELECT market_data_add_day('2024-03-05')" >/dev/null
sql "INSERT INTO market_data_trades (instrument_id, ts, price, qty, venue_id)
	VALUES (1, '2024-03-05 12:00:00+00', 100, 5, 1), (1, '2024-03-06 00:00:00+00', 101, 6, 1)"
[ "$(sql "SELECT count(*) FROM market_data_trades_20240305")" = 1 ] || fail "day partition"
[ "$(sql "SELECT count(*) FROM market_data_trades_default")" = 1 ] || fail "default partition"

# From the previous version: a database at 004 with fills rows, as the persister wrote them.
sql "CREATE DATABASE tradsys_prev" >/dev/null
prev=${db/\/tradsys\?//tradsys_prev?}
mkdir "$work/prev"
cp "$src"/00[1-4]_*.sql "$work/prev/"
"$cp" migrate --database "$prev" --migrations "$work/prev" >"$work/out" 2>&1 || fail "migrate to 004"
psql -X -Atq -v ON_ERROR_STOP=1 -d "$prev" -c "
	INSERT INTO order_events (instance, worker, seq, event_type, wall_ns, order_id, orig_order_id,
		venue_order_id, match_no, account_id, instrument_id, venue_id, strategy_id, side, ord_type,
		tif, price, qty, leaves, last_px, last_qty, liquidity, reason)
	SELECT 'p', 0, s, (CASE WHEN s % 2 = 0 THEN 'fill' ELSE 'ack' END)::order_event_type,
		1700000000000000000 + s, s / 2, 0, 77, s, 3, 12, 1, 0, 'B', 0, 0, 1000, 100, 50, 999, s, 65, 0
	FROM generate_series(1, 20) s;
	INSERT INTO fills SELECT instance, worker, seq, wall_ns, order_id, venue_order_id, match_no,
		account_id, instrument_id, venue_id, side, last_px, last_qty, liquidity
	FROM order_events WHERE event_type = 'fill';
	INSERT INTO fills VALUES ('p', 0, 99, 1, 1, 1, 1, 1, 1, 1, 'B', 1, 1, 0)" ||
	fail "loading the 004 database"
psql -X -Atq -d "$prev" -c "COPY (SELECT * FROM fills WHERE seq < 99 ORDER BY seq) TO STDOUT" >"$work/fills_004"
[ "$(wc -l <"$work/fills_004")" = 10 ] || fail "10 fills at 004"
"$cp" migrate --database "$prev" >"$work/out" 2>&1 && fail "005 took a fills row without its event"
grep -qF "1 fills rows have no equal fill in order_events" "$work/out" || fail "005 refusal message"
[ "$(psql -X -Atq -d "$prev" -c "SELECT count(*) FROM fills")" = 11 ] || fail "a refused 005 changed fills"
psql -X -Atq -d "$prev" -c "DELETE FROM fills WHERE seq = 99"
"$cp" migrate --database "$prev" >"$work/out" 2>&1 || fail "migrate 004 -> 005"
grep -qF "applied migration 005_fills_view" "$work/out" || fail "005 not applied to the 004 database"
grep -qF "applied migration 008_order_events_by_order" "$work/out" || fail "008 not applied to the 004 database"
# 008: the rows loaded before it stay in the order index (late), and it still finds them.
[ "$(psql -X -Atq -d "$prev" -c "SELECT count(*) FILTER (WHERE late) || ' ' || count(*) FROM order_events")" = "20 20" ] ||
	fail "008: rows loaded before it are not all late"
psql -X -Atq -d "$prev" -c "SET enable_seqscan = off; EXPLAIN SELECT seq FROM order_events
	WHERE late AND order_id = 3 AND worker = 0" | grep -q "order_events_order_idx" ||
	fail "008: the order index does not serve a late lookup"
[ "$(psql -X -Atq -d "$prev" -c "SET enable_seqscan = off; SELECT string_agg(seq::text, ',' ORDER BY seq)
	FROM order_events WHERE late AND order_id = 3 AND worker = 0")" = "6,7" ] || fail "008: order 3's events"
psql -X -Atq -d "$prev" -c "COPY (SELECT * FROM fills ORDER BY seq) TO STDOUT" >"$work/fills_005"
cmp -s "$work/fills_004" "$work/fills_005" || fail "fills differ after 005: $(diff "$work/fills_004" "$work/fills_005" | head -n 4)"

"$cp" migrate >"$work/out" 2>&1 && fail "migrate without --database succeeded"
grep -qF "usage: tradsys-controlplane migrate --database URL" "$work/out" || fail "usage"
echo "PASS"
