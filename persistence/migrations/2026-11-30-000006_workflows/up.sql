-- Prior degrees (R3–R7) and certification applications (R7–R20), with their
-- audit history. What the database can decide, it decides: one owner per
-- certificate number, one live claim per candidate and course.

-- A candidate's prior degree (前置学历). Status: draft → submitted →
-- effective | rejected (→ edited → submitted again). Only `effective` makes it
-- usable for degree-based certification (R5, R7).
CREATE TABLE prior_degrees (
    id                    UUID PRIMARY KEY,
    candidate_id          UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    round_id              UUID NOT NULL REFERENCES rounds (id),
    status                TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'effective', 'rejected')),
    certificate_number    TEXT NOT NULL CHECK (certificate_number ~ '^[0-9]{17,18}$'),
    school_name           TEXT NOT NULL CHECK (char_length(btrim(school_name)) BETWEEN 1 AND 100),
    major_name            TEXT NOT NULL CHECK (char_length(btrim(major_name)) BETWEEN 1 AND 100),
    level                 TEXT NOT NULL CHECK (level IN ('associate', 'bachelor')),
    education_type        TEXT NOT NULL CHECK (education_type IN ('regular', 'adult', 'self_study', 'online')),
    graduation_date       DATE NOT NULL,
    pledge_version        TEXT NOT NULL CHECK (char_length(pledge_version) BETWEEN 1 AND 50),
    pledge_accepted_at    TIMESTAMPTZ NOT NULL,
    submitted_at          TIMESTAMPTZ NULL,
    verification_feedback TEXT NULL CHECK (char_length(verification_feedback) <= 1000),
    verified_at           TIMESTAMPTZ NULL,
    verified_by           UUID NULL REFERENCES accounts (id),
    version               INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT prior_degree_submitted_has_time CHECK (status = 'draft' OR submitted_at IS NOT NULL),
    CONSTRAINT prior_degree_verified_has_time CHECK (status NOT IN ('effective', 'rejected') OR verified_at IS NOT NULL)
);
-- A certificate number belongs to at most one candidate (and one record).
CREATE UNIQUE INDEX prior_degrees_certificate_number_key ON prior_degrees (certificate_number);
CREATE INDEX prior_degrees_candidate_idx ON prior_degrees (candidate_id);

-- A certification application (学历成果认证申请): by the prior degree or by a
-- certificate. Status: draft → submitted → (returned → submitted) → approved |
-- partially_approved | rejected; submitted → draft when the owner withdraws.
CREATE TABLE certification_applications (
    id                      UUID PRIMARY KEY,
    candidate_id            UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    round_id                UUID NOT NULL REFERENCES rounds (id),
    major_code              TEXT NOT NULL CHECK (major_code ~ '^[A-Za-z0-9]{1,10}$'),
    kind                    TEXT NOT NULL CHECK (kind IN ('degree', 'certificate')),
    prior_degree_id         UUID NULL REFERENCES prior_degrees (id),
    certificate_kind        TEXT NULL CHECK (certificate_kind IN ('ncre1', 'ncre2', 'cet4', 'cet6')),
    certificate_number      TEXT NULL CHECK (char_length(certificate_number) BETWEEN 1 AND 40),
    certificate_obtained_on DATE NULL,
    status                  TEXT NOT NULL CHECK (status IN
        ('draft', 'submitted', 'returned', 'approved', 'partially_approved', 'rejected')),
    return_reason           TEXT NULL CHECK (char_length(return_reason) <= 1000),
    confirmed_missing       TEXT[] NOT NULL DEFAULT '{}',
    submitted_at            TIMESTAMPTZ NULL,
    reviewed_at             TIMESTAMPTZ NULL,
    reviewed_by             UUID NULL REFERENCES accounts (id),
    version                 INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT application_degree_route CHECK ((kind = 'degree') = (prior_degree_id IS NOT NULL)),
    CONSTRAINT application_certificate_route CHECK (
        (kind = 'certificate') = (certificate_kind IS NOT NULL AND certificate_number IS NOT NULL
                                  AND certificate_obtained_on IS NOT NULL)),
    CONSTRAINT application_reviewed_has_time CHECK (
        status NOT IN ('approved', 'partially_approved', 'rejected') OR reviewed_at IS NOT NULL)
);
CREATE INDEX certification_applications_candidate_idx ON certification_applications (candidate_id);
CREATE INDEX certification_applications_round_status_idx ON certification_applications (round_id, status);

-- The courses an application asks for, with their evidence (R10–R12). `live`
-- is true while the item holds its course: its application is submitted or
-- reviewed and the item was not rejected. The partial unique index makes it
-- impossible for one candidate to hold a course twice, whatever races happen.
CREATE TABLE application_items (
    application_id      UUID NOT NULL REFERENCES certification_applications (id) ON DELETE CASCADE,
    candidate_id        UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    course_code         TEXT NOT NULL CHECK (course_code ~ '^[0-9]{5}$'),
    position            SMALLINT NOT NULL CHECK (position >= 0),
    rule_id             TEXT NULL,
    learned_course_name TEXT NULL CHECK (char_length(learned_course_name) BETWEEN 1 AND 100),
    scores              SMALLINT[] NULL CHECK (scores IS NULL OR (0 <= ALL (scores) AND 100 >= ALL (scores))),
    score_text          TEXT NULL CHECK (score_text ~ '^[0-9]{1,3}(;[0-9]{1,3})*$'),
    live                BOOLEAN NOT NULL DEFAULT false,
    decision            TEXT NULL CHECK (decision IN ('approved', 'rejected')),
    decision_reason     TEXT NULL CHECK (char_length(decision_reason) <= 1000),
    PRIMARY KEY (application_id, course_code),
    UNIQUE (application_id, position),
    CONSTRAINT item_scores_match_text CHECK ((scores IS NULL) = (score_text IS NULL)),
    CONSTRAINT item_rejected_not_live CHECK (NOT (live AND decision = 'rejected'))
);
CREATE UNIQUE INDEX application_items_live_course_key ON application_items (candidate_id, course_code) WHERE live;

-- Every change to a prior degree or an application: who, when, from, to, note.
CREATE TABLE history (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity      TEXT NOT NULL CHECK (entity IN ('prior_degree', 'certification_application')),
    entity_id   UUID NOT NULL,
    actor_id    UUID NULL REFERENCES accounts (id),
    actor_role  TEXT NOT NULL CHECK (actor_role IN ('candidate', 'staff', 'admin', 'integration')),
    action      TEXT NOT NULL CHECK (char_length(action) BETWEEN 1 AND 50),
    from_status TEXT NULL,
    to_status   TEXT NULL,
    note        TEXT NULL CHECK (char_length(note) <= 2000),
    at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX history_entity_idx ON history (entity, entity_id, id);
