//! Role changes seen by the tracker that reads the change log (`Tracker::with_ddl_log`): no
//! event trigger reports them, and a policy prints role names. In a test binary of its own:
//! roles are shared by the cluster, and tests/incremental.rs counts the whole snapshots that
//! role changes cause.

mod common;

use check::incremental::Tracker;
use check::snapshot;
use common::*;

#[test]
fn role_changes_reach_a_snapshot_refreshed_from_the_change_log() {
    let db = cluster()
        .database_from_template("check_incremental_roles_empty", |_| Ok(()))
        .unwrap();
    let mut c = db.connect().unwrap();
    c.batch_execute("CREATE TABLE orgs (id bigint PRIMARY KEY)")
        .unwrap();
    let mut tracker = Tracker::with_ddl_log(&mut c, &[]).unwrap();
    let changes = [
        ("CREATE ROLE check_roles_reader", false),
        (
            "CREATE POLICY p ON orgs TO check_roles_reader USING (id > 0)",
            true,
        ),
        // Only pg_authid changes: the policy prints the new name.
        (
            "ALTER ROLE check_roles_reader RENAME TO check_roles_reader2",
            true,
        ),
        ("DROP POLICY p ON orgs", true),
        ("DROP ROLE check_roles_reader2", false),
    ];
    for (change, changes_schema) in changes {
        c.batch_execute(change).unwrap();
        let refreshed = tracker.refresh(&mut c).unwrap();
        let whole = snapshot::take(&mut c, &[]).unwrap();
        assert_eq!(*tracker.snapshot(), whole, "after {change}");
        assert_eq!(
            refreshed.is_empty(),
            !changes_schema,
            "{change}: {refreshed:?}"
        );
    }
    let counters = tracker.counters();
    assert_eq!(counters.logged, changes.len(), "{counters:?}");
    // Tracker::with_ddl_log, then the three role changes.
    assert_eq!(counters.whole, 4, "{counters:?}");
}
