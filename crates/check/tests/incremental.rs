//! The incremental snapshot (`check::incremental::Tracker`) equals a whole catalog snapshot
//! after every kind of change, including the ones that leave no changed row behind (drops,
//! cascades) or change other objects' text (renames, type changes).

mod common;

use check::incremental::Tracker;
use check::snapshot;
use common::*;

const SETUP: &str = "CREATE SCHEMA app;
    CREATE TYPE app.mood AS ENUM ('ok', 'meh');
    CREATE DOMAIN app.email AS text CHECK (VALUE <> '');
    CREATE TABLE app.orgs (id bigint PRIMARY KEY, name text);
    CREATE TABLE app.users (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        org_id bigint,
        email text DEFAULT 'a@b',
        mood app.mood,
        CONSTRAINT users_org_fkey FOREIGN KEY (org_id) REFERENCES app.orgs (id),
        CONSTRAINT users_email_check CHECK (email <> '') NOT VALID
    );
    CREATE INDEX users_email_idx ON app.users (lower(email));
    CREATE FUNCTION app.f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
    CREATE FUNCTION app.g(x int) RETURNS int LANGUAGE sql AS $$ SELECT x + 1 $$;
    CREATE TRIGGER users_t BEFORE UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION app.f();
    CREATE VIEW app.v AS SELECT id, email FROM app.users;
    CREATE VIEW app.vv AS SELECT id FROM app.v;
    CREATE SEQUENCE app.counter;
    COMMENT ON COLUMN app.users.email IS 'mail';";

