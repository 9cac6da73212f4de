-- Group AI budgets: a per-member spend limit for the members of a group.

CREATE TABLE group_ai_budgets (
    group_id uuid NOT NULL,
    spend_limit_micros bigint NOT NULL,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    CONSTRAINT group_ai_budgets_pkey PRIMARY KEY (group_id),
    CONSTRAINT group_ai_budgets_group_id_fkey FOREIGN KEY (group_id) REFERENCES groups (id) ON DELETE CASCADE,
    CONSTRAINT group_ai_budgets_spend_limit_micros_check CHECK (spend_limit_micros >= 0)
);

COMMENT ON TABLE group_ai_budgets IS 'AI spend limit that applies to each member of a group (the Everyone group included). No row: the group grants no budget.';

COMMENT ON COLUMN group_ai_budgets.spend_limit_micros IS 'Per-member limit per budget period, in micros (1/1,000,000 of the currency unit). 0 blocks the members for whom this group is the effective budget.';
