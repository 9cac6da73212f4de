//! SQL names → Rust names, per the Rust API guidelines: `UpperCamelCase` types and variants
//! with acronyms as one word (`user_ai_budget` → `UserAiBudget`, `API_KEY` → `ApiKey`),
//! `snake_case` fields with keywords escaped (`type` → `r#type`). Two SQL names that map to
//! one Rust name in the same namespace are an error naming both.

use crate::Error;
use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span};
use std::collections::BTreeMap;

/// Keywords of every edition (2024 included) and reserved words.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers.
const NOT_RAW: &[&str] = &["crate", "self", "Self", "super"];

/// Whether [`ident`] can make an identifier of `name`.
fn valid(name: &str) -> bool {
    KEYWORDS.contains(&name) || syn::parse_str::<syn::Ident>(name).is_ok()
}

/// `UpperCamelCase` name for a type or variant. A leading digit gets an `N` prefix; `Self`
/// becomes `SelfValue`.
pub fn upper_camel(what: &'static str, sql: &str) -> Result<String, Error> {
    let mut name = sql.to_upper_camel_case();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, 'N');
    }
    if name == "Self" {
        name.push_str("Value");
    }
    if name.is_empty() || !valid(&name) {
        return Err(Error::InvalidName {
            what,
            sql: sql.to_owned(),
            rust: name,
        });
    }
    Ok(name)
}

/// `snake_case` name for a field. A leading digit gets a `_` prefix.
pub fn snake(what: &'static str, sql: &str) -> Result<String, Error> {
    let mut name = sql.to_snake_case();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    if name.is_empty() || name == "_" || !valid(&name) {
        return Err(Error::InvalidName {
            what,
            sql: sql.to_owned(),
            rust: name,
        });
    }
    Ok(name)
}

/// An identifier token, raw (`r#type`) for keywords; `self`-like keywords get a `_` suffix.
pub fn ident(name: &str) -> Ident {
    if NOT_RAW.contains(&name) {
        Ident::new(&format!("{name}_"), Span::call_site())
    } else if KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

/// Rust names handed out in one namespace, to detect two SQL names mapping to one.
#[derive(Debug)]
pub struct Namespace {
    what: &'static str,
    taken: BTreeMap<String, String>,
}

impl Namespace {
    pub fn new(what: &'static str) -> Self {
        Namespace {
            what,
            taken: BTreeMap::new(),
        }
    }

    /// Claim `rust` for `sql`; the same SQL name may claim it again.
    pub fn claim(&mut self, rust: &str, sql: &str) -> Result<(), Error> {
        match self.taken.get(rust) {
            Some(first) if first != sql => Err(Error::Collision {
                what: self.what,
                rust: rust.to_owned(),
                first: first.clone(),
                second: sql.to_owned(),
            }),
            Some(_) => Ok(()),
            None => {
                self.taken.insert(rust.to_owned(), sql.to_owned());
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acronyms_are_one_word() {
        let cases = [
            (
                "user_ai_budget_overrides_spend_limit_micros_check",
                "UserAiBudgetOverridesSpendLimitMicrosCheck",
            ),
            ("api_keys_pkey", "ApiKeysPkey"),
            ("APIKey", "ApiKey"),
            ("HTTPServer_url", "HttpServerUrl"),
            ("Order Items_pkey", "OrderItemsPkey"),
            ("users type is known", "UsersTypeIsKnown"),
            ("in-progress", "InProgress"),
            ("1st_place", "N1stPlace"),
            ("self", "SelfValue"),
            ("type", "Type"),
        ];
        for (sql, rust) in cases {
            assert_eq!(upper_camel("name", sql).unwrap(), rust, "{sql}");
        }
    }

    #[test]
    fn fields_are_snake_case_with_keywords_escaped() {
        assert_eq!(snake("field", "displayName").unwrap(), "display_name");
        assert_eq!(snake("field", "Order ID").unwrap(), "order_id");
        assert_eq!(snake("field", "2fa").unwrap(), "_2fa");
        assert_eq!(
            ident(&snake("field", "type").unwrap()).to_string(),
            "r#type"
        );
        assert_eq!(ident(&snake("field", "gen").unwrap()).to_string(), "r#gen");
        assert_eq!(ident(&snake("field", "self").unwrap()).to_string(), "self_");
        assert_eq!(ident("name").to_string(), "name");
    }

    #[test]
    fn unnameable_names_are_errors() {
        assert!(upper_camel("name", "___").is_err());
        assert!(snake("field", "?").is_err());
        let err = upper_camel("enum label", "").unwrap_err().to_string();
        assert!(err.contains("enum label"), "{err}");
    }

    #[test]
    fn collisions_name_both_sql_names() {
        let mut ns = Namespace::new("CheckConstraint variant");
        ns.claim("UsersAgeCheck", "users_age_check").unwrap();
        ns.claim("UsersAgeCheck", "users_age_check").unwrap();
        let err = ns
            .claim("UsersAgeCheck", "Users Age Check")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("users_age_check") && err.contains("Users Age Check"),
            "{err}"
        );
        assert!(err.contains("UsersAgeCheck"), "{err}");
    }
}
