-- Projects: one row per workspace root. Times are Unix microseconds in UTC.
CREATE TABLE projects (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL CHECK (name <> ''),
    root       TEXT    NOT NULL UNIQUE CHECK (root <> ''),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
