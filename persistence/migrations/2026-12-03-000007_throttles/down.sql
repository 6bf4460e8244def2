DELETE FROM outbox WHERE kind = 'sign_in_throttled';
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN (
    'password_reset', 'verification_result', 'application_status'));

ALTER TABLE accounts
    ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    ADD COLUMN locked_until TIMESTAMPTZ NULL;

DROP TABLE throttles;
