-- The scan task queues the drafts waiting for a file's verdict: find them by file without
-- scanning every document (only drafts are indexed, so the index stays small).
CREATE INDEX IF NOT EXISTS wf_documents_draft_file ON oplot.wf_documents (file_id)
    WHERE state = 'draft';
