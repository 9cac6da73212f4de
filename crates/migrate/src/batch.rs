//! Several migrations per message: which migrations of a transaction travel together.
//!
//! In the default mode (one transaction for the whole run) each migration used to cost one
//! round trip. Here consecutive migrations are grouped into messages of up to
//! [`MAX_BATCH_BYTES`] of SQL, each sent as one simple query together with the migrations'
//! history rows (see [`crate::refinery_bridge::Bridge`]). When such a message fails, the
//! runner's transaction is rolled back and run again with that message's migrations one per
//! message, so the failing one is found and its error located in its file exactly as when
//! every migration travelled alone (the whole run is one transaction, so nothing of it was
//! kept either way).
//!
//! A migration shares a message only when its script is free of top-level transaction control
//! and tokenizes ([`shareable`]): then its statements end where its text ends, and nothing in
//! it can end the runner's transaction before the next migration starts. Any other migration
//! travels alone, guarded as before.

use std::ops::Range;

use postgres::SimpleQueryMessage;

/// Upper bound of the SQL sent in one message (a bigger migration travels alone).
pub(crate) const MAX_BATCH_BYTES: usize = 256 * 1024;

/// Upper bound of the migrations sent in one message, so that a failed message is replayed
/// in a bounded number of round trips.
pub(crate) const MAX_BATCH_MIGRATIONS: usize = 256;

/// The column the guard's `txid_current()` is named in a message of several migrations, so
/// that its rows are told apart from rows the migrations' own queries return.
pub(crate) const GUARD_COLUMN: &str = "migrate_batch_xid";

/// Sent before the first migration of a message.
pub(crate) const GUARD_BEFORE: &str = "SELECT txid_current() AS migrate_batch_xid;\n";

/// Sent after the last migration of a message. It starts with a newline so that a trailing
/// `--` comment in the script cannot swallow it.
pub(crate) const GUARD_AFTER: &str = "\n;SELECT txid_current() AS migrate_batch_xid";

/// The guard's transaction ids in a message's results, in order: one before the first
/// migration and one after the last.
pub(crate) fn xids(messages: &[SimpleQueryMessage]) -> Vec<i64> {
    messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r)
                if r.columns().len() == 1 && r.columns()[0].name() == GUARD_COLUMN =>
            {
                r.get(0).and_then(|v| v.parse().ok())
            }
            _ => None,
        })
        .collect()
}

/// How refinery's history inserts start; the rest is one `(version, name, applied_on,
/// checksum)` tuple.
const INSERT_HEAD: &str =
    "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES ";

/// refinery's history inserts as one multi-row `INSERT`, or `None` when one of them is not in
/// the form refinery writes (then they are sent as they are).
pub(crate) fn merge_inserts(inserts: &[&str]) -> Option<String> {
    let mut tuples = Vec::with_capacity(inserts.len());
    for insert in inserts {
        let tuple = insert.strip_prefix(INSERT_HEAD)?;
        if !(tuple.starts_with('(') && tuple.ends_with(')')) {
            return None;
        }
        tuples.push(tuple);
    }
    (!tuples.is_empty()).then(|| format!("{INSERT_HEAD}{}", tuples.join(",\n")))
}

/// Whether a script may change `lock_timeout` for what follows it in the transaction (it
/// names the setting, or resets settings): then the next migration's `SET LOCAL lock_timeout`
/// is sent again even when it is the same.
pub(crate) fn may_reset(sql: &str) -> bool {
    let bytes = sql.as_bytes();
    let has = |word: &[u8]| {
        bytes
            .windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word))
    };
    has(b"lock_timeout") || has(b"reset")
}

/// Whether a script (its text with LF line endings, see [`crate::checksum::normalise`]) may
/// share a message with other migrations: it tokenizes, and it has no top-level `BEGIN`,
/// `COMMIT`, `ROLLBACK`, ... (see [`crate::txcontrol`]).
pub(crate) fn shareable(sql: &str) -> bool {
    crate::txcontrol::find_tokenized(sql).is_some_and(|tc| tc.is_empty())
}

/// Group migrations (their SQL sizes in bytes, and whether each is [`shareable`]) into
/// consecutive ranges, one message each: shareable migrations together up to `max_bytes` and
/// `max_count`, every other migration alone.
pub(crate) fn plan(
    sizes: &[usize],
    shareable: &[bool],
    max_bytes: usize,
    max_count: usize,
) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, (&size, &share)) in sizes.iter().zip(shareable).enumerate() {
        let open = i > start;
        if open && (!share || bytes + size > max_bytes || i - start >= max_count) {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        if !share {
            out.push(i..i + 1);
            start = i + 1;
            bytes = 0;
            continue;
        }
        bytes += size;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{may_reset, merge_inserts, plan, shareable};

    #[test]
    fn small_migrations_share_messages_up_to_the_bounds() {
        assert_eq!(plan(&[10; 5], &[true; 5], 30, 100), [0..3, 3..5]);
        assert_eq!(plan(&[10; 5], &[true; 5], 1000, 2), [0..2, 2..4, 4..5]);
        assert_eq!(
            plan(&[10; 5], &[true; 5], 1000, 100),
            std::slice::from_ref(&(0..5))
        );
    }

    #[test]
    fn an_unshareable_or_oversized_migration_travels_alone() {
        assert_eq!(
            plan(&[10; 5], &[true, true, false, true, true], 1000, 100),
            [0..2, 2..3, 3..5]
        );
        assert_eq!(plan(&[10, 50, 10], &[true; 3], 30, 100), [0..1, 1..2, 2..3]);
        assert_eq!(
            plan(&[10], &[false], 30, 100),
            std::slice::from_ref(&(0..1))
        );
        assert!(plan(&[], &[], 30, 100).is_empty());
    }

    #[test]
    fn refinerys_inserts_merge_into_one() {
        let a = "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (1, 'a', 't', '1')";
        let b = "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (2, 'b', 't', '2')";
        assert_eq!(
            merge_inserts(&[a, b]).as_deref(),
            Some(
                "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (1, 'a', 't', '1'),\n(2, 'b', 't', '2')"
            )
        );
        assert_eq!(merge_inserts(&[a, "INSERT INTO other VALUES (1)"]), None);
        assert_eq!(merge_inserts(&[]), None);
    }

    #[test]
    fn scripts_that_may_change_lock_timeout_are_seen() {
        assert!(may_reset("SET LOCAL LOCK_TIMEOUT = 0;"));
        assert!(may_reset("RESET ALL;"));
        assert!(!may_reset("CREATE TABLE t (id int);"));
    }

    #[test]
    fn transaction_control_and_untokenizable_scripts_are_not_shareable() {
        assert!(shareable(
            "CREATE TABLE a (id int);\nDO $$ BEGIN COMMIT; END $$;\n"
        ));
        assert!(!shareable("CREATE TABLE a (id int);\nCOMMIT;\n"));
        assert!(!shareable("SELECT 'unterminated;\n"));
        assert!(!shareable("SELECT 1; /* unterminated comment\n"));
    }
}
