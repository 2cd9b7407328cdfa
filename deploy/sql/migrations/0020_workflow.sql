-- Document workflow: route templates, documents with their state machine, approval tasks,
-- a complete history, the record of Celery steps and the notification outbox.
-- The legal transitions live in a table and triggers enforce them, so no worker, operator
-- or race can move a document (or a task) along an edge that is not there.

CREATE TABLE oplot.wf_states (state text PRIMARY KEY);
INSERT INTO oplot.wf_states VALUES ('draft'), ('in_review'), ('approved'), ('rejected'),
    ('returned'), ('cancelled'), ('archived');

CREATE TABLE oplot.wf_transitions (
    from_state text NOT NULL REFERENCES oplot.wf_states,
    to_state   text NOT NULL REFERENCES oplot.wf_states,
    PRIMARY KEY (from_state, to_state)
);
INSERT INTO oplot.wf_transitions VALUES
    ('draft', 'in_review'), ('draft', 'rejected'), ('draft', 'cancelled'),
    ('in_review', 'approved'), ('in_review', 'rejected'), ('in_review', 'returned'),
    ('in_review', 'cancelled'),
    ('approved', 'archived'), ('rejected', 'archived'), ('returned', 'archived'),
    ('cancelled', 'archived');

-- Route templates: stages run one after another; the steps of one stage run in parallel
-- (every assignee of the stage must approve). A step names a person (login), a role (the
-- nearest holder up the author's chain of command) or a unit (its head).
CREATE TABLE oplot.wf_routes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain     text NOT NULL,
    name       text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    title      text NOT NULL DEFAULT '' CHECK (length(title) <= 256),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (domain, name)
);

CREATE TABLE oplot.wf_route_steps (
    route_id         bigint NOT NULL REFERENCES oplot.wf_routes ON DELETE CASCADE,
    stage            integer NOT NULL CHECK (stage BETWEEN 1 AND 64),
    kind             text NOT NULL CHECK (kind IN ('person', 'role', 'unit')),
    target           text NOT NULL CHECK (target ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    deadline_seconds integer CHECK (deadline_seconds > 0),  -- NULL: [workflow] default
    PRIMARY KEY (route_id, stage, kind, target)
);

CREATE TABLE oplot.wf_documents (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    domain         text NOT NULL,
    title          text NOT NULL CHECK (length(title) BETWEEN 1 AND 512),
    classification text NOT NULL
                   CHECK (classification IN ('public', 'internal', 'confidential', 'restricted')),
    author         text NOT NULL,                      -- bare JID
    unit_id        bigint REFERENCES oplot.org_units ON DELETE SET NULL,
    file_id        text NOT NULL REFERENCES oplot.files,
    filename       text NOT NULL,
    size           bigint NOT NULL,                    -- plaintext bytes
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    digests        jsonb,                              -- Streebog-256/512 hex, set on review
    share          jsonb NOT NULL,                     -- url, cipher, key for the participants
    route_id       bigint NOT NULL REFERENCES oplot.wf_routes,
    stage          integer NOT NULL DEFAULT 0,
    state          text NOT NULL DEFAULT 'draft' REFERENCES oplot.wf_states,
    reason         text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wf_documents_state ON oplot.wf_documents (state, updated_at);
CREATE INDEX wf_documents_author ON oplot.wf_documents (author, created_at);

CREATE TABLE oplot.wf_tasks (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id   uuid NOT NULL REFERENCES oplot.wf_documents ON DELETE CASCADE,
    stage         integer NOT NULL,
    assignee      text NOT NULL,                       -- bare JID
    via           text NOT NULL,                       -- the route step, e.g. "role:head"
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN
                  ('pending', 'approved', 'rejected', 'returned', 'escalated', 'cancelled')),
    due_at        timestamptz NOT NULL,
    reminded_at   timestamptz,
    escalated_from bigint REFERENCES oplot.wf_tasks,
    comment       text NOT NULL DEFAULT '' CHECK (length(comment) <= 4000),
    signature     bytea,                               -- detached CMS SignedData (approvals)
    decided_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (document_id, stage, assignee)
);
CREATE INDEX wf_tasks_open ON oplot.wf_tasks (assignee) WHERE state = 'pending';
CREATE INDEX wf_tasks_due ON oplot.wf_tasks (due_at) WHERE state = 'pending';

-- Everything that happened to a document, written by triggers (so nothing bypasses it);
-- the actor is the session's "oplot.actor" setting.
CREATE TABLE oplot.wf_history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id uuid NOT NULL REFERENCES oplot.wf_documents ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor       text NOT NULL,
    event       text NOT NULL,
    from_state  text,
    to_state    text,
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX wf_history_document ON oplot.wf_history (document_id, id);

-- One row per Celery step that changed something: the primary key makes a step happen
-- once whatever the redeliveries.
CREATE TABLE oplot.wf_steps (
    document_id uuid NOT NULL REFERENCES oplot.wf_documents ON DELETE CASCADE,
    step        text NOT NULL,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    worker      text NOT NULL,
    task_id     text NOT NULL,
    PRIMARY KEY (document_id, step)
);

-- Notifications are written with the change that causes them and sent after commit.
CREATE TABLE oplot.wf_outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id uuid NOT NULL REFERENCES oplot.wf_documents ON DELETE CASCADE,
    key         text NOT NULL,
    recipient   text NOT NULL,
    subject     text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    UNIQUE (document_id, key, recipient)
);
CREATE INDEX wf_outbox_unsent ON oplot.wf_outbox (document_id) WHERE sent_at IS NULL;

