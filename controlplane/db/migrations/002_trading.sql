-- The trading record: what the persister copies from the workers' journals (order_events, fills,
-- risk_events, session_events, command_results, journal_unknown), the per-worker checkpoint it
-- moves in the same transaction, the current state derived from it (orders, positions, balances)
-- and what operators configure and do (risk_limits, audit_log).
--
-- Journal rows are keyed by (instance, worker, seq): one appliance's worker numbers its records
-- 1, 2, 3, ... so the key also proves that nothing was loaded twice. 64-bit unsigned ids from the
-- journal (order ids, venue order ids, match numbers) are stored in bigint with the same 64 bits.
-- Instance names compare bytewise (COLLATE "C"): they are ASCII identifiers, and a locale-aware
-- comparison in every key of every row costs the persister a good part of its insert rate.
-- Journal tables carry no foreign keys: the journal is the truth, and a record that names an
-- instrument the reference tables do not know yet must still be stored.

CREATE TYPE order_event_type AS ENUM ('new', 'ack', 'reject', 'fill', 'cancel', 'replace');
CREATE TYPE order_status AS ENUM ('pending_new', 'open', 'partially_filled', 'filled',
	'canceled', 'rejected', 'replaced');

CREATE TABLE journal_checkpoints (
	instance text COLLATE "C" NOT NULL,
	worker integer NOT NULL CHECK (worker >= 0),
	last_seq bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0), -- last seq committed
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (instance, worker)
);

CREATE TABLE order_events (
	instance text COLLATE "C" NOT NULL,
	worker integer NOT NULL,
	seq bigint NOT NULL,
	event_type order_event_type NOT NULL,
	wall_ns bigint NOT NULL, -- when the worker wrote it, ns since the epoch
	event_time timestamptz GENERATED ALWAYS AS (to_timestamp(wall_ns::float8 / 1e9)) STORED,
	order_id bigint NOT NULL,
	orig_order_id bigint NOT NULL, -- replace: the order replaced
	venue_order_id bigint NOT NULL,
	match_no bigint NOT NULL,
	account_id bigint NOT NULL,
	instrument_id bigint NOT NULL,
	venue_id integer NOT NULL,
	strategy_id integer NOT NULL,
	side char(1) NOT NULL, -- B, S, T (short), E (short exempt)
	ord_type smallint NOT NULL,
	tif smallint NOT NULL,
	price bigint NOT NULL,
	qty bigint NOT NULL,
	leaves bigint NOT NULL,
	last_px bigint NOT NULL,
	last_qty bigint NOT NULL,
	liquidity smallint NOT NULL,
	reason integer NOT NULL,
	PRIMARY KEY (instance, worker, seq)
);
CREATE INDEX order_events_order_idx ON order_events (instance, worker, order_id);
CREATE INDEX order_events_time_idx ON order_events USING brin (wall_ns);

CREATE TABLE fills (
	instance text COLLATE "C" NOT NULL,
	worker integer NOT NULL,
	seq bigint NOT NULL, -- of the fill's order event
	wall_ns bigint NOT NULL,
	order_id bigint NOT NULL,
	venue_order_id bigint NOT NULL,
	match_no bigint NOT NULL,
	account_id bigint NOT NULL,
	instrument_id bigint NOT NULL,
	venue_id integer NOT NULL,
	side char(1) NOT NULL,
	price bigint NOT NULL,
	qty bigint NOT NULL,
	liquidity smallint NOT NULL,
	PRIMARY KEY (instance, worker, seq)
);
CREATE INDEX fills_account_instrument_idx ON fills (account_id, instrument_id);
CREATE INDEX fills_time_idx ON fills USING brin (wall_ns);

CREATE TABLE risk_events (
	instance text COLLATE "C" NOT NULL,
	worker integer NOT NULL,
	seq bigint NOT NULL,
	wall_ns bigint NOT NULL,
	order_id bigint NOT NULL,
	control integer NOT NULL, -- the risk module's reason code
	action smallint NOT NULL, -- 1 rejected, 2 kill switch, 3 warned
	account_id bigint NOT NULL,
	instrument_id bigint NOT NULL,
	side char(1) NOT NULL,
	price bigint NOT NULL,
	qty bigint NOT NULL,
	limit_value bigint NOT NULL,
	observed_value bigint NOT NULL,
	PRIMARY KEY (instance, worker, seq)
);
CREATE INDEX risk_events_time_idx ON risk_events USING brin (wall_ns);

