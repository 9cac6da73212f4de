//! Checksums, compatible with refinery's history table.
//!
//! refinery hashes `(name, version, sql)` with SipHash-1-3 and stores the `u64` as text. The
//! version is hashed as `i32` by a default refinery build and as `i64` with its `int8-versions`
//! feature, so the two give different checksums for the same file. Migrations are applied by
//! refinery built with `int8-versions` (diesel timestamps do not fit an `i32`), so the `i64`
//! variant is recorded; when verifying, either variant is accepted, so a database that a default
//! refinery build migrated is adopted as is.
//!
//! Line endings: CRLF is turned into LF before a script is hashed or sent to the server, so a
//! checkout with `core.autocrlf=true` is not reported as changed. A checksum refinery recorded from the raw
//! CRLF text is accepted too, so databases refinery migrated from such files are adopted as is.

use std::hash::{Hash, Hasher};

use siphasher::sip::SipHasher13;

/// The checksum we record for a migration.
pub fn of(version: i64, name: &str, sql: &str) -> u64 {
    raw(name, version, &normalise(sql))
}

/// Whether `recorded` (as stored in the history table) is a checksum of this migration text.
pub fn matches(recorded: u64, version: i64, name: &str, sql: &str) -> bool {
    let lf = normalise(sql);
    let mut candidates = vec![raw(name, version, &lf), raw(name, version, sql)];
    if let Ok(v) = i32::try_from(version) {
        candidates.push(raw(name, v, &lf));
        candidates.push(raw(name, v, sql));
    }
    candidates.contains(&recorded)
}

/// The text that is hashed and sent to the server: CRLF line endings become LF.
pub fn normalise(sql: &str) -> String {
    sql.replace("\r\n", "\n")
}

fn raw<V: Hash>(name: &str, version: V, sql: &str) -> u64 {
    let mut hasher = SipHasher13::new();
    name.hash(&mut hasher);
    version.hash(&mut hasher);
    sql.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_refinery_for_the_same_migration() {
        let sql = "CREATE TABLE t (id int);\n";
        let m = refinery::Migration::unapplied("V7__create_t", sql).unwrap();
        // This build of refinery uses int8-versions, so it hashes an i64 version.
        assert_eq!(m.checksum(), of(7, "create_t", sql));
        assert!(matches(m.checksum(), 7, "create_t", sql));
        // What a default (i32) refinery build records is accepted too.
        assert!(matches(raw("create_t", 7i32, sql), 7, "create_t", sql));
    }

    #[test]
    fn crlf_does_not_change_the_checksum() {
        let lf = "SELECT 1;\nSELECT 2;\n";
        let crlf = "SELECT 1;\r\nSELECT 2;\r\n";
        assert_eq!(of(1, "a", lf), of(1, "a", crlf));
        assert!(matches(raw("a", 1i32, crlf), 1, "a", crlf));
        assert!(matches(raw("a", 1i64, crlf), 1, "a", crlf));
        assert!(!matches(of(1, "a", lf), 1, "a", "SELECT 3;"));
    }
}
