//! In-file directives.

/// Whether the script's first line is the `-- no-transaction` directive (case-insensitive,
/// surrounding spaces ignored). Such a script runs outside any transaction, one statement at a
/// time: for `CREATE INDEX CONCURRENTLY`, `ALTER TYPE ... ADD VALUE` used right away, `VACUUM`...
pub fn no_transaction(sql: &str) -> bool {
    let first = sql
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap_or("");
    let Some(rest) = first.trim().strip_prefix("--") else {
        return false;
    };
    rest.trim().eq_ignore_ascii_case("no-transaction")
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_first_line_counts() {
        assert!(super::no_transaction(
            "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);"
        ));
        assert!(super::no_transaction(
            "  --   No-Transaction  \r\nSELECT 1;"
        ));
        assert!(!super::no_transaction("SELECT 1;\n-- no-transaction\n"));
        assert!(!super::no_transaction("-- no-transactions\n"));
    }
}
