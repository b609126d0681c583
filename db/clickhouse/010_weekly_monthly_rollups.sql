-- Weekly and monthly rollups: the daily rollups that keep uniq states (events_daily,
-- pages_daily, visits_daily) summed up per ISO week (Monday, UTC) and per calendar month.
-- A range of whole UTC days is read as its whole months, then whole weeks, then the days
-- left over (server/stats/granules.ts), so a visitor seen on 20 days of a month is one
-- device hash to merge instead of 20: at 10M events the overview's 30-day visitor total
-- merges ~50k hashes from one monthly state instead of ~435k from 30 daily ones, top pages
-- ~1.0M instead of ~1.7M. Exact: a week's or month's state is the union of its days' states.
--
-- Each table is fed by a view on its daily table (not on raw events): the view aggregates the
-- already aggregated block the daily view just wrote, a few thousand rows per insert. The
-- writer's deduplicate_blocks_in_dependent_materialized_views = 1 reaches these second-level
-- views too; each table keeps its own deduplication window, as in 005_rollups.sql.
--
-- Granules are bounded by bytes (32 KiB) rather than rows: a monthly state of a busy site
-- holds tens of thousands of device hashes, so a granule holds one big state or many small
-- ones, and a query for one name, dimension or month deserialises little else.
--
-- events_daily itself is rebuilt with the same byte-bounded granules first (from stored events,
-- renamed into place as in 009_fine_rollup_granules.sql; every step can run again after an
-- interruption): its 64-row granules held the states of every event name of several days, so
-- a daily series of visitors deserialised the page-view and custom-event states beside the
-- session starts it reads (at 10M events: 29 → 21 ms for 30 days).
--
-- Existing installs: filled from the daily tables (run before writers start, as
-- 007_page_rollups.sql; truncating first makes a re-run after an interruption exact).