CREATE FUNCTION oplot.wf_actor() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('oplot.actor', true), ''), current_user::text)
$$;

CREATE FUNCTION oplot.wf_document_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'draft' OR NEW.stage <> 0 THEN
            RAISE EXCEPTION 'a document starts as a draft at stage 0'
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.state <> OLD.state AND NOT EXISTS (SELECT 1 FROM oplot.wf_transitions
            WHERE from_state = OLD.state AND to_state = NEW.state) THEN
        RAISE EXCEPTION 'illegal workflow transition % -> % for document %',
            OLD.state, NEW.state, OLD.id USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.stage <> OLD.stage AND (NEW.state <> 'in_review' OR NEW.stage <> OLD.stage + 1) THEN
        RAISE EXCEPTION 'document % may only move to the next stage while in review (% -> %)',
            OLD.id, OLD.stage, NEW.stage USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.id <> OLD.id OR NEW.file_id <> OLD.file_id OR NEW.author <> OLD.author
            OR NEW.route_id <> OLD.route_id OR NEW.sha256 <> OLD.sha256 THEN
        RAISE EXCEPTION 'a document''s identity, file, author and route never change'
            USING ERRCODE = 'check_violation';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END $$;

CREATE FUNCTION oplot.wf_document_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO oplot.wf_history (document_id, actor, event, to_state, detail)
        VALUES (NEW.id, oplot.wf_actor(), 'created', NEW.state,
                jsonb_build_object('title', NEW.title, 'route_id', NEW.route_id,
                                   'file_id', NEW.file_id, 'sha256', NEW.sha256));
    ELSIF NEW.state <> OLD.state OR NEW.stage <> OLD.stage THEN
        INSERT INTO oplot.wf_history (document_id, actor, event, from_state, to_state, detail)
        VALUES (NEW.id, oplot.wf_actor(),
                CASE WHEN NEW.state <> OLD.state THEN 'state' ELSE 'stage' END,
                OLD.state, NEW.state,
                jsonb_build_object('stage', NEW.stage, 'reason', NEW.reason));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER wf_documents_guard BEFORE INSERT OR UPDATE ON oplot.wf_documents
    FOR EACH ROW EXECUTE FUNCTION oplot.wf_document_guard();
CREATE TRIGGER wf_documents_history AFTER INSERT OR UPDATE ON oplot.wf_documents
    FOR EACH ROW EXECUTE FUNCTION oplot.wf_document_history();

-- A task is decided once, only while its document is in review at the task's stage.
CREATE FUNCTION oplot.wf_task_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    doc record;
BEGIN
    IF NEW.state = OLD.state THEN
        RETURN NEW;
    END IF;
    IF OLD.state <> 'pending' THEN
        RAISE EXCEPTION 'task % is already %', OLD.id, OLD.state
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.state IN ('approved', 'rejected', 'returned') THEN
        SELECT state, stage INTO doc FROM oplot.wf_documents WHERE id = OLD.document_id;
        IF doc.state <> 'in_review' OR doc.stage <> OLD.stage THEN
            RAISE EXCEPTION 'task % is not open: its document is % at stage %', OLD.id,
                doc.state, doc.stage USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.state = 'approved' AND NEW.signature IS NULL THEN
            RAISE EXCEPTION 'an approval carries a signature' USING ERRCODE = 'check_violation';
        END IF;
        NEW.decided_at := now();
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION oplot.wf_task_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO oplot.wf_history (document_id, actor, event, detail)
        VALUES (NEW.document_id, oplot.wf_actor(), 'task.assigned',
                jsonb_build_object('task', NEW.id, 'stage', NEW.stage, 'assignee', NEW.assignee,
                                   'via', NEW.via, 'due_at', NEW.due_at,
                                   'escalated_from', NEW.escalated_from));
    ELSIF NEW.state <> OLD.state THEN
        INSERT INTO oplot.wf_history (document_id, actor, event, detail)
        VALUES (NEW.document_id, oplot.wf_actor(), 'task.' || NEW.state,
                jsonb_build_object('task', NEW.id, 'stage', NEW.stage, 'assignee', NEW.assignee,
                                   'comment', NEW.comment,
                                   'signed', NEW.signature IS NOT NULL));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER wf_tasks_guard BEFORE UPDATE ON oplot.wf_tasks
    FOR EACH ROW EXECUTE FUNCTION oplot.wf_task_guard();
CREATE TRIGGER wf_tasks_history AFTER INSERT OR UPDATE ON oplot.wf_tasks
    FOR EACH ROW EXECUTE FUNCTION oplot.wf_task_history();

CREATE FUNCTION oplot.wf_history_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'oplot.wf_history is append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER wf_history_append_only BEFORE UPDATE ON oplot.wf_history
    FOR EACH ROW EXECUTE FUNCTION oplot.wf_history_refuse();
