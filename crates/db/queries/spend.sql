-- AI spend: the daily rollup per (user, attributed group, UTC day).

-- Add spend to the rollup of the UTC day of `at` (now when NULL), in the caller's
-- transaction; returns that day's new total for the user and group.
-- name: RecordAiSpend :one
INSERT INTO user_ai_daily_spend (user_id, group_id, day, spend_micros)
VALUES (@user_id, @group_id, (COALESCE(sqlc.narg(at), now()) AT TIME ZONE 'UTC')::date, @spend_micros)
ON CONFLICT (user_id, group_id, day) DO UPDATE
SET spend_micros = user_ai_daily_spend.spend_micros + excluded.spend_micros
RETURNING spend_micros;

-- A user's rollup rows between two UTC days (inclusive).
-- name: ListUserAiDailySpend :many
SELECT *
FROM user_ai_daily_spend
WHERE user_id = @user_id
    AND day BETWEEN @first_day AND @last_day
ORDER BY day, group_id;

-- One rollup row, inserted as is (no merge, unlike RecordAiSpend): a row that exists
-- already is a unique violation.
-- name: InsertUserAiDailySpend :exec
INSERT INTO user_ai_daily_spend (user_id, group_id, day, spend_micros)
VALUES (@user_id, @group_id, @day, @spend_micros);

-- Many rollup rows in one COPY: a bulk import (a backfill from a billing export). All or
-- nothing: one bad row (a duplicate day, a negative amount) fails the whole import.
-- name: CopyUserAiDailySpend :copyfrom
INSERT INTO user_ai_daily_spend (user_id, group_id, day, spend_micros)
VALUES (@user_id, @group_id, @day, @spend_micros);

-- InsertUserAiDailySpend for many rows, one statement per row (pipelined when async).
-- name: InsertUserAiDailySpends :batchexec
INSERT INTO user_ai_daily_spend (user_id, group_id, day, spend_micros)
VALUES (@user_id, @group_id, @day, @spend_micros);

-- RecordAiSpend for many spend events at once: each event's new day total, in order.
-- name: RecordAiSpends :batchone
INSERT INTO user_ai_daily_spend (user_id, group_id, day, spend_micros)
VALUES (@user_id, @group_id, (COALESCE(sqlc.narg(at), now()) AT TIME ZONE 'UTC')::date, @spend_micros)
ON CONFLICT (user_id, group_id, day) DO UPDATE
SET spend_micros = user_ai_daily_spend.spend_micros + excluded.spend_micros
RETURNING spend_micros;