/// Each change is applied alone, then the tracker is refreshed and compared with a whole
/// snapshot; `(change, whether the schema changes)`.
const CHANGES: &[(&str, bool)] = &[
    // Function bodies, options, renames (the trigger prints the function's name).
    (
        "CREATE OR REPLACE FUNCTION app.f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
        true,
    ),
    ("ALTER FUNCTION app.f() SET search_path = app", true),
    ("ALTER FUNCTION app.f() RENAME TO f2", true),
    // Defaults: set, changed, dropped (a deleted pg_attrdef row).
    (
        "ALTER TABLE app.users ALTER COLUMN email SET DEFAULT 'c@d'",
        true,
    ),
    (
        "ALTER TABLE app.users ALTER COLUMN email DROP DEFAULT",
        true,
    ),
    (
        "ALTER TABLE app.users ALTER COLUMN email SET NOT NULL",
        true,
    ),
    (
        "ALTER INDEX app.users_email_idx SET (fillfactor = 50)",
        true,
    ),
    (
        "ALTER INDEX app.users_email_idx RENAME TO users_mail_idx",
        true,
    ),
    (
        "ALTER TABLE app.users ALTER CONSTRAINT users_org_fkey DEFERRABLE",
        true,
    ),
    (
        "ALTER TABLE app.users ADD CONSTRAINT users_email_x CHECK (email <> 'x') NOT VALID",
        true,
    ),
    (
        "ALTER TABLE app.users VALIDATE CONSTRAINT users_email_x",
        true,
    ),
    ("ALTER TABLE app.users DROP CONSTRAINT users_email_x", true),
    ("CLUSTER app.users USING users_mail_idx", true),
    // A view changed, then a view over a renamed column (its text changes, not its rows).
    (
        "CREATE OR REPLACE VIEW app.v AS SELECT id, email, mood FROM app.users",
        true,
    ),
    ("ALTER TABLE app.users DISABLE TRIGGER users_t", true),
    ("ALTER TABLE app.users RENAME COLUMN email TO mail", true),
    // The referenced table renamed: the foreign key and the views print its new name.
    ("ALTER TABLE app.orgs RENAME TO organisations", true),
    ("ALTER TABLE app.users RENAME TO people", true),
    (
        "ALTER TABLE app.people ADD COLUMN note varchar(10) CHECK (note <> '')",
        true,
    ),
    (
        "ALTER TABLE app.people ALTER COLUMN note TYPE varchar(200)",
        true,
    ),
    // A dropped column moves the positions of the ones after it.
    ("ALTER TABLE app.people DROP COLUMN org_id", true),
    (
        "ALTER TABLE app.people ADD CONSTRAINT mood_check CHECK (mood <> 'meh')",
        true,
    ),
    // Enum labels: renamed, added before another (renumbering), and the type renamed (the
    // columns of that type print its new name).
    ("ALTER TYPE app.mood RENAME VALUE 'meh' TO 'fine'", true),
    ("ALTER TYPE app.mood ADD VALUE 'great' BEFORE 'ok'", true),
    ("ALTER TYPE app.mood RENAME TO feeling", true),
    (
        "ALTER DOMAIN app.email ADD CONSTRAINT email_at CHECK (VALUE LIKE '%@%')",
        true,
    ),
    ("ALTER DOMAIN app.email DROP CONSTRAINT email_at", true),
    ("ALTER TABLE app.people RENAME COLUMN mail TO email", true),
    // Comments: added, changed, on an index and a constraint, removed (a deleted row).
    ("COMMENT ON INDEX app.users_mail_idx IS 'lookup'", true),
    ("COMMENT ON INDEX app.users_mail_idx IS 'by mail'", true),
    (
        "COMMENT ON CONSTRAINT mood_check ON app.people IS 'no meh'",
        true,
    ),
    ("COMMENT ON COLUMN app.people.email IS NULL", true),
    // Sequences: parameters, OWNED BY (only pg_depend changes), identity.
    ("ALTER SEQUENCE app.counter OWNED BY app.people.email", true),
    ("ALTER SEQUENCE app.counter OWNED BY NONE", true),
    ("ALTER SEQUENCE app.counter INCREMENT BY 5", true),
    (
        "ALTER TABLE app.people ALTER COLUMN id SET INCREMENT BY 2",
        true,
    ),
    // Dropped and recreated with another definition (new oids, same identity).
    (
        "DROP VIEW app.vv; CREATE VIEW app.vv AS SELECT id, id + 1 AS next FROM app.v",
        true,
    ),
    (
        "DROP FUNCTION app.g(int); CREATE FUNCTION app.g(x int) RETURNS int LANGUAGE sql AS $$ SELECT x + 2 $$",
        true,
    ),
    // Dropped and recreated identically: nothing to see.
    (
        "DROP FUNCTION app.g(int); CREATE FUNCTION app.g(x int) RETURNS int LANGUAGE sql AS $$ SELECT x + 2 $$",
        false,
    ),
    // Comments on every kind of part an owner has, each read back by its owner.
    ("COMMENT ON TRIGGER users_t ON app.people IS 'audit'", true),
    ("COMMENT ON TYPE app.feeling IS 'how'", true),
    ("COMMENT ON DOMAIN app.email IS 'address'", true),
    (
        "ALTER DOMAIN app.email ADD CONSTRAINT email_at CHECK (VALUE LIKE '%@%')",
        true,
    ),
    (
        "COMMENT ON CONSTRAINT email_at ON DOMAIN app.email IS 'has an at'",
        true,
    ),
    ("ALTER DOMAIN app.email DROP CONSTRAINT email_at", true),
    ("COMMENT ON FUNCTION app.g(int) IS 'next'", true),
    ("COMMENT ON SCHEMA app IS 'the app'", true),
    ("COMMENT ON SEQUENCE app.counter IS 'counts'", true),
    ("COMMENT ON VIEW app.v IS 'visible'", true),
    ("COMMENT ON INDEX app.users_pkey IS 'key'", true),
    ("CREATE TYPE app.pair AS (a int, b int)", true),
    ("COMMENT ON COLUMN app.pair.a IS 'first'", true),
    ("COMMENT ON TYPE app.pair IS 'two'", true),
    // A cascade drops the views over the table (no row of theirs is left to see).
    ("DROP TABLE app.people CASCADE", true),
    ("CREATE POLICY p ON app.organisations USING (id > 0)", true),
    (
        "ALTER TABLE app.organisations ENABLE ROW LEVEL SECURITY",
        true,
    ),
    (
        "CREATE STATISTICS app.s ON id, name FROM app.organisations",
        true,
    ),
    (
        "ALTER TABLE app.organisations RENAME COLUMN name TO title",
        true,
    ),
    (
        "CREATE RULE r AS ON DELETE TO app.organisations DO INSTEAD NOTHING",
        true,
    ),
    ("COMMENT ON RULE r ON app.organisations IS 'keep'", true),
    (
        "COMMENT ON POLICY p ON app.organisations IS 'positive'",
        true,
    ),
    ("COMMENT ON STATISTICS app.s IS 'pairs'", true),
    ("DROP RULE r ON app.organisations", true),
    // Columns of a table's row type and of an array of an enum print those types' names,
    // which follow the table's and the enum's.
    (
        "CREATE TABLE app.holder (o app.organisations, moods app.feeling[])",
        true,
    ),
    ("ALTER TABLE app.organisations RENAME TO orgs_renamed", true),
    ("ALTER TYPE app.feeling RENAME TO mood_renamed", true),
    ("ALTER TABLE app.orgs_renamed RENAME TO organisations", true),
    ("ALTER TYPE app.mood_renamed RENAME TO feeling", true),
    // An object of a class the snapshot does not print: only its comment is seen, under
    // its name (renamed, and below with its schema).
    (
        "CREATE TEXT SEARCH CONFIGURATION app.search (COPY = simple)",
        false,
    ),
    (
        "COMMENT ON TEXT SEARCH CONFIGURATION app.search IS 'words'",
        true,
    ),
    (
        "ALTER TEXT SEARCH CONFIGURATION app.search RENAME TO words",
        true,
    ),
    // Everything in a renamed schema prints the new name.
    ("ALTER SCHEMA app RENAME TO core", true),
    ("DROP TEXT SEARCH CONFIGURATION core.words", true),
    ("CREATE ROLE check_incremental_reader", false),
    (
        "ALTER POLICY p ON core.organisations TO check_incremental_reader",
        true,
    ),
    // A role renamed changes the policy's text, not any row of this database.
    (
        "ALTER ROLE check_incremental_reader RENAME TO check_incremental_reader2",
        true,
    ),
    ("DROP POLICY p ON core.organisations", true),
    ("DROP ROLE check_incremental_reader2", false),
    ("SELECT 1", false),
];

