-- Daily AI spend rollup per (user, attributed group, UTC day), fed by one
-- increment-upsert in the caller's transaction:
--   INSERT INTO user_ai_daily_spend (user_id, group_id, day, spend_micros)
--   VALUES ($1, $2, (now() AT TIME ZONE 'UTC')::date, $3)
--   ON CONFLICT (user_id, group_id, day) DO UPDATE
--   SET spend_micros = user_ai_daily_spend.spend_micros + excluded.spend_micros;

CREATE TABLE user_ai_daily_spend (
    user_id uuid NOT NULL,
    group_id uuid NOT NULL,
    day date NOT NULL,
    spend_micros bigint NOT NULL,
    CONSTRAINT user_ai_daily_spend_pkey PRIMARY KEY (user_id, day, group_id),
    CONSTRAINT user_ai_daily_spend_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT user_ai_daily_spend_group_id_fkey FOREIGN KEY (group_id) REFERENCES groups (id) ON DELETE CASCADE,
    CONSTRAINT user_ai_daily_spend_spend_micros_check CHECK (spend_micros >= 0)
);

COMMENT ON TABLE user_ai_daily_spend IS 'AI spend per user, attributed group and UTC day. Soft-deleting a user keeps the rows (excluded from organization totals); hard-deleting the user or deleting the group removes them.';

COMMENT ON COLUMN user_ai_daily_spend.group_id IS 'The group the spend was attributed to when it happened (see effective_ai_budget()); its organization is the one charged.';

COMMENT ON COLUMN user_ai_daily_spend.day IS 'UTC calendar day of the spend.';

COMMENT ON COLUMN user_ai_daily_spend.spend_micros IS 'Accumulated spend of the day, in micros.';

COMMENT ON CONSTRAINT user_ai_daily_spend_pkey ON user_ai_daily_spend IS 'The rollup key; day before group_id so that a user''s spend over a period is one index range.';

-- An organization's total over a period (subscription cap): per group, a day
-- range, answered from the index alone.
CREATE INDEX user_ai_daily_spend_group_id_day_idx ON user_ai_daily_spend (group_id, day) INCLUDE (user_id, spend_micros);
