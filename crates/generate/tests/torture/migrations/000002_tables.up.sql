-- A row of every type with a built-in mapping.
CREATE TABLE every_type (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    b boolean NOT NULL,
    i2 smallint NOT NULL,
    i4 integer NOT NULL,
    i8 bigint NOT NULL,
    f4 real NOT NULL,
    f8 double precision NOT NULL,
    num numeric(12, 3) NOT NULL,
    t text NOT NULL,
    vc varchar(10) NOT NULL,
    bp char(3) NOT NULL,
    nm name NOT NULL,
    ch "char" NOT NULL,
    o oid NOT NULL,
    bytes bytea NOT NULL,
    js json NOT NULL,
    jsb jsonb NOT NULL,
    u uuid NOT NULL,
    tstz timestamptz NOT NULL,
    ts timestamp NOT NULL,
    d date NOT NULL,
    tm time NOT NULL,
    ip inet NOT NULL,
    net cidr NOT NULL,
    mac macaddr NOT NULL,
    bits bit(3) NOT NULL,
    vbits varbit NOT NULL,
    pt point NOT NULL,
    bx box NOT NULL,
    pth path NOT NULL,
    lsn pg_lsn NOT NULL,
    ci citext NOT NULL,
    tree ltree NOT NULL,
    lq lquery NOT NULL,
    ltq ltxtquery NOT NULL,
    hs hstore NOT NULL,
    ints integer[] NOT NULL,
    texts text[] NOT NULL,
    statuses status[] NOT NULL,
    domain_statuses status_d[] NOT NULL,
    st status_d NOT NULL,
    pos positive NOT NULL,
    maybe_int integer
);

-- Columns of a composite type, and an array of it.
CREATE TABLE pairs (id integer PRIMARY KEY, p pair NOT NULL, ps pair[]);

-- Types mapped only by configuration: tsvector by `--type`, interval by [types], money for
-- one column by [columns]. Read as `::text`.
CREATE TABLE documents (
    id integer PRIMARY KEY,
    tsv tsvector NOT NULL,
    span interval NOT NULL,
    price money NOT NULL
);

-- Names that collide: columns ("Order ID"/order_id, renamed in gen.toml), keywords, a
-- leading digit, non-ASCII, punctuation; constraints named like generated items.
CREATE TABLE "Mixed Case"."Order Items" (
    "Order ID" integer NOT NULL,
    order_id text,
    "type" text NOT NULL DEFAULT 'x',
    "self" integer,
    "2fa" boolean NOT NULL DEFAULT false,
    "café" text,
    "ALL" integer,
    "#" integer,
    kind "Mixed Case"."Kind" NOT NULL DEFAULT 'Big One',
    form form_type NOT NULL DEFAULT '',
    p punct,
    CONSTRAINT "error" CHECK ("Order ID" > 0),
    CONSTRAINT "Err" CHECK ("Order ID" < 1000000),
    CONSTRAINT "self" PRIMARY KEY ("Order ID"),
    CONSTRAINT "Users Age Check" CHECK ("ALL" IS NULL OR "ALL" >= 0),
    CONSTRAINT users_age_check CHECK ("#" IS NULL OR "#" >= 0)
);

-- Tables named like types models.rs uses.
CREATE TABLE result (id integer PRIMARY KEY, "Option" option);
CREATE TABLE "vec" (id integer PRIMARY KEY REFERENCES result (id) ON DELETE CASCADE);
CREATE TABLE "Users" (
    "Id" bigint PRIMARY KEY,
    "displayName" text,
    "type" text NOT NULL,
    CONSTRAINT "type" FOREIGN KEY ("Id") REFERENCES result (id)
);

-- A second schema with a table, an enum and a function.
CREATE TABLE utils.settings (
    key text PRIMARY KEY,
    level utils.level NOT NULL DEFAULT 'low',
    value jsonb,
    CONSTRAINT "utils.key not blank" CHECK (key <> '')
);
CREATE FUNCTION utils.setting(k text) RETURNS jsonb LANGUAGE sql STABLE
    AS $$ SELECT value FROM utils.settings WHERE key = k $$;

-- A partitioned table (the partitions share its struct).
CREATE TABLE events (
    id bigint NOT NULL,
    at date NOT NULL,
    status status NOT NULL DEFAULT 'ok',
    CONSTRAINT events_pkey PRIMARY KEY (id, at),
    CONSTRAINT events_id_check CHECK (id > 0)
) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');

-- A view with an unnamed column (`?column?`) and a materialized view.
CREATE VIEW status_counts AS
    SELECT status, count(*) AS n, 1 FROM events GROUP BY status;
CREATE MATERIALIZED VIEW setting_levels AS SELECT key, level FROM utils.settings;

CREATE TABLE ignored.secret (id integer PRIMARY KEY, h ignored.hidden);