/// A scratch database holding [`SETUP`], and a connection to it.
fn set_up() -> (pgcluster::TestDatabase, postgres::Client) {
    let db = cluster()
        .database_from_template("check_incremental_empty", |_| Ok(()))
        .unwrap();
    let mut c = db.connect().unwrap();
    c.batch_execute(SETUP).unwrap();
    (db, c)
}

/// After `change` and the refresh that returned `changes`: the tracker's snapshot equals a
/// whole one, and `changes` says exactly what changed since `previous`. Returns the whole
/// snapshot (the next change's `previous`).
fn assert_refreshed(
    c: &mut postgres::Client,
    tracker: &Tracker,
    change: &str,
    changes_schema: bool,
    changes: &check::incremental::Changes,
    previous: &snapshot::Snapshot,
) -> snapshot::Snapshot {
    let whole = snapshot::take(c, &[]).unwrap();
    let kept = tracker.snapshot();
    assert_eq!(
        *kept,
        whole,
        "after {change}:\n{}",
        check::textdiff::unified(&whole.render(), &kept.render(), "whole", "incremental")
    );
    assert_eq!(changes.is_empty(), !changes_schema, "{change}: {changes:?}");
    assert_eq!(changes.revert(kept), *previous, "{change}: {changes:?}");
    let (before, after) = changes.sides(kept);
    assert_eq!(before == after, !changes_schema, "{change}");
    whole
}

