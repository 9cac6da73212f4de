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

/// The `-- lock-timeout: VALUE` directive among the script's leading comment lines: this
/// migration's statements wait up to VALUE for a lock (`0`: wait as long as it takes, no
/// retries) instead of the runner's `--lock-timeout`. VALUE: `0`, `500ms`, `3s`, `2min`.
/// `Some(Err)` for a value that does not parse.
pub fn lock_timeout(sql: &str) -> Option<Result<std::time::Duration, String>> {
    for line in sql.trim_start_matches('\u{feff}').lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let rest = line.strip_prefix("--")?.trim();
        let Some((key, value)) = rest.split_once(':') else {
            continue;
        };
        if key.trim().eq_ignore_ascii_case("lock-timeout") {
            let value = value.trim();
            return Some(parse_duration(value).ok_or_else(|| {
                format!("`-- lock-timeout: {value}`: use 0, or a number with ms, s or min")
            }));
        }
    }
    None
}

/// `0`, `250ms`, `2s`, `1.5s`, `2min` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let t = text.trim().to_ascii_lowercase();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix("min") {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else {
        (t.as_str(), 1.0)
    };
    let n: f64 = num.trim().parse().ok()?;
    (n.is_finite() && n >= 0.0).then(|| std::time::Duration::from_secs_f64(n * scale))
}

#[cfg(test)]
mod tests {
    #[test]
    fn lock_timeout_directive() {
        use std::time::Duration;
        assert_eq!(
            super::lock_timeout("-- no-transaction\n-- lock-timeout: 0\nSELECT 1;"),
            Some(Ok(Duration::ZERO))
        );
        assert_eq!(
            super::lock_timeout("-- lock-timeout: 5s\nALTER TABLE t ADD c int;"),
            Some(Ok(Duration::from_secs(5)))
        );
        assert_eq!(super::lock_timeout("SELECT 1;\n-- lock-timeout: 0\n"), None);
        assert!(matches!(
            super::lock_timeout("-- lock-timeout: soon\n"),
            Some(Err(_))
        ));
        assert_eq!(
            super::parse_duration("250ms"),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            super::parse_duration("2min"),
            Some(Duration::from_secs(120))
        );
    }

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
