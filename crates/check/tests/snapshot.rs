//! The catalog snapshot sees every kind of change a down can forget, and a reused snapshotter
//! (its query prepared once) always equals a fresh one.

mod common;

use check::snapshot::{self, Snapshotter};
use common::*;

#[test]
fn every_change_is_seen_and_reuse_is_exact() {
    let db = cluster()
        .database_from_template("check_snapshot_empty", |_| Ok(()))
        .unwrap();
    let mut c = db.connect().unwrap();
    c.batch_execute(
        "CREATE SCHEMA app;
         CREATE TYPE app.mood AS ENUM ('ok', 'meh');
         CREATE TABLE app.orgs (id bigint PRIMARY KEY);
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
         CREATE TRIGGER users_t BEFORE UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION app.f();
         CREATE VIEW app.v AS SELECT id, email FROM app.users;
         COMMENT ON COLUMN app.users.email IS 'mail';",
    )
    .unwrap();
    let exclude = Vec::new();
    let warm = Snapshotter::new(&mut c, &exclude).unwrap();
    let mut previous = warm.take(&mut c).unwrap();
    assert_eq!(previous, snapshot::take(&mut c, &exclude).unwrap());
    let changes = [
        "CREATE OR REPLACE FUNCTION app.f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
        "ALTER FUNCTION app.f() SET search_path = app",
        "ALTER TABLE app.users ALTER COLUMN email SET DEFAULT 'c@d'",
        "ALTER TABLE app.users ALTER COLUMN email DROP DEFAULT",
        "ALTER TABLE app.users ALTER COLUMN email SET NOT NULL",
        "ALTER INDEX app.users_email_idx SET (fillfactor = 50)",
        "ALTER TABLE app.users ALTER CONSTRAINT users_org_fkey DEFERRABLE",
        "ALTER TABLE app.users ADD CONSTRAINT users_email_x CHECK (email <> 'x') NOT VALID",
        "ALTER TABLE app.users VALIDATE CONSTRAINT users_email_x",
        "CLUSTER app.users USING users_email_idx",
        "CREATE OR REPLACE VIEW app.v AS SELECT id, email, mood FROM app.users",
        "ALTER TABLE app.users DISABLE TRIGGER users_t",
        "ALTER TABLE app.users RENAME COLUMN email TO mail",
        "ALTER TABLE app.users RENAME TO people",
        "ALTER TABLE app.people ADD COLUMN note varchar(10) CHECK (note <> '')",
        "ALTER TABLE app.people ALTER COLUMN note TYPE varchar(200)",
        "ALTER TABLE app.people ADD CONSTRAINT mood_check CHECK (mood <> 'meh')",
        "ALTER TYPE app.mood RENAME VALUE 'meh' TO 'fine'",
        "ALTER TABLE app.people RENAME COLUMN mail TO email",
        "ALTER SCHEMA app RENAME TO core",
        "ALTER TABLE core.people ALTER COLUMN id SET INCREMENT BY 2",
        "COMMENT ON COLUMN core.people.email IS NULL",
    ];
    for change in changes {
        c.batch_execute(change).unwrap();
        let w = warm.take(&mut c).unwrap();
        let cold = snapshot::take(&mut c, &exclude).unwrap();
        assert_eq!(
            w,
            cold,
            "after {change}:\n{}",
            check::textdiff::unified(&cold.render(), &w.render(), "cold", "warm")
        );
        assert_ne!(w, previous, "{change} is not seen");
        previous = w;
    }
}
