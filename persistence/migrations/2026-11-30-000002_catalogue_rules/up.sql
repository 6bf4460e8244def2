-- The rest of the catalogue (majors, plans, the annex table, certificate rules) and
-- the rounds pinned to it. Every row belongs to one catalogue version; foreign keys
-- include the version, so a version can never refer to another version's rows.
-- The CHECKs repeat the domain's rules (domain::catalog::Catalog::validate) as the
-- last line of defence.

-- The validated document as imported (ids assigned), for export and audit.
ALTER TABLE catalog_versions ADD COLUMN document JSONB NULL;

-- Self-study majors (自考专业).
CREATE TABLE majors (
    catalog_version_id BIGINT  NOT NULL REFERENCES catalog_versions (id) ON DELETE CASCADE,
    code               TEXT    NOT NULL CHECK (code ~ '^[A-Za-z0-9]{1,10}$'),
    name               TEXT    NOT NULL CHECK (btrim(name) <> ''),
    level              TEXT    NOT NULL CHECK (level IN ('associate', 'bachelor')),
    position           INTEGER NOT NULL CHECK (position >= 0),
    PRIMARY KEY (catalog_version_id, code),
    UNIQUE (catalog_version_id, position)
);

-- A major's course plan, in display order (R8).
CREATE TABLE major_plan_courses (
    catalog_version_id BIGINT  NOT NULL,
    major_code         TEXT    NOT NULL,
    course_code        TEXT    NOT NULL,
    position           INTEGER NOT NULL CHECK (position >= 0),
    PRIMARY KEY (catalog_version_id, major_code, course_code),
    UNIQUE (catalog_version_id, major_code, position),
    FOREIGN KEY (catalog_version_id, major_code)
        REFERENCES majors (catalog_version_id, code) ON DELETE CASCADE,
    FOREIGN KEY (catalog_version_id, course_code)
        REFERENCES courses (catalog_version_id, code) ON DELETE CASCADE
);
CREATE INDEX major_plan_courses_course ON major_plan_courses (catalog_version_id, course_code);

-- The annex table: a course of a major certifiable by the prior degree (R8, R10–R12).
-- The foreign key to the plan enforces "only a course of the major's plan".
CREATE TABLE degree_rules (
    catalog_version_id BIGINT   NOT NULL,
    id                 TEXT     NOT NULL CHECK (btrim(id) <> ''),
    position           INTEGER  NOT NULL CHECK (position >= 0),
    major_code         TEXT     NOT NULL,
    course_code        TEXT     NOT NULL,
    evidence           TEXT     NOT NULL CHECK (evidence IN ('none', 'course_and_scores')),
    expected_names     TEXT[]   NOT NULL DEFAULT '{}',
    score_terms        SMALLINT NULL,
    pass_mark          SMALLINT NULL,
    prior_levels       TEXT[]   NOT NULL DEFAULT '{}',
    prior_majors       TEXT[]   NOT NULL DEFAULT '{}',
    PRIMARY KEY (catalog_version_id, id),
    UNIQUE (catalog_version_id, position),
    FOREIGN KEY (catalog_version_id, major_code, course_code)
        REFERENCES major_plan_courses (catalog_version_id, major_code, course_code) ON DELETE CASCADE,
    CONSTRAINT degree_rules_evidence_fields CHECK (
        (evidence = 'none' AND cardinality(expected_names) = 0
            AND score_terms IS NULL AND pass_mark IS NULL)
        OR (evidence = 'course_and_scores' AND cardinality(expected_names) >= 1
            AND score_terms BETWEEN 1 AND 8 AND pass_mark BETWEEN 0 AND 100)
    ),
    -- R10: 03708 and 03709, and only they, are certified by ticking alone.
    CONSTRAINT degree_rules_r10 CHECK (
        (evidence = 'none') = (course_code IN ('03708', '03709'))
    ),
    -- R12: English II takes three semester scores.
    CONSTRAINT degree_rules_r12 CHECK (course_code <> '00015' OR score_terms = 3),
    CONSTRAINT degree_rules_no_null_names CHECK (array_position(expected_names, NULL) IS NULL),
    CONSTRAINT degree_rules_prior_levels CHECK (prior_levels <@ ARRAY['associate', 'bachelor']::TEXT[]),
    CONSTRAINT degree_rules_no_null_prior_majors CHECK (array_position(prior_majors, NULL) IS NULL)
);
CREATE INDEX degree_rules_major_course ON degree_rules (catalog_version_id, major_code, course_code);

-- Certificate-based certification (R13–R15). Empty `majors`: every major whose plan
-- has the course.
CREATE TABLE certificate_rules (
    catalog_version_id BIGINT  NOT NULL,
    id                 TEXT    NOT NULL CHECK (btrim(id) <> ''),
    position           INTEGER NOT NULL CHECK (position >= 0),
    kind               TEXT    NOT NULL CHECK (kind IN ('ncre1', 'ncre2', 'cet4', 'cet6')),
    course_code        TEXT    NOT NULL,
    majors             TEXT[]  NOT NULL DEFAULT '{}',
    PRIMARY KEY (catalog_version_id, id),
    UNIQUE (catalog_version_id, position),
    FOREIGN KEY (catalog_version_id, course_code)
        REFERENCES courses (catalog_version_id, code) ON DELETE CASCADE,
    CONSTRAINT certificate_rules_no_null_majors CHECK (array_position(majors, NULL) IS NULL)
);

-- Rounds: two windows and a pledge, pinned to the catalogue version current when the
-- round was created (R3, R6, R18). `version` backs the ETag.
CREATE TABLE rounds (
    id                     UUID        PRIMARY KEY,
    name                   TEXT        NOT NULL CHECK (char_length(btrim(name)) BETWEEN 1 AND 100),
    prior_degree_opens_at  TIMESTAMPTZ NOT NULL,
    prior_degree_closes_at TIMESTAMPTZ NOT NULL,
    certification_opens_at TIMESTAMPTZ NOT NULL,
    certification_closes_at TIMESTAMPTZ NOT NULL,
    pledge_version         TEXT        NOT NULL CHECK (char_length(pledge_version) BETWEEN 1 AND 50),
    pledge_text            TEXT        NOT NULL CHECK (btrim(pledge_text) <> ''),
    catalog_version_id     BIGINT      NOT NULL REFERENCES catalog_versions (id) ON DELETE RESTRICT,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    version                INTEGER     NOT NULL DEFAULT 1 CHECK (version >= 1),
    CONSTRAINT rounds_prior_degree_window CHECK (prior_degree_closes_at > prior_degree_opens_at),
    CONSTRAINT rounds_certification_window CHECK (certification_closes_at > certification_opens_at)
);
CREATE INDEX rounds_catalog_version ON rounds (catalog_version_id);