CREATE TABLE session_events (
	instance text COLLATE "C" NOT NULL,
	worker integer NOT NULL,
	seq bigint NOT NULL,
	wall_ns bigint NOT NULL,
	venue_id integer NOT NULL,
	kind smallint NOT NULL, -- login, logout, disconnect, reconnect, login rejected, gap
	error integer NOT NULL,
	session text NOT NULL,
	in_seq bigint NOT NULL,
	out_seq bigint NOT NULL,
	detail text NOT NULL,
	PRIMARY KEY (instance, worker, seq)
);

CREATE TABLE command_results (
	instance text COLLATE "C" NOT NULL,
	worker integer NOT NULL,
	seq bigint NOT NULL,
	wall_ns bigint NOT NULL,
	command_id bigint NOT NULL,
	command_type smallint NOT NULL,
	result integer NOT NULL, -- 0 or -errno
	detail text NOT NULL,
	PRIMARY KEY (instance, worker, seq)
);
CREATE INDEX command_results_command_idx ON command_results (instance, worker, command_id);

CREATE TABLE journal_unknown (
	instance text COLLATE "C" NOT NULL,
	worker integer NOT NULL,
	seq bigint NOT NULL,
	wall_ns bigint NOT NULL,
	type integer NOT NULL,
	version integer NOT NULL,
	payload bytea NOT NULL,
	PRIMARY KEY (instance, worker, seq)
);

-- Current order state, upserted by the persister from each batch of order events.
CREATE TABLE orders (
	instance text COLLATE "C" NOT NULL,
	worker integer NOT NULL,
	order_id bigint NOT NULL,
	orig_order_id bigint NOT NULL,
	venue_order_id bigint NOT NULL,
	account_id bigint NOT NULL,
	instrument_id bigint NOT NULL,
	venue_id integer NOT NULL,
	strategy_id integer NOT NULL,
	side char(1) NOT NULL,
	price bigint NOT NULL,
	qty bigint NOT NULL,
	leaves bigint NOT NULL,
	cum_qty bigint NOT NULL,
	status order_status NOT NULL,
	reason integer NOT NULL,
	created_ns bigint NOT NULL,
	updated_ns bigint NOT NULL,
	last_seq bigint NOT NULL, -- the order event it reflects
	PRIMARY KEY (instance, worker, order_id)
);
CREATE INDEX orders_account_idx ON orders (account_id, status);

CREATE TABLE positions (
	account_id bigint NOT NULL,
	instrument_id bigint NOT NULL,
	qty bigint NOT NULL DEFAULT 0, -- signed: long > 0
	avg_price bigint NOT NULL DEFAULT 0, -- in the instrument's price scale
	realized_pnl bigint NOT NULL DEFAULT 0,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (account_id, instrument_id)
);

CREATE TABLE balances (
	account_id bigint NOT NULL,
	currency text NOT NULL CHECK (currency ~ '^[A-Z0-9]{3,8}$'),
	amount numeric(38, 8) NOT NULL DEFAULT 0,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (account_id, currency)
);

CREATE TABLE risk_limits (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	scope text NOT NULL CHECK (scope IN ('firm', 'account', 'instrument')),
	scope_id bigint NOT NULL DEFAULT 0, -- account or instrument id; 0 for the firm
	limit_kind text NOT NULL, -- e.g. max_order_qty, max_notional, max_position
	value bigint NOT NULL,
	enabled boolean NOT NULL DEFAULT true,
	updated_by bigint REFERENCES users (id),
	updated_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (scope, scope_id, limit_kind)
);

CREATE TABLE audit_log (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at timestamptz NOT NULL DEFAULT now(),
	user_id bigint REFERENCES users (id),
	actor text NOT NULL, -- user name or api key prefix, kept if the user is deleted
	action text NOT NULL, -- e.g. 'risk_limit.set', 'kill_switch.on', 'user.create'
	target text NOT NULL DEFAULT '',
	details jsonb NOT NULL DEFAULT '{}',
	source_ip inet
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_user_idx ON audit_log (user_id, at);
