-- Schools: staff and candidates belong to one (R19).
CREATE TABLE schools (
    code       TEXT PRIMARY KEY CHECK (code ~ '^[A-Z0-9]{1,10}$'),
    name       TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every account: candidates (R1), school staff, admins and integration
-- service accounts. Uniqueness of logins is decided here, not by a SELECT.
CREATE TABLE accounts (
    id                   UUID PRIMARY KEY,
    role                 TEXT NOT NULL CHECK (role IN ('candidate', 'staff', 'admin', 'integration')),
    exam_number          TEXT NULL CHECK (exam_number ~ '^[0-9]{12}$'),
    id_number            TEXT NULL CHECK (id_number ~ '^[0-9]{17}[0-9X]$'),
    username             TEXT NULL CHECK (username ~ '^[a-z][a-z0-9._-]{2,31}$'),
    name                 TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    phone                TEXT NULL CHECK (phone ~ '^1[3-9][0-9]{9}$'),
    major_code           TEXT NULL CHECK (major_code ~ '^[A-Za-z0-9]{1,10}$'),
    school_code          TEXT NULL REFERENCES schools (code),
    password_hash        TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT false,
    scopes               TEXT[] NOT NULL DEFAULT '{}'
        CHECK (scopes <@ ARRAY['verification:write', 'outbox:read', 'applications:read']::TEXT[]),
    failed_logins        INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until         TIMESTAMPTZ NULL,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT candidate_has_identity CHECK (
        role <> 'candidate' OR (exam_number IS NOT NULL AND id_number IS NOT NULL AND major_code IS NOT NULL)),
    CONSTRAINT others_have_username CHECK (role = 'candidate' OR username IS NOT NULL),
    CONSTRAINT staff_has_school CHECK (role <> 'staff' OR school_code IS NOT NULL),
    CONSTRAINT only_integration_has_scopes CHECK (role = 'integration' OR scopes = '{}')
);
CREATE UNIQUE INDEX accounts_exam_number_key ON accounts (exam_number);
CREATE UNIQUE INDEX accounts_id_number_key ON accounts (id_number);
CREATE UNIQUE INDEX accounts_username_key ON accounts (username);
CREATE INDEX accounts_school_code_idx ON accounts (school_code);

-- Refresh tokens: only their SHA-256 is stored. They rotate on every use; a
-- spent one presented again revokes its whole family.
CREATE TABLE refresh_tokens (
    id         UUID PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    family_id  UUID NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ NULL,
    revoked_at TIMESTAMPTZ NULL
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_account_idx ON refresh_tokens (account_id);

-- Single-use password-reset tokens (R2), stored hashed, 30 minutes.
CREATE TABLE password_reset_tokens (
    id         UUID PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ NULL
);

-- Notifications for a gateway to deliver (SMS, e-mail), at least once, in id order.
CREATE TABLE outbox (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind                 TEXT NOT NULL CHECK (kind IN ('password_reset', 'verification_result', 'application_status')),
    recipient_account_id UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    payload              JSONB NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    acked_at             TIMESTAMPTZ NULL
);
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE acked_at IS NULL;
