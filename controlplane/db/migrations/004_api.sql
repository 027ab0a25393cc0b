-- The admin API's state: login failures and lockout per user, refresh tokens (stored as SHA-256
-- of the token, never the token), the kill switches operators set (so they are on record and can
-- be pushed again to a restarted dataplane) and the ids of the commands the API writes into the
-- workers' command rings (unique across control plane restarts, as the acks in the journal need).

ALTER TABLE users
	ADD COLUMN failed_logins integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
	ADD COLUMN locked_until timestamptz, -- NULL or past: not locked
	ADD COLUMN last_login_at timestamptz;

CREATE TABLE refresh_tokens (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	token_hash text NOT NULL UNIQUE, -- SHA-256 of the token, lowercase hex
	expires_at timestamptz NOT NULL,
	revoked_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	source_ip inet
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE kill_switches (
	scope text NOT NULL CHECK (scope IN ('firm', 'account', 'instrument')),
	scope_id bigint NOT NULL DEFAULT 0, -- account or instrument id; 0 for the firm
	active boolean NOT NULL,
	updated_by bigint REFERENCES users (id) ON DELETE SET NULL,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (scope, scope_id)
);

-- Command ids (struct shm_command.id) and manual orders' client order ids.
CREATE SEQUENCE api_command_ids;
CREATE SEQUENCE api_client_order_ids;

CREATE INDEX orders_status_idx ON orders (status, updated_ns);

-- audit_log keeps the actor's name when a user is deleted (its comment says so), and a limit
-- keeps its value when the user who set it goes: both references become NULL instead of
-- refusing the delete.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_user_id_fkey,
	ADD CONSTRAINT audit_log_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id)
		ON DELETE SET NULL;
ALTER TABLE risk_limits DROP CONSTRAINT risk_limits_updated_by_fkey,
	ADD CONSTRAINT risk_limits_updated_by_fkey FOREIGN KEY (updated_by) REFERENCES users (id)
		ON DELETE SET NULL;
