-- Projects: one row per workspace root.
CREATE TABLE projects (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL CHECK (name <> ''),
    root       text        NOT NULL UNIQUE CHECK (root <> ''),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
