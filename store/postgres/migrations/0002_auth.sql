-- Accounts, tokens, project membership, the audit log and failed logins.
-- Secrets are never stored: users keep an argon2id hash of their password,
-- tokens the SHA-256 of their secret.
CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    email         text        NOT NULL CONSTRAINT users_email_key UNIQUE CHECK (email <> ''),
    name          text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    password_hash text        NOT NULL CHECK (password_hash <> ''),
    disabled      boolean     NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE tokens (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text        NOT NULL,
    hash       bytea       NOT NULL CONSTRAINT tokens_hash_key UNIQUE CHECK (length(hash) = 32),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX tokens_user ON tokens (user_id, id);

CREATE TABLE project_members (
    project_id uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at   timestamptz NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user ON project_members (user_id, project_id);

CREATE TABLE audit_events (
    id     uuid        PRIMARY KEY,
    at     timestamptz NOT NULL,
    kind   text        NOT NULL CHECK (kind <> ''),
    actor  text        NOT NULL,
    remote text        NOT NULL,
    target text        NOT NULL,
    detail text        NOT NULL
);
CREATE INDEX audit_events_kind ON audit_events (kind, id);
CREATE INDEX audit_events_actor ON audit_events (actor, id);

CREATE TABLE login_failures (
    key text        NOT NULL,
    at  timestamptz NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);
CREATE INDEX login_failures_at ON login_failures (at);
