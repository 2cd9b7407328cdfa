-- The organisation directory (users, org-unit tree, groups, per-domain policy) and the
-- hash-chained audit log. ejabberd authenticates against oplot.users through extauth.

-- Per-domain policy; every directory row belongs to one served domain.
CREATE TABLE oplot.domain_policy (
    domain                 text PRIMARY KEY,
    -- what certified clients enforce for end-to-end encryption
    e2e_profile            text NOT NULL DEFAULT 'gost-preferred'
                           CHECK (e2e_profile IN ('gost-only', 'gost-preferred', 'standard')),
    -- ejabberd's admin API may create users (extauth "tryregister"); clients never can
    allow_api_registration boolean NOT NULL DEFAULT true,
    password_min_length    integer NOT NULL DEFAULT 8 CHECK (password_min_length BETWEEN 1 AND 1024),
    updated_at             timestamptz NOT NULL DEFAULT now()
);

-- Org units form a tree (ministry -> department -> section).
CREATE TABLE oplot.org_units (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain      text NOT NULL REFERENCES oplot.domain_policy (domain),
    slug        text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 256),
    parent_id   bigint REFERENCES oplot.org_units (id) ON DELETE RESTRICT,
    external_id text,                      -- LDAP DN of an imported unit
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (domain, slug),
    UNIQUE (domain, external_id),
    CHECK (parent_id IS DISTINCT FROM id)
);

CREATE TABLE oplot.users (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain              text NOT NULL REFERENCES oplot.domain_policy (domain),
    login               text NOT NULL CHECK (login ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    display_name        text NOT NULL DEFAULT '' CHECK (length(display_name) <= 256),
    unit_id             bigint REFERENCES oplot.org_units (id) ON DELETE SET NULL,
    position            text NOT NULL DEFAULT '' CHECK (length(position) <= 256),
    email               text NOT NULL DEFAULT '' CHECK (length(email) <= 256),
    roles               text[] NOT NULL DEFAULT '{}',
    state               text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled')),
    source              text NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'ldap')),
    external_id         text,              -- LDAP DN of an imported user
    -- PBKDF2-HMAC-Streebog-512 (R 50.1.111-2016); NULL hash: no password set, login refused
    password_hash       bytea,
    password_salt       bytea,
    password_iterations integer CHECK (password_iterations > 0),
    failed_logins       integer NOT NULL DEFAULT 0,
    first_failed_at     timestamptz,
    locked_until        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (domain, login),
    UNIQUE (domain, external_id)
);
CREATE INDEX users_unit ON oplot.users (unit_id);

CREATE TABLE oplot.groups (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain      text NOT NULL REFERENCES oplot.domain_policy (domain),
    name        text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    description text NOT NULL DEFAULT '',
    UNIQUE (domain, name)
);

CREATE TABLE oplot.group_members (
    group_id bigint NOT NULL REFERENCES oplot.groups (id) ON DELETE CASCADE,
    user_id  bigint NOT NULL REFERENCES oplot.users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);

-- Audit log: append-only, each row chained by hash = Streebog-256(prev_hash || row).
-- audit_head holds the last (seq, hash) so that truncation and tail deletion are detected.
CREATE TABLE oplot.audit_log (
    seq       bigint PRIMARY KEY CHECK (seq > 0),
    at        timestamptz NOT NULL,
    event     text NOT NULL,
    actor     text NOT NULL,
    subject   text NOT NULL,
    detail    text NOT NULL,                -- canonical JSON, hashed exactly as stored
    prev_hash bytea NOT NULL,
    hash      bytea NOT NULL
);

CREATE TABLE oplot.audit_head (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq  bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO oplot.audit_head (seq, hash) VALUES (0, decode(repeat('00', 32), 'hex'));

CREATE FUNCTION oplot.audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'oplot.audit_log is append-only: % refused', TG_OP;
END $$;

-- Inserts must extend the chain; the head moves with them (and only with them).
CREATE FUNCTION oplot.audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head record;
BEGIN
    SELECT seq, hash INTO head FROM oplot.audit_head FOR UPDATE;
    IF NEW.seq <> head.seq + 1 OR NEW.prev_hash <> head.hash THEN
        RAISE EXCEPTION 'audit row % does not extend the chain head %', NEW.seq, head.seq;
    END IF;
    UPDATE oplot.audit_head SET seq = NEW.seq, hash = NEW.hash;
    RETURN NEW;
END $$;

CREATE FUNCTION oplot.audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'oplot.audit_head moves only by appending to oplot.audit_log';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON oplot.audit_log
    FOR EACH ROW EXECUTE FUNCTION oplot.audit_chain();
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON oplot.audit_log
    FOR EACH ROW EXECUTE FUNCTION oplot.audit_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON oplot.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION oplot.audit_refuse();
CREATE TRIGGER audit_head_guard BEFORE UPDATE OR DELETE ON oplot.audit_head
    FOR EACH ROW EXECUTE FUNCTION oplot.audit_head_guard();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON oplot.audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION oplot.audit_refuse();

-- Belt and braces: the application role (which runs the migrations) loses the privileges too.
REVOKE UPDATE, DELETE, TRUNCATE ON oplot.audit_log FROM CURRENT_USER;
REVOKE DELETE, TRUNCATE ON oplot.audit_head FROM CURRENT_USER;
