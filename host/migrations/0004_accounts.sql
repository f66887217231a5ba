-- Accounts: a user with a login and an argon2id password (a PHC string),
-- who may have to choose a new password at the next login.
ALTER TABLE users ADD COLUMN login TEXT;
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
CREATE UNIQUE INDEX users_login ON users (login);

-- What a token is for, in its owner's words (API tokens for the CLI).
ALTER TABLE tokens ADD COLUMN label TEXT;

-- Failed logins, by account and by address: brute-force protection that
-- holds across replicas.
CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);
