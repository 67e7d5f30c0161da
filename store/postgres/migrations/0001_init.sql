-- Projects: one row per workspace root.
--
-- Roots are unique through root_hash, the SHA-256 of the root's UTF-8 bytes: a
-- btree entry holds at most about 2.7 kB, and roots may be as long as PATH_MAX.
-- Lookups by root go through the hash and then compare the root itself.
CREATE TABLE projects (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL CHECK (name <> ''),
    root       text        NOT NULL CHECK (root <> ''),
    root_hash  bytea       NOT NULL CONSTRAINT projects_root_key UNIQUE
                           CHECK (root_hash = sha256(convert_to(root, 'UTF8'))),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