#[test]
fn a_refreshed_snapshot_equals_a_whole_one_after_every_change() {
    let (_db, mut c) = set_up();
    let mut tracker = Tracker::new(&mut c, &[]).unwrap();
    assert_eq!(*tracker.snapshot(), snapshot::take(&mut c, &[]).unwrap());
    let mut previous = tracker.snapshot().clone();
    for (change, changes_schema) in CHANGES {
        c.batch_execute(change).unwrap();
        let changes = tracker.refresh(&mut c).unwrap();
        previous = assert_refreshed(
            &mut c,
            &tracker,
            change,
            *changes_schema,
            &changes,
            &previous,
        );
    }
    let counters = tracker.counters();
    assert_eq!(counters.refreshes, CHANGES.len());
    // Only the role changes read the whole snapshot (and Tracker::new).
    assert!(counters.whole <= 4, "{counters:?}");
}

#[test]
fn an_up_and_its_exact_down_leave_nothing_to_read() {
    let (_db, mut c) = set_up();
    let mut tracker = Tracker::new(&mut c, &[]).unwrap();
    c.batch_execute("CREATE TABLE app.t (id int PRIMARY KEY); CREATE INDEX ON app.t (id);")
        .unwrap();
    c.batch_execute("DROP TABLE app.t").unwrap();
    let changes = tracker.refresh(&mut c).unwrap();
    assert!(changes.is_empty(), "{changes:?}");
    assert_eq!(tracker.counters().owners, 0, "{:?}", tracker.counters());
}

