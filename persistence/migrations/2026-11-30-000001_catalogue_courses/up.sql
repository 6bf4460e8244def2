-- The catalogue is versioned: each import makes a new version, and a round is
-- pinned to the version current when it was created (R8: staff maintain the
-- annex table per round). The current version is the one with the highest id.
CREATE TABLE catalog_versions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    label       TEXT NOT NULL CHECK (char_length(label) BETWEEN 1 AND 200),
    imported_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    imported_by UUID NULL
);

-- Self-study courses (R16: each says where its exam is registered).
CREATE TABLE courses (
    catalog_version_id BIGINT   NOT NULL REFERENCES catalog_versions (id) ON DELETE CASCADE,
    code               TEXT     NOT NULL CHECK (code ~ '^[0-9]{5}$'),
    name               TEXT     NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    credits            SMALLINT NOT NULL CHECK (credits BETWEEN 1 AND 20),
    practical          BOOLEAN  NOT NULL,
    exam_channel       TEXT     NOT NULL CHECK (exam_channel IN ('platform', 'school_office')),
    PRIMARY KEY (catalog_version_id, code)
);
