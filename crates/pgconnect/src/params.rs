//! Taking the TLS parameters `postgres::Config` does not know out of a connection string.
//!
//! `postgres::Config` parses `sslmode` but only knows `disable`, `prefer` and `require`, and
//! rejects `sslrootcert`, `sslcert` and `sslkey` as unknown options. [`extract`] removes
//! those (and every valid `sslmode`) from a URL's query string or a `key=value` string and
//! returns them; the rest is left for `postgres::Config` to parse (and to report errors in).

/// The parameters this crate handles itself.
const OURS: [&str; 4] = ["sslmode", "sslrootcert", "sslcert", "sslkey"];

/// The `sslmode` values this crate understands (libpq's, `allow` included).
pub(crate) const SSL_MODES: [&str; 6] = [
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// A connection string split into what `postgres::Config` parses and our parameters.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Extracted {
    /// The connection string without our parameters.
    pub(crate) rest: String,
    /// Our parameters, in order (the last of a repeated key wins, as in libpq).
    pub(crate) params: Vec<(String, String)>,
}

impl Extracted {
    /// No parameters.
    pub(crate) fn empty() -> Extracted {
        Extracted {
            rest: String::new(),
            params: Vec::new(),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Whether `(key, value)` is taken out of the string: our keys, except an `sslmode` we do
/// not know (left in, so `postgres::Config` reports it).
fn ours(key: &str, value: &str) -> bool {
    OURS.contains(&key) && (key != "sslmode" || SSL_MODES.contains(&value))
}

/// Splits `conn` (a `postgres://` / `postgresql://` URL or a libpq `key=value` string).
/// `None` when it cannot be read (then `postgres::Config` gets it as it is, and says why).
pub(crate) fn extract(conn: &str) -> Option<Extracted> {
    if conn.starts_with("postgresql://") || conn.starts_with("postgres://") {
        extract_url(conn)
    } else {
        extract_key_values(conn)
    }
}

fn extract_url(url: &str) -> Option<Extracted> {
    let Some(q) = url.find('?') else {
        return Some(Extracted {
            rest: url.to_string(),
            params: Vec::new(),
        });
    };
    let (base, query) = (&url[..q], &url[q + 1..]);
    let mut kept = Vec::new();
    let mut params = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (percent_decode(k)?, percent_decode(v)?);
        if ours(&key, &value) {
            params.push((key, value));
        } else {
            kept.push(pair);
        }
    }
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Some(Extracted { rest, params })
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// libpq's `key = value` syntax: values optionally single-quoted, `\` escapes.
fn extract_key_values(conn: &str) -> Option<Extracted> {
    let mut chars = conn.chars().peekable();
    let mut kept = Vec::new();
    let mut params = Vec::new();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return None;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next()? {
                    '\\' => value.push(chars.next()?),
                    '\'' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.push(chars.next()?);
                } else {
                    value.push(c);
                }
            }
        }
        if ours(&key, &value) {
            params.push((key, value));
        } else {
            kept.push(format!(
                "{key}='{}'",
                value.replace('\\', "\\\\").replace('\'', "\\'")
            ));
        }
    }
    Some(Extracted {
        rest: kept.join(" "),
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(e: &Extracted) -> Vec<(&str, &str)> {
        e.params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn url_parameters_are_taken_out() {
        let e = extract(
            "postgresql://app:pw@db.example:5432/app?sslmode=verify-full&application_name=x\
             &sslrootcert=%2Fetc%2Fca%20b.pem&sslcert=c.pem&sslkey=k.pem",
        )
        .unwrap();
        assert_eq!(
            e.rest,
            "postgresql://app:pw@db.example:5432/app?application_name=x"
        );
        assert_eq!(
            pairs(&e),
            [
                ("sslmode", "verify-full"),
                ("sslrootcert", "/etc/ca b.pem"),
                ("sslcert", "c.pem"),
                ("sslkey", "k.pem")
            ]
        );
        let only = extract("postgres://h/db?sslmode=require").unwrap();
        assert_eq!(only.rest, "postgres://h/db");
        assert_eq!(only.get("sslmode"), Some("require"));
        let none = extract("postgres://h/db").unwrap();
        assert_eq!(none.rest, "postgres://h/db");
        assert!(none.params.is_empty());
    }

    #[test]
    fn unknown_sslmode_is_left_for_postgres_to_report() {
        let e = extract("postgres://h/db?sslmode=bogus").unwrap();
        assert_eq!(e.rest, "postgres://h/db?sslmode=bogus");
        assert!(e.params.is_empty());
    }

    #[test]
    fn key_value_parameters_are_taken_out() {
        let e = extract(
            "host=db.example  port = 5432 sslmode=verify-ca sslrootcert='/a b/c\\'s.pem' \
             password='p w\\\\'",
        )
        .unwrap();
        assert_eq!(e.rest, "host='db.example' port='5432' password='p w\\\\'");
        assert_eq!(
            pairs(&e),
            [("sslmode", "verify-ca"), ("sslrootcert", "/a b/c's.pem")]
        );
        let reparsed: postgres::Config = e.rest.parse().unwrap();
        assert_eq!(reparsed.get_password(), Some(&b"p w\\"[..]));
        assert_eq!(extract("host='unterminated"), None);
        assert_eq!(extract("hostonly"), None);
    }

    #[test]
    fn last_value_wins() {
        let e = extract("postgres://h/db?sslmode=disable&sslmode=require").unwrap();
        assert_eq!(e.get("sslmode"), Some("require"));
    }
}
