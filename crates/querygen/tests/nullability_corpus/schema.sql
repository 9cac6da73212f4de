-- The schema of the nullability corpus (queries.sql): an AI-spend reporting database with
-- organizations, teams, users, API keys, model prices, usage events and budgets. NOT NULL
-- where the product requires a value; nullable where "unknown" or "not set" is real.

CREATE TYPE plan_tier AS ENUM ('free', 'team', 'enterprise');

CREATE TABLE organizations (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    tier plan_tier NOT NULL DEFAULT 'free',
    monthly_cap_micros bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    archived_at timestamptz
);

CREATE TABLE teams (
    id bigint PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    name text NOT NULL,
    parent_team_id bigint REFERENCES teams (id)
);

CREATE TABLE users (
    id bigint PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    email text NOT NULL,
    display_name text,
    manager_id bigint REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz,
    deleted boolean NOT NULL DEFAULT false
);

CREATE TABLE team_members (
    team_id bigint NOT NULL REFERENCES teams (id),
    user_id bigint NOT NULL REFERENCES users (id),
    role text NOT NULL DEFAULT 'member',
    joined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE api_keys (
    id bigint PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    label text,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);

CREATE TABLE models (
    id text PRIMARY KEY,
    provider text NOT NULL,
    input_price_micros bigint NOT NULL,
    output_price_micros bigint NOT NULL,
    context_window integer,
    retired_on date
);

CREATE TABLE usage_events (
    id bigint PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    team_id bigint REFERENCES teams (id),
    api_key_id bigint REFERENCES api_keys (id),
    model_id text NOT NULL REFERENCES models (id),
    input_tokens integer NOT NULL,
    output_tokens integer NOT NULL,
    total_cost_micros bigint NOT NULL,
    latency_ms integer,
    status text NOT NULL DEFAULT 'ok',
    metadata jsonb NOT NULL DEFAULT '{}',
    occurred_at timestamptz NOT NULL
);

CREATE TABLE budgets (
    team_id bigint PRIMARY KEY REFERENCES teams (id),
    limit_micros bigint,
    alert_percent integer NOT NULL DEFAULT 80,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE invoices (
    id bigint PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    period_start date NOT NULL,
    amount_micros bigint NOT NULL,
    paid_at timestamptz
);

CREATE VIEW active_users AS
    SELECT id, organization_id, email, display_name FROM users WHERE NOT deleted;