/// More changes for the tracker that reads the change log (`Tracker::with_ddl_log`): the ones
/// event triggers report only in part or not at all, each of which must still leave a
/// snapshot equal to a whole one. `(change, whether the schema changes, whether the walk
/// would force a scan of every catalog for it)`: the walk forces one for scripts naming a
/// catalog (direct catalog writes leave no trace in the log).
const LOGGED_CHANGES: &[(&str, bool, bool)] = &[
    // Privileges and owners: the snapshot prints neither. (A predefined role: roles are shared
    // by the cluster, and one created here would make the other tests' trackers read whole
    // snapshots.)
    ("GRANT SELECT ON core.organisations TO pg_read_all_data", false, false),
    ("REVOKE SELECT ON core.organisations FROM pg_read_all_data", false, false),
    (
        "ALTER DEFAULT PRIVILEGES IN SCHEMA core GRANT SELECT ON TABLES TO pg_read_all_data",
        false,
        false,
    ),
    ("ALTER TABLE core.organisations OWNER TO pg_read_all_data", false, false),
    ("ALTER TABLE core.organisations OWNER TO CURRENT_USER", false, false),
    // Serial and identity columns create sequences owned by them.
    (
        "CREATE TABLE core.items (id serial PRIMARY KEY, org bigint REFERENCES core.organisations (id), n int GENERATED BY DEFAULT AS IDENTITY)",
        true,
        false,
    ),
    ("ALTER TABLE core.items ADD COLUMN code bigserial", true, false),
    ("ALTER SEQUENCE core.items_code_seq OWNED BY NONE", true, false),
    // Partitions and inheritance print their parent.
    (
        "CREATE TABLE core.events (at date NOT NULL, what text) PARTITION BY RANGE (at);
         CREATE TABLE core.events_2026 (at date NOT NULL, what text)",
        true,
        false,
    ),
    (
        "ALTER TABLE core.events ATTACH PARTITION core.events_2026 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
        true,
        false,
    ),
    ("ALTER TABLE core.events ADD COLUMN extra int", true, false),
    ("ALTER TABLE core.events RENAME TO happenings", true, false),
    (
        "ALTER TABLE core.happenings DETACH PARTITION core.events_2026",
        true,
        false,
    ),
    (
        "CREATE TABLE core.child () INHERITS (core.items); ALTER TABLE core.items ADD COLUMN note text",
        true,
        false,
    ),
    ("ALTER TABLE core.child NO INHERIT core.items", true, false),
    // DDL run by a DO block and by a function.
    (
        "DO $$ BEGIN EXECUTE 'CREATE INDEX items_n_idx ON core.items (n)'; END $$",
        true,
        false,
    ),
    (
        "CREATE FUNCTION core.ddl() RETURNS void LANGUAGE plpgsql AS $$ BEGIN ALTER TABLE core.items ALTER COLUMN org SET DEFAULT 7; END $$;
         SELECT core.ddl()",
        true,
        false,
    ),
    // Drops that cascade to objects of other owners: a default and a check using a
    // function, a column of a type, a trigger of a function.
    (
        "CREATE FUNCTION core.seven() RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT 7 $$;
         ALTER TABLE core.items ALTER COLUMN org SET DEFAULT core.seven();
         ALTER TABLE core.items ADD CONSTRAINT org_seven CHECK (org <> core.seven())",
        true,
        false,
    ),
    ("DROP FUNCTION core.seven() CASCADE", true, false),
    (
        "CREATE TYPE core.colour AS ENUM ('red'); ALTER TABLE core.items ADD COLUMN colour core.colour",
        true,
        false,
    ),
    ("DROP TYPE core.colour CASCADE", true, false),
    (
        "CREATE FUNCTION core.tg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
         CREATE TRIGGER items_tg BEFORE INSERT ON core.items FOR EACH ROW EXECUTE FUNCTION core.tg()",
        true,
        false,
    ),
    ("DROP FUNCTION core.tg() CASCADE", true, false),
    ("DROP INDEX core.items_n_idx", true, false),
    ("DROP TABLE core.organisations CASCADE", true, false),
    // CLUSTER and REINDEX are not reported (pg_index is scanned); nor are commands on event
    // triggers (pg_event_trigger is scanned).
    ("CLUSTER core.items USING items_pkey", true, false),
    (
        "CREATE INDEX items_org_idx ON core.items (org); UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'core.items_org_idx'::regclass",
        true,
        true,
    ),
    ("REINDEX INDEX core.items_org_idx", true, false),
    (
        "CREATE FUNCTION core.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
         CREATE EVENT TRIGGER check_log_user_trigger ON ddl_command_start EXECUTE FUNCTION core.on_ddl()",
        true,
        false,
    ),
    ("ALTER EVENT TRIGGER check_log_user_trigger DISABLE", true, false),
    ("DROP EVENT TRIGGER check_log_user_trigger", true, false),
    // The log's own trigger disabled: that refresh scans every catalog.
    (
        "ALTER EVENT TRIGGER check_ddl_log_end DISABLE; ALTER TABLE core.items ADD COLUMN late int",
        true,
        false,
    ),
    (
        "ALTER EVENT TRIGGER check_ddl_log_end ENABLE; ALTER TABLE core.items DROP COLUMN late",
        true,
        false,
    ),
    // Extensions: members come and go unreported one by one (a scan of every catalog).
    ("CREATE EXTENSION pg_trgm SCHEMA core", true, false),
    (
        "CREATE FUNCTION core.loose() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
         ALTER EXTENSION pg_trgm ADD FUNCTION core.loose()",
        false,
        false,
    ),
    ("ALTER EXTENSION pg_trgm DROP FUNCTION core.loose()", true, false),
    ("DROP EXTENSION pg_trgm", true, false),
    // Direct writes to the catalogs: the walk scans every catalog for such scripts.
    (
        "UPDATE pg_class SET relrowsecurity = true WHERE oid = 'core.items'::regclass",
        true,
        true,
    ),
    // A role's DDL, comments, enum values, security labels (none: no provider).
    (
        "SET ROLE pg_read_all_data; RESET ROLE; COMMENT ON TABLE core.items IS 'things'",
        true,
        false,
    ),
    ("ALTER TYPE core.feeling ADD VALUE 'calm'", true, false),
    ("ALTER TYPE core.feeling RENAME VALUE 'calm' TO 'serene'", true, false),
    // Outside a transaction; and by a role that may not write to the log itself.
    (
        "CREATE INDEX CONCURRENTLY items_note_idx ON core.items (note)",
        true,
        false,
    ),
    ("DROP INDEX CONCURRENTLY core.items_note_idx", true, false),
    (
        "GRANT CREATE, USAGE ON SCHEMA core TO pg_read_all_data;
         SET ROLE pg_read_all_data; CREATE TABLE core.theirs (id int); RESET ROLE",
        true,
        false,
    ),
    // The search_path changes how names print: the whole snapshot is read again.
    ("SET search_path = core, public", true, false),
    ("RESET search_path", true, false),
    ("DROP SCHEMA core CASCADE", true, false),
];

