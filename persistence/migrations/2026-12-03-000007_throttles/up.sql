-- Sign-in abuse limits shared by every instance on this database (API.md,
-- "Sign-in abuse"): one counter per rule and key over a fixed window that starts
-- at the first hit. The per-account lock of accounts is retired (auth.locked).

CREATE TABLE throttles (
    rule          TEXT NOT NULL CHECK (rule IN (
        'login_pair', 'login_account', 'login_address',
        'reset_account', 'reset_address', 'register_address')),
    -- An account id, `login:` and a login that names no account, an address, or
    -- an account key and an address separated by a space (login_pair).
    key           TEXT NOT NULL CHECK (char_length(key) BETWEEN 1 AND 200),
    window_start  TIMESTAMPTZ NOT NULL,
    hits          INTEGER NOT NULL CHECK (hits > 0),
    blocked_until TIMESTAMPTZ NULL,
    -- When the row no longer decides anything (end of window or of block).
    expires_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (rule, key)
);
CREATE INDEX throttles_expires_at_idx ON throttles (expires_at);

ALTER TABLE accounts DROP COLUMN failed_logins, DROP COLUMN locked_until;

ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN (
    'password_reset', 'verification_result', 'application_status', 'sign_in_throttled'));
