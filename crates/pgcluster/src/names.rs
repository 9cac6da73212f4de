//! Names: SQL identifier quoting and validation, unique suffixes, URL percent-encoding.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes.
pub(crate) const MAX_IDENTIFIER: usize = 63;

/// Longest template key accepted by `database_from_template`.
pub(crate) const MAX_KEY: usize = 40;

/// `"name"` with embedded quotes doubled.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Checks a database name the server would accept without truncating it.
pub(crate) fn check_database_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.len() > MAX_IDENTIFIER {
        "it is longer than 63 bytes, which PostgreSQL would silently truncate"
    } else if name.contains('\0') {
        "it contains a NUL byte"
    } else {
        return Ok(());
    };
    Err(Error::InvalidName {
        what: "database name",
        value: name.to_string(),
        reason,
    })
}

/// Checks a template key: `[a-z0-9_]`, 1 to 40 characters.
pub(crate) fn check_template_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= MAX_KEY
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        return Ok(());
    }
    Err(Error::InvalidName {
        what: "template key",
        value: key.to_string(),
        reason: "use 1 to 40 characters from [a-z0-9_], e.g. a hex hash of the migration set",
    })
}

/// A process-unique, random-ish suffix: `<pid>_<counter>_<6 hex digits>`.
pub(crate) fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(n);
    if let Ok(now) = SystemTime::now().duration_since(UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    let random = hasher.finish() & 0xff_ffff;
    format!("{}_{n}_{random:06x}", std::process::id())
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_encoding() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(percent_encode("/tmp/a b"), "%2Ftmp%2Fa%20b");
        assert!(check_template_key("abc_123").is_ok());
        assert!(check_template_key("").is_err());
        assert!(check_template_key("Abc").is_err());
        assert!(check_template_key(&"a".repeat(41)).is_err());
        assert!(check_database_name(&"a".repeat(64)).is_err());
        assert_ne!(unique_suffix(), unique_suffix());
    }
}
