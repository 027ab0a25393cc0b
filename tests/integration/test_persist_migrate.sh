#!/usr/bin/env bash
# Description: `tradsys-controlplane migrate` on an empty database creates every table of the
# schema (checked by name) and records each migration; a second run applies nothing; an applied
# migration edited afterwards is refused with a message naming it; a new migration in a directory
# is applied alone; a failing migration names its line and leaves nothing behind; a database that
# has a migration this build does not know is refused; a badly named file is refused; day
# partitions of market data are made by market_data_add_day and receive their day's rows.
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

expect 0 "4 migrations applied now"
for t in users api_keys venues instruments accounts orders order_events fills positions balances \
	risk_limits market_data_trades market_data_bars_1s audit_log journal_checkpoints \
	risk_events session_events command_results journal_unknown schema_migrations; do
	[ "$(sql "SELECT count(*) FROM pg_class WHERE relname = '$t' AND relkind IN ('r', 'p')")" = 1 ] ||
		fail "table $t missing"
done
[ "$(sql "SELECT string_agg(name, ',' ORDER BY version) FROM schema_migrations")" = \
	"001_reference,002_trading,003_market_data,004_api" ] || fail "schema_migrations rows"
[ "$(sql "SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
	WHERE c.relname IN ('market_data_trades', 'market_data_bars_1s')")" = 2 ] || fail "market data not partitioned"
[ "$(sql "SELECT count(*) FROM pg_indexes WHERE tablename = 'order_events'")" -ge 3 ] || fail "order_events indexes"

expect 0 "0 migrations applied now"

cp -r "$src" "$work/m"
echo "-- an afterthought" >>"$work/m/002_trading.sql"
expect 1 "migration 002_trading was applied as 002_trading with checksum" --migrations "$work/m"
grep -qF "an applied migration must not be edited" "$work/out" || fail "edit message"
cp "$src/002_trading.sql" "$work/m/002_trading.sql"

printf 'CREATE TABLE extra_one (id int);\n' >"$work/m/005_extra.sql"
expect 0 "1 migration applied now" --migrations "$work/m"
grep -qF "applied migration 005_extra" "$work/out" || fail "004 not named"

printf -- '-- comment\nCREATE TABLE extra_two (id int);\nCREATE TABLE extra_bad (id nosuchtype);\n' \
	>"$work/m/006_broken.sql"
expect 1 "migration 006_broken: line 3: type \"nosuchtype\" does not exist" --migrations "$work/m"
[ "$(sql "SELECT count(*) FROM pg_class WHERE relname = 'extra_two'")" = 0 ] ||
	fail "a failed migration left its first table"
[ "$(sql "SELECT count(*) FROM schema_migrations WHERE version = 6")" = 0 ] || fail "005 recorded"
rm "$work/m/006_broken.sql"

touch "$work/m/6-bad-name.sql"
expect 1 "a migration must be named NNN_name.sql" --migrations "$work/m"
rm "$work/m/6-bad-name.sql"

expect 1 "the database has migration 005_extra (version 5) that this build does not know"

sql "SELECT market_data_add_day('2024-03-05')" >/dev/null
sql "INSERT INTO market_data_trades (instrument_id, ts, price, qty, venue_id)
	VALUES (1, '2024-03-05 12:00:00+00', 100, 5, 1), (1, '2024-03-06 00:00:00+00', 101, 6, 1)"
[ "$(sql "SELECT count(*) FROM market_data_trades_20240305")" = 1 ] || fail "day partition"
[ "$(sql "SELECT count(*) FROM market_data_trades_default")" = 1 ] || fail "default partition"

"$cp" migrate >"$work/out" 2>&1 && fail "migrate without --database succeeded"
grep -qF "usage: tradsys-controlplane migrate --database URL" "$work/out" || fail "usage"
echo "PASS"
