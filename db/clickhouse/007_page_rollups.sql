-- Page rollups: events per (project, hour or UTC day, event name, path) as aggregate states,
-- for the query model's page breakdowns and page filters (server/stats/compile.ts reads them
-- when the range and buckets line up, as it does the per-name rollups of 005_rollups.sql).
-- Measured with `npm run bench:query`: top pages over 30 days read ~1/10 (hourly) to ~1/200
-- (daily) of the rows raw page views need.
--
-- Exactly once, as in 005_rollups.sql: each table keeps its own deduplication window, and the
-- writer inserts with deduplicate_blocks_in_dependent_materialized_views = 1.
CREATE TABLE IF NOT EXISTS {database}.pages_hourly
(
    project_id LowCardinality(String),
    bucket DateTime('UTC'),
    name LowCardinality(String),
    path String,
    events AggregateFunction(count),
    devices AggregateFunction(uniq, String),
    sessions AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (project_id, bucket, name, path)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.pages_hourly_mv TO {database}.pages_hourly AS
SELECT
    project_id,
    toStartOfHour(created_at) AS bucket,
    name,
    path,
    countState() AS events,
    uniqStateIf(device_id, device_id != '') AS devices,
    uniqStateIf(session_id, session_id != '') AS sessions
FROM {database}.events
GROUP BY project_id, bucket, name, path;

CREATE TABLE IF NOT EXISTS {database}.pages_daily
(
    project_id LowCardinality(String),
    bucket DateTime('UTC'),
    name LowCardinality(String),
    path String,
    events AggregateFunction(count),
    devices AggregateFunction(uniq, String),
    sessions AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYear(bucket)
ORDER BY (project_id, bucket, name, path)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.pages_daily_mv TO {database}.pages_daily AS
SELECT
    project_id,
    toStartOfDay(created_at) AS bucket,
    name,
    path,
    countState() AS events,
    uniqStateIf(device_id, device_id != '') AS devices,
    uniqStateIf(session_id, session_id != '') AS sessions
FROM {database}.events
GROUP BY project_id, bucket, name, path;

-- Existing installs: fill both from the events already stored. Migrations run before a process
-- writes (in the distributed shape, upgrade workers — the only writers — by stopping the old
-- ones first), so nothing reaches the views while this runs. Truncating first makes a re-run
-- after an interruption exact instead of double.
TRUNCATE TABLE {database}.pages_hourly;

INSERT INTO {database}.pages_hourly
SELECT project_id, toStartOfHour(created_at) AS bucket, name, path, countState(), uniqStateIf(device_id, device_id != ''), uniqStateIf(session_id, session_id != '')
FROM {database}.events
GROUP BY project_id, bucket, name, path;

TRUNCATE TABLE {database}.pages_daily;

INSERT INTO {database}.pages_daily
SELECT project_id, toStartOfDay(created_at) AS bucket, name, path, countState(), uniqStateIf(device_id, device_id != ''), uniqStateIf(session_id, session_id != '')
FROM {database}.events
GROUP BY project_id, bucket, name, path;
