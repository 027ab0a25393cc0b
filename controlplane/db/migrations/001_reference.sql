-- Reference data and access: who may use the appliance (users, API keys) and what it trades
-- (venues, instruments, accounts). Ids of venues, instruments and accounts are the dataplane's
-- dense indices, so the journal's numbers join these tables directly.

CREATE TABLE users (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	username text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9_.-]{1,64}$'),
	display_name text NOT NULL DEFAULT '',
	password_hash text NOT NULL, -- argon2id encoded string, never the password
	role text NOT NULL CHECK (role IN ('admin', 'risk', 'trader', 'viewer')),
	totp_secret text, -- NULL: no second factor enrolled
	disabled boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	key_prefix text NOT NULL UNIQUE, -- the public first characters that identify a key
	key_hash text NOT NULL, -- hash of the secret part; the secret is shown once, never stored
	role text NOT NULL CHECK (role IN ('admin', 'risk', 'trader', 'viewer')),
	expires_at timestamptz,
	revoked_at timestamptz,
	last_used_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

CREATE TABLE venues (
	id integer PRIMARY KEY CHECK (id >= 0 AND id < 65536),
	name text NOT NULL UNIQUE,
	mic text, -- ISO 10383 market identifier code
	protocol text NOT NULL, -- order entry protocol, e.g. 'ouch42'
	enabled boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE instruments (
	id bigint PRIMARY KEY CHECK (id >= 0 AND id < 4294967296),
	venue_id integer NOT NULL REFERENCES venues (id),
	symbol text NOT NULL,
	currency text NOT NULL CHECK (currency ~ '^[A-Z0-9]{3,8}$'),
	price_scale bigint NOT NULL CHECK (price_scale > 0), -- price units per currency unit
	qty_scale bigint NOT NULL DEFAULT 1 CHECK (qty_scale > 0),
	tick_size bigint NOT NULL DEFAULT 1 CHECK (tick_size > 0), -- in price units
	lot_size bigint NOT NULL DEFAULT 1 CHECK (lot_size > 0), -- in quantity units
	active boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (venue_id, symbol)
);

CREATE TABLE accounts (
	id bigint PRIMARY KEY CHECK (id >= 0 AND id < 4294967296),
	name text NOT NULL UNIQUE,
	currency text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z0-9]{3,8}$'),
	active boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now()
);
