//! A change log of DDL in a scratch database, written by event triggers: which catalog
//! objects the commands since the last read created, altered or dropped.
//!
//! [`install`] creates, in the schema [`SCHEMA`], an unlogged table and two event triggers:
//! one on `ddl_command_end` recording `pg_event_trigger_ddl_commands()` (class, object, sub-id
//! and command tag of each object a command created or altered) and one on `sql_drop`
//! recording `pg_event_trigger_dropped_objects()`. [`crate::incremental::Tracker`] reads and
//! clears the log at each refresh, so it rereads only those objects instead of scanning every
//! catalog. The schema and the triggers are left out of every catalog snapshot; [`uninstall`]
//! removes them (before `pg_dump` shows a database, or hands it on).
//!
//! Event triggers do not see everything (roles, event triggers themselves, `CLUSTER`,
//! `REINDEX`, direct writes to the catalogs, `SET search_path`): the tracker covers those
//! with small scans and falls back to scanning every catalog where the log cannot tell (see
//! [`crate::incremental`]).

use postgres::GenericClient;

/// The schema holding the log (left out of snapshots by name).
pub const SCHEMA: &str = "check_ddl_log";

/// The two event triggers' names (left out of snapshots by name).
pub const TRIGGERS: [&str; 2] = ["check_ddl_log_end", "check_ddl_log_drop"];

const INSTALL: &str = "
CREATE SCHEMA check_ddl_log;
CREATE UNLOGGED TABLE check_ddl_log.log (
    classid oid, objid oid, objsubid int, tag text, dropped bool);
CREATE FUNCTION check_ddl_log.ended() RETURNS event_trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO check_ddl_log.log
    SELECT classid, objid, objsubid, command_tag, false FROM pg_catalog.pg_event_trigger_ddl_commands();
END $$;
CREATE FUNCTION check_ddl_log.dropped() RETURNS event_trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO check_ddl_log.log
    SELECT classid, objid, objsubid, object_type, true FROM pg_catalog.pg_event_trigger_dropped_objects();
END $$;
CREATE EVENT TRIGGER check_ddl_log_end ON ddl_command_end EXECUTE FUNCTION check_ddl_log.ended();
CREATE EVENT TRIGGER check_ddl_log_drop ON sql_drop EXECUTE FUNCTION check_ddl_log.dropped();
";

/// Create the log and its triggers in `client`'s database (superuser). The trigger functions
/// run as their owner, so migrations that `SET ROLE` still record their commands.
pub fn install(client: &mut impl GenericClient) -> Result<(), postgres::Error> {
    client.batch_execute(INSTALL)
}

/// Remove the log and its triggers (nothing when they are not there).
pub fn uninstall(client: &mut impl GenericClient) -> Result<(), postgres::Error> {
    client.batch_execute(
        "DROP EVENT TRIGGER IF EXISTS check_ddl_log_end;
         DROP EVENT TRIGGER IF EXISTS check_ddl_log_drop;
         DROP SCHEMA IF EXISTS check_ddl_log CASCADE;",
    )
}

/// The query reading and clearing the log: per entry, the object (class, oid), the command
/// tag (or dropped object's type), whether it was dropped, its owner (kind, oid, by
/// [`crate::snapshot::owner_sql`], from the catalogs as they are now) and the object's
/// sub-id (a column; 0: the whole object). An object created or altered, then dropped, since
/// the last read has a dropped entry too: the reader leaves it out. Entries without an object
/// (`GRANT`, `ALTER DEFAULT PRIVILEGES`) are skipped: the snapshot prints no privileges.
pub fn take_query() -> String {
    let (kind, owner) = crate::snapshot::owner_sql("d.classid", "d.objid");
    format!(
        "WITH d AS (DELETE FROM check_ddl_log.log RETURNING classid, objid, objsubid, tag, dropped)
         SELECT d.classid, d.objid, d.tag, d.dropped, own.kind::text, own.oid::oid, d.objsubid
         FROM d CROSS JOIN LATERAL (SELECT {kind} AS kind, {owner} AS oid) AS own
         WHERE d.classid IS NOT NULL AND d.classid <> 0"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_snapshot_leaves_the_log_out_by_these_names() {
        let q = crate::snapshot::query(crate::snapshot::Scope::All);
        assert!(q.contains(&format!("nspname <> '{}'", super::SCHEMA)));
        for t in super::TRIGGERS {
            assert!(q.contains(&format!("'{t}'")), "{t}");
        }
    }
}
