-- The operational tables of DESIGN.md section 3.
-- The online service writes the first four; the nightly run writes the rest.

create table movies (
    movie_id    bigint primary key,
    title       text not null,
    genres      text not null default '(no genres listed)',
    created_at  timestamptz not null default now()
);

-- One event written by the online service. Kept for 48 hours, then archived
-- to the lake. Not constrained beyond its key: bad events are expected and
-- are set aside by the nightly run with a reason, not refused at write time.
create table rt_user_interactions (
    event_id    bigint primary key,
    user_id     bigint,
    movie_id    bigint,
    event_type  text,
    rating      double precision,
    event_ts    timestamptz not null,
    created_at  timestamptz not null default now()
);
create index rt_user_interactions_event_ts_idx on rt_user_interactions (event_ts);
create index rt_user_interactions_user_idx on rt_user_interactions (user_id);

create table recommendation_logs (
    serve_id       bigint primary key,
    user_id        bigint not null,
    movie_id       bigint not null,
    position       integer not null check (position >= 1),
    model_version  text not null,
    variant        text not null,
    served_at      timestamptz not null
);
create index recommendation_logs_served_at_idx on recommendation_logs (served_at);

-- serve_id is deliberately not a foreign key: feedback can reference a serve
-- that is unknown here (a bug upstream, or a log not yet written); the
-- nightly run rejects such rows with a reason instead of losing them.
create table recommendation_feedback (
    feedback_id  bigint primary key,
    serve_id     bigint,
    user_id      bigint,
    movie_id     bigint,
    action       text not null,
    feedback_at  timestamptz not null
);
create index recommendation_feedback_feedback_at_idx on recommendation_feedback (feedback_at);
create index recommendation_feedback_serve_idx on recommendation_feedback (serve_id);

-- What the online service reads: the top 50 of each active user.
create table batch_recommendations (
    user_id        bigint not null,
    rank           smallint not null check (rank between 1 and 50),
    movie_id       bigint not null,
    score          double precision not null,
    model_version  text not null,
    generated_at   timestamptz not null,
    primary key (user_id, rank),
    unique (user_id, movie_id)
);

create table model_performance_logs (
    id             bigserial primary key,
    run_id         text not null,
    model_version  text not null,
    variant        text,
    metric_name    text not null,
    metric_value   double precision,
    window_start   timestamptz,
    window_end     timestamptz,
    computed_at    timestamptz not null default now()
);
create index model_performance_logs_metric_idx
    on model_performance_logs (metric_name, computed_at);

create table pipeline_runs (
    run_id         text not null,
    run_date       date not null,
    task           text not null,
    attempt        integer not null default 1,
    status         text not null check (status in ('running', 'succeeded', 'failed', 'skipped')),
    started_at     timestamptz not null,
    finished_at    timestamptz,
    rows_in        bigint,
    rows_out       bigint,
    rows_rejected  bigint,
    details        jsonb,          -- the task's own counts and metrics
    error          text,
    primary key (run_id, task, attempt)
);
create index pipeline_runs_run_date_idx on pipeline_runs (run_date);

-- Input set aside by the nightly run, with the reason; nothing is dropped silently.
create table rejected_events (
    id           bigserial primary key,
    source_table text not null,
    source_key   text,
    reason       text not null,
    payload      jsonb not null,
    run_id       text,
    rejected_at  timestamptz not null default now()
);
-- one reject per source row: set aside again on a rerun is a no-op
create unique index rejected_events_source_key_idx on rejected_events (source_table, source_key);
create index rejected_events_reason_idx on rejected_events (source_table, reason);