#[test]
fn a_snapshot_refreshed_from_the_change_log_equals_a_whole_one_after_every_change() {
    let (_db, mut c) = set_up();
    let mut tracker = Tracker::with_ddl_log(&mut c, &[]).unwrap();
    assert_eq!(*tracker.snapshot(), snapshot::take(&mut c, &[]).unwrap());
    let mut previous = tracker.snapshot().clone();
    // Without the role changes: roles are shared by the cluster, and the test above (run at the
    // same time) counts the whole snapshots they cause (tests/incremental_roles.rs has them).
    let all = CHANGES
        .iter()
        .filter(|(change, _)| !change.contains(" ROLE "))
        .map(|(change, changes_schema)| {
            (
                change.replace("check_incremental_reader", "pg_read_all_data"),
                *changes_schema,
                false,
            )
        })
        .chain(
            LOGGED_CHANGES
                .iter()
                .map(|(c, changes, scan)| (c.to_string(), *changes, *scan)),
        )
        .collect::<Vec<_>>();
    let mut forced = 0;
    for (change, changes_schema, scan) in &all {
        let (change, changes_schema, scan) = (change.as_str(), *changes_schema, *scan);
        c.batch_execute(change).unwrap();
        let changes = if scan {
            forced += 1;
            tracker.refresh_scanning(&mut c).unwrap()
        } else {
            tracker.refresh(&mut c).unwrap()
        };
        previous = assert_refreshed(
            &mut c,
            &tracker,
            change,
            changes_schema,
            &changes,
            &previous,
        );
    }
    let counters = tracker.counters();
    assert_eq!(counters.refreshes, all.len());
    // Every refresh but the two after a search_path change read the log (the role changes
    // read it, then the whole snapshot); it fell back to scanning every catalog for the
    // forced ones, the disabled trigger, CREATE EXTENSION and the two ALTER EXTENSIONs (DROP
    // EXTENSION reports every member it drops).
    assert_eq!(counters.logged + 2, counters.refreshes, "{counters:?}");
    assert_eq!(counters.fallbacks, forced + 4, "{counters:?}");
    tracker.uninstall(&mut c).unwrap();
    let left: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'check_ddl_log'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

#[test]
fn with_the_log_an_up_and_its_exact_down_leave_nothing_to_read() {
    let (_db, mut c) = set_up();
    let mut tracker = Tracker::with_ddl_log(&mut c, &[]).unwrap();
    c.batch_execute("CREATE TABLE app.t (id int PRIMARY KEY); CREATE INDEX ON app.t (id);")
        .unwrap();
    c.batch_execute("DROP TABLE app.t").unwrap();
    let changes = tracker.refresh(&mut c).unwrap();
    assert!(changes.is_empty(), "{changes:?}");
    let counters = tracker.counters();
    assert_eq!(
        (counters.owners, counters.fallbacks),
        (0, 0),
        "{counters:?}"
    );
}
