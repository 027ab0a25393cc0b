-- Market data history: trades and 1-second bars per instrument, partitioned by UTC day so old
-- days can be detached or dropped whole. market_data_add_day(day) makes a day's partitions (run
-- ahead of time by the control plane); rows of a day without one land in the default partition.

CREATE TABLE market_data_trades (
	instrument_id bigint NOT NULL,
	ts timestamptz NOT NULL,
	price bigint NOT NULL,
	qty bigint NOT NULL,
	side char(1), -- aggressor side when the venue says
	match_no bigint,
	venue_id integer NOT NULL
) PARTITION BY RANGE (ts);
CREATE INDEX market_data_trades_instrument_idx ON market_data_trades (instrument_id, ts);
CREATE TABLE market_data_trades_default PARTITION OF market_data_trades DEFAULT;

CREATE TABLE market_data_bars_1s (
	instrument_id bigint NOT NULL,
	ts timestamptz NOT NULL, -- start of the second
	open bigint NOT NULL,
	high bigint NOT NULL,
	low bigint NOT NULL,
	close bigint NOT NULL,
	volume bigint NOT NULL,
	trades integer NOT NULL,
	PRIMARY KEY (instrument_id, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE market_data_bars_1s_default PARTITION OF market_data_bars_1s DEFAULT;

CREATE FUNCTION market_data_add_day(day date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	suffix text := to_char(day, 'YYYYMMDD');
	lo timestamptz := day::timestamp AT TIME ZONE 'UTC';
	hi timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
	EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF market_data_trades '
		'FOR VALUES FROM (%L) TO (%L)', 'market_data_trades_' || suffix, lo, hi);
	EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF market_data_bars_1s '
		'FOR VALUES FROM (%L) TO (%L)', 'market_data_bars_1s_' || suffix, lo, hi);
END;
$$;
