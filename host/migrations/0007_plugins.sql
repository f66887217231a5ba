-- Plugin versions uploaded through the admin API, kept so that a restart
-- and every replica serve what administrators chose. What each plugin
-- serves (its version, rollback history, disabled) is a setting
-- (`plugin:<name>`), next to the limits.
CREATE TABLE plugin_uploads (
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    digest      TEXT NOT NULL,
    wasm        {blob} NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);