-- events_daily, rebuilt
CREATE TABLE IF NOT EXISTS {database}.events_daily_bytes
(
    project_id LowCardinality(String),
    bucket DateTime('UTC'),
    name LowCardinality(String),
    events AggregateFunction(count),
    devices AggregateFunction(uniq, String),
    sessions AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYear(bucket)
ORDER BY (project_id, bucket, name)
SETTINGS non_replicated_deduplication_window = 1000, index_granularity_bytes = 32768;

-- The views reading events_daily are dropped before it is (a re-run after an interruption
-- further down finds them) and created again below.
DROP VIEW IF EXISTS {database}.events_weekly_mv;

DROP VIEW IF EXISTS {database}.events_monthly_mv;

DROP VIEW IF EXISTS {database}.events_daily_mv;

TRUNCATE TABLE {database}.events_daily_bytes;

INSERT INTO {database}.events_daily_bytes
SELECT
    project_id,
    toStartOfDay(created_at) AS bucket,
    name,
    countState() AS events,
    uniqStateIf(device_id, device_id != '') AS devices,
    uniqStateIf(session_id, session_id != '') AS sessions
FROM {database}.events
GROUP BY project_id, bucket, name;

DROP TABLE IF EXISTS {database}.events_daily;

RENAME TABLE {database}.events_daily_bytes TO {database}.events_daily;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.events_daily_mv TO {database}.events_daily AS
SELECT
    project_id,
    toStartOfDay(created_at) AS bucket,
    name,
    countState() AS events,
    uniqStateIf(device_id, device_id != '') AS devices,
    uniqStateIf(session_id, session_id != '') AS sessions
FROM {database}.events
GROUP BY project_id, bucket, name;

-- events_weekly
CREATE TABLE IF NOT EXISTS {database}.events_weekly
(
    project_id LowCardinality(String),
    bucket DateTime('UTC'),
    name LowCardinality(String),
    events AggregateFunction(count),
    devices AggregateFunction(uniq, String),
    sessions AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYear(bucket)
ORDER BY (project_id, name, bucket)
SETTINGS non_replicated_deduplication_window = 1000, index_granularity_bytes = 32768;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.events_weekly_mv TO {database}.events_weekly AS
SELECT project_id, toMonday(bucket) AS bucket, name, countMergeState(events) AS events, uniqMergeState(devices) AS devices, uniqMergeState(sessions) AS sessions
FROM {database}.events_daily
GROUP BY project_id, bucket, name;

TRUNCATE TABLE {database}.events_weekly;

INSERT INTO {database}.events_weekly
SELECT project_id, toMonday(bucket) AS bucket, name, countMergeState(events) AS events, uniqMergeState(devices) AS devices, uniqMergeState(sessions) AS sessions
FROM {database}.events_daily
GROUP BY project_id, bucket, name;

-- events_monthly
CREATE TABLE IF NOT EXISTS {database}.events_monthly
(
    project_id LowCardinality(String),
    bucket DateTime('UTC'),
    name LowCardinality(String),
    events AggregateFunction(count),
    devices AggregateFunction(uniq, String),
    sessions AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYear(bucket)
ORDER BY (project_id, name, bucket)
SETTINGS non_replicated_deduplication_window = 1000, index_granularity_bytes = 32768;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.events_monthly_mv TO {database}.events_monthly AS
SELECT project_id, toStartOfMonth(bucket) AS bucket, name, countMergeState(events) AS events, uniqMergeState(devices) AS devices, uniqMergeState(sessions) AS sessions
FROM {database}.events_daily
GROUP BY project_id, bucket, name;

TRUNCATE TABLE {database}.events_monthly;

INSERT INTO {database}.events_monthly
SELECT project_id, toStartOfMonth(bucket) AS bucket, name, countMergeState(events) AS events, uniqMergeState(devices) AS devices, uniqMergeState(sessions) AS sessions
FROM {database}.events_daily
GROUP BY project_id, bucket, name;

-- pages_weekly
CREATE TABLE IF NOT EXISTS {database}.pages_weekly
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
SETTINGS non_replicated_deduplication_window = 1000, index_granularity_bytes = 32768;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.pages_weekly_mv TO {database}.pages_weekly AS
SELECT project_id, toMonday(bucket) AS bucket, name, path, countMergeState(events) AS events, uniqMergeState(devices) AS devices, uniqMergeState(sessions) AS sessions
FROM {database}.pages_daily
GROUP BY project_id, bucket, name, path;

TRUNCATE TABLE {database}.pages_weekly;

INSERT INTO {database}.pages_weekly
SELECT project_id, toMonday(bucket) AS bucket, name, path, countMergeState(events) AS events, uniqMergeState(devices) AS devices, uniqMergeState(sessions) AS sessions
FROM {database}.pages_daily
GROUP BY project_id, bucket, name, path;

-- pages_monthly
CREATE TABLE IF NOT EXISTS {database}.pages_monthly
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
SETTINGS non_replicated_deduplication_window = 1000, index_granularity_bytes = 32768;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.pages_monthly_mv TO {database}.pages_monthly AS
SELECT project_id, toStartOfMonth(bucket) AS bucket, name, path, countMergeState(events) AS events, uniqMergeState(devices) AS devices, uniqMergeState(sessions) AS sessions
FROM {database}.pages_daily
GROUP BY project_id, bucket, name, path;

TRUNCATE TABLE {database}.pages_monthly;

INSERT INTO {database}.pages_monthly
SELECT project_id, toStartOfMonth(bucket) AS bucket, name, path, countMergeState(events) AS events, uniqMergeState(devices) AS devices, uniqMergeState(sessions) AS sessions
FROM {database}.pages_daily
GROUP BY project_id, bucket, name, path;

-- visits_weekly
CREATE TABLE IF NOT EXISTS {database}.visits_weekly
(
    project_id LowCardinality(String),
    bucket DateTime('UTC'),
    dimension LowCardinality(String),
    value String,
    visits SimpleAggregateFunction(sum, UInt64),
    devices AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYear(bucket)
ORDER BY (project_id, dimension, bucket, value)
SETTINGS non_replicated_deduplication_window = 1000, index_granularity_bytes = 32768;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.visits_weekly_mv TO {database}.visits_weekly AS
SELECT project_id, toMonday(bucket) AS bucket, dimension, value, sum(visits) AS visits, uniqMergeState(devices) AS devices
FROM {database}.visits_daily
GROUP BY project_id, bucket, dimension, value;

TRUNCATE TABLE {database}.visits_weekly;

INSERT INTO {database}.visits_weekly
SELECT project_id, toMonday(bucket) AS bucket, dimension, value, sum(visits) AS visits, uniqMergeState(devices) AS devices
FROM {database}.visits_daily
GROUP BY project_id, bucket, dimension, value;

-- visits_monthly
CREATE TABLE IF NOT EXISTS {database}.visits_monthly
(
    project_id LowCardinality(String),
    bucket DateTime('UTC'),
    dimension LowCardinality(String),
    value String,
    visits SimpleAggregateFunction(sum, UInt64),
    devices AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYear(bucket)
ORDER BY (project_id, dimension, bucket, value)
SETTINGS non_replicated_deduplication_window = 1000, index_granularity_bytes = 32768;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.visits_monthly_mv TO {database}.visits_monthly AS
SELECT project_id, toStartOfMonth(bucket) AS bucket, dimension, value, sum(visits) AS visits, uniqMergeState(devices) AS devices
FROM {database}.visits_daily
GROUP BY project_id, bucket, dimension, value;

TRUNCATE TABLE {database}.visits_monthly;

INSERT INTO {database}.visits_monthly
SELECT project_id, toStartOfMonth(bucket) AS bucket, dimension, value, sum(visits) AS visits, uniqMergeState(devices) AS devices
FROM {database}.visits_daily
GROUP BY project_id, bucket, dimension, value;
