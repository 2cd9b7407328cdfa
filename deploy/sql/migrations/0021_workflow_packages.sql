-- The final package of an approved document (zip: document, signatures, signed approval
-- sheet, audit trail), kept in the database so any node can hand it out.
CREATE TABLE IF NOT EXISTS oplot.wf_packages (
    document_id uuid PRIMARY KEY REFERENCES oplot.wf_documents ON DELETE CASCADE,
    sha256      text NOT NULL,
    data        bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A document's audit entries go into its package: find them without scanning the log.
CREATE INDEX IF NOT EXISTS audit_log_subject ON oplot.audit_log (subject);
