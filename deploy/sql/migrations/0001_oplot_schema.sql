-- The project's own schema, apart from ejabberd's tables in "public".
CREATE SCHEMA IF NOT EXISTS oplot;

-- Liveness records: each component process and Celery worker upserts its row, so an
-- operator (and `oplot-stack status`) can see from the database who is alive and when.
CREATE TABLE oplot.heartbeats (
    service   text        NOT NULL,
    instance  text        NOT NULL,
    beat_at   timestamptz NOT NULL DEFAULT now(),
    detail    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (service, instance)
);
