-- Files shared through the upload component (upload.DOMAIN, XEP-0363) and their scan
-- verdicts. Slot and file share one id. Stored bytes are the client's ciphertext encrypted
-- again at rest under a per-file key; that key is kept here wrapped by a master key.

CREATE TABLE oplot.upload_slots (
    id            text        PRIMARY KEY,
    owner         text        NOT NULL,              -- bare JID that asked for the slot
    filename      text        NOT NULL,
    size          bigint      NOT NULL CHECK (size > 0),
    content_type  text        NOT NULL,
    scan_key      jsonb,                             -- the file key wrapped for the scanner
    state         text        NOT NULL DEFAULT 'issued'
                  CHECK (state IN ('issued', 'uploading', 'stored')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);

CREATE TABLE oplot.files (
    id             text        PRIMARY KEY REFERENCES oplot.upload_slots (id),
    owner          text        NOT NULL,
    filename       text        NOT NULL,
    size           bigint      NOT NULL,             -- bytes as uploaded (client ciphertext)
    content_type   text        NOT NULL,
    master_key_id  integer     NOT NULL,
    wrapped_key    bytea       NOT NULL,             -- KExp15 of the at-rest key
    -- pending: waiting for the scanner; clean/blocked: its verdict; exempt: policy does not
    -- require scanning and no scanner key came with the upload; corrupt: failed integrity
    status         text        NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'clean', 'blocked', 'exempt', 'corrupt')),
    reason         text        NOT NULL DEFAULT '',
    scan_key       jsonb,
    stored_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX files_owner ON oplot.files (owner, stored_at);
CREATE INDEX files_pending ON oplot.files (stored_at) WHERE status = 'pending';
CREATE INDEX files_master_key ON oplot.files (master_key_id);

-- One verdict per file, written once (the scan task is retried and redelivered).
CREATE TABLE oplot.file_verdicts (
    file_id       text        PRIMARY KEY REFERENCES oplot.files (id),
    verdict       text        NOT NULL CHECK (verdict IN ('clean', 'blocked')),
    reason        text        NOT NULL DEFAULT '',
    content_hash  text        NOT NULL,              -- sha256 of the plaintext, hex
    cached        boolean     NOT NULL DEFAULT false,
    detail        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    seconds       double precision NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    notified_at   timestamptz
);

-- Verdicts by plaintext hash, so the same content is not scanned twice.
CREATE TABLE oplot.scan_cache (
    content_hash  text        PRIMARY KEY,
    verdict       text        NOT NULL CHECK (verdict IN ('clean', 'blocked')),
    reason        text        NOT NULL DEFAULT '',
    policy        text        NOT NULL,              -- fingerprint of rules + signatures
    scanned_at    timestamptz NOT NULL DEFAULT now()
);
