//! SQL names → Rust names, per the Rust API guidelines: `UpperCamelCase` types and variants
//! with acronyms as one word (`user_ai_budget` → `UserAiBudget`, `API_KEY` → `ApiKey`),
//! `snake_case` fields with keywords escaped (`type` → `r#type`).
//!
//! Every SQL name PostgreSQL accepts gets a Rust name, deterministically ([`words`]):
//!
//! | SQL | Rust | rule |
//! |---|---|---|
//! | `in progress`, `in_progress`, `in-progress`, `in.progress` | `InProgress` | spaces, `_ . / \ : , ; ? !`, quotes and brackets split words; `-` between letters or digits too |
//! | `''` (empty) | `Empty` | |
//! | `C++`, `C#`, `A-`, `-1`, `50%` | `CPlusPlus`, `CHash`, `AMinus`, `Minus1`, `N50Percent` | other punctuation is spelled |
//! | `#`, `?`, `-`, `...`, `' '` | `Hash`, `Question`, `Minus`, `DotDotDot`, `Space` | a name with no letter or digit spells every character |
//! | `café`, `北京`, `🚀` | `Cafe`, `BeiJing`, `Rocket` | non-ASCII is transliterated (`deunicode`) |
//! | `1st`, field `2fa` | `N1st`, `_2fa` | a leading digit gets a prefix |
//! | `Self`, field `type`, field `self` | `SelfValue`, `r#type`, `self_` | keywords |
//!
//! Two SQL names that map to one Rust name in the same namespace are an error naming both
//! (rename one in `gen.toml`).

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

/// Characters that split words, like a space: `in progress`, `in_progress`, `in.progress` and
/// `in/progress` are all `InProgress`. `-` is one only between two letters or digits
/// (`in-progress`); elsewhere (`A-`, `-1`) it is spelled `Minus`.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '_' | '.'
                | '/'
                | '\\'
                | ':'
                | ','
                | ';'
                | '('
                | ')'
                | '['
                | ']'
                | '{'
                | '}'
                | '\''
                | '"'
                | '`'
                | '?'
                | '!'
        )
}

/// How a character is spelled when it carries meaning (`C++` is `CPlusPlus`, `C#` is
/// `CHash`) or when a name has nothing else (`-` is `Minus`, `?` is `Question`).
fn spelled(c: char) -> &'static str {
    match c {
        '+' => "plus",
        '-' => "minus",
        '#' => "hash",
        '&' => "and",
        '@' => "at",
        '%' => "percent",
        '*' => "star",
        '=' => "eq",
        '<' => "lt",
        '>' => "gt",
        '~' => "tilde",
        '^' => "caret",
        '|' => "pipe",
        '$' => "dollar",
        '_' => "underscore",
        '.' => "dot",
        '/' => "slash",
        '\\' => "backslash",
        ':' => "colon",
        ',' => "comma",
        ';' => "semicolon",
        '(' => "lparen",
        ')' => "rparen",
        '[' => "lbracket",
        ']' => "rbracket",
        '{' => "lbrace",
        '}' => "rbrace",
        '\'' => "quote",
        '"' => "dquote",
        '`' => "backtick",
        '?' => "question",
        '!' => "bang",
        '\t' => "tab",
        '\n' => "newline",
        '\r' => "cr",
        _ => "space",
    }
}

/// The words of a SQL name, space-separated, in ASCII: non-ASCII letters are transliterated
/// (`café` → `cafe`, `北京` → `Bei Jing`, emoji by name), separators split words, other
/// punctuation is spelled. A name with no letter or digit spells every character; the empty
/// name is `empty`.
pub fn words(sql: &str) -> String {
    let mut ascii = String::with_capacity(sql.len());
    for c in sql.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            match deunicode::deunicode_char(c) {
                // Letters join their neighbours (`café`); symbols and emoji are words.
                Some(t) if c.is_alphanumeric() => ascii.push_str(t),
                Some(t) if t.chars().any(|t| t.is_ascii_alphanumeric()) => {
                    ascii.push(' ');
                    ascii.push_str(t);
                    ascii.push(' ');
                }
                Some(t) if !t.trim().is_empty() => ascii.push_str(t),
                _ if c.is_whitespace() => ascii.push(' '),
                _ => ascii.push_str(&format!(" u{:04x} ", u32::from(c))),
            }
        }
    }
    let chars: Vec<char> = ascii.chars().collect();
    if chars.is_empty() {
        return "empty".to_owned();
    }
    let alnum = |i: usize| chars.get(i).is_some_and(char::is_ascii_alphanumeric);
    if !(0..chars.len()).any(alnum) {
        return chars
            .iter()
            .map(|&c| spelled(c))
            .collect::<Vec<_>>()
            .join(" ");
    }
    let mut out = String::with_capacity(chars.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if is_separator(c) || (c == '-' && i > 0 && alnum(i - 1) && alnum(i + 1)) {
            out.push(' ');
        } else {
            out.push(' ');
            out.push_str(spelled(c));
            out.push(' ');
        }
    }
    out
}

/// `UpperCamelCase` name for a type or variant, from [`words`]. A leading digit gets an `N`
/// prefix (`1st` → `N1st`); `Self` becomes `SelfValue`. Every SQL name gets a name; the
/// error is kept for a generator bug.
pub fn upper_camel(what: &'static str, sql: &str) -> Result<String, Error> {
    let mut name = words(sql).to_upper_camel_case();
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

/// `snake_case` name for a field, from [`words`]. A leading digit gets a `_` prefix.
pub fn snake(what: &'static str, sql: &str) -> Result<String, Error> {
    let mut name = words(sql).to_snake_case();
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

/// A TOML key as `gen.toml` writes it: quoted unless it is a bare key.
pub fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_owned()
    } else {
        toml_string(key)
    }
}

/// A TOML basic string.
pub fn toml_string(text: &str) -> String {
    let mut out = String::from('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Rust names handed out in one namespace, to detect two SQL names mapping to one. A
/// collision names both SQL names and the `gen.toml` line that renames the second.
#[derive(Debug)]
pub struct Namespace {
    what: &'static str,
    /// The `gen.toml` table holding renames for this namespace, e.g. `[rename]`.
    section: String,
    taken: BTreeMap<String, String>,
}

impl Namespace {
    /// A namespace whose renames live in `gen.toml`'s `section` (e.g. `[rename]`,
    /// `[enums."public.mood"]`).
    pub fn new(what: &'static str, section: impl Into<String>) -> Self {
        Namespace {
            what,
            section: section.into(),
            taken: BTreeMap::new(),
        }
    }

    /// Claim `rust` for `sql` (whose `gen.toml` key is `key`); the same SQL name may claim
    /// it again.
    pub fn claim(&mut self, rust: &str, sql: &str, key: &str) -> Result<(), Error> {
        match self.taken.get(rust) {
            Some(first) if first != sql => Err(Error::Collision {
                what: self.what,
                rust: rust.to_owned(),
                first: first.clone(),
                second: sql.to_owned(),
                fix: format!(
                    "`{} {} = {}`",
                    self.section,
                    toml_key(key),
                    toml_string(&format!("{rust}2"))
                )
                .into(),
            }),
            Some(_) => Ok(()),
            None => {
                self.taken.insert(rust.to_owned(), sql.to_owned());
                Ok(())
            }
        }
    }

    /// Reserve names the generated code itself uses in this namespace.
    pub fn reserve(&mut self, names: &[&str]) {
        for n in names {
            self.taken.insert((*n).to_owned(), String::new());
        }
    }

    /// Whether `rust` is reserved by the generated code (not by a SQL name).
    pub fn is_reserved(&self, rust: &str) -> bool {
        self.taken.get(rust).is_some_and(String::is_empty)
    }
}

/// A name a user wrote (in `gen.toml`) for generated code, as [`ident`] takes it: an
/// identifier, a keyword (written raw: `type` becomes `r#type`) or a raw identifier (`r#type`,
/// the same as `type`). `None` when it is none of these.
pub fn user_ident(rust: &str) -> Option<&str> {
    let bare = rust.strip_prefix("r#").unwrap_or(rust);
    valid(bare).then_some(bare)
}

/// A user's name from `gen.toml`, checked to be an identifier ([`user_ident`]).
pub fn user_name(what: &'static str, sql: &str, rust: &str) -> Result<String, Error> {
    if let Some(bare) = user_ident(rust) {
        Ok(bare.to_owned())
    } else {
        Err(Error::InvalidName {
            what,
            sql: sql.to_owned(),
            rust: rust.to_owned(),
        })
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
    fn every_name_gets_an_identifier() {
        let cases = [
            ("", "Empty"),
            ("#", "Hash"),
            ("?", "Question"),
            ("-", "Minus"),
            ("...", "DotDotDot"),
            (" ", "Space"),
            ("___", "UnderscoreUnderscoreUnderscore"),
            ("C++", "CPlusPlus"),
            ("C#", "CHash"),
            ("A-", "AMinus"),
            ("A+", "APlus"),
            ("A", "A"),
            ("-1", "Minus1"),
            ("50%", "N50Percent"),
            ("in progress", "InProgress"),
            ("in-progress", "InProgress"),
            ("in.progress", "InProgress"),
            ("café", "Cafe"),
            ("Ärger", "Arger"),
            ("北京", "BeiJing"),
            ("error", "Error"),
            ("Self", "SelfValue"),
            ("is done?", "IsDone"),
            ("a\u{0}b", "ASpaceB"),
        ];
        for (sql, rust) in cases {
            assert_eq!(upper_camel("name", sql).unwrap(), rust, "{sql:?}");
            let ident = ident(&upper_camel("name", sql).unwrap()).to_string();
            assert!(
                syn::parse_str::<syn::Ident>(&ident).is_ok(),
                "{sql:?}: {ident}"
            );
        }
        assert_eq!(snake("field", "?column?").unwrap(), "column");
        assert_eq!(snake("field", "#").unwrap(), "hash");
        assert_eq!(snake("field", "größe").unwrap(), "grosse");
        assert!(
            upper_camel("name", "🚀")
                .unwrap()
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        );
    }

    #[test]
    fn collisions_name_both_sql_names() {
        let mut ns = Namespace::new("CheckConstraint variant", "[constraints]");
        ns.claim("UsersAgeCheck", "users_age_check", "users_age_check")
            .unwrap();
        ns.claim("UsersAgeCheck", "users_age_check", "users_age_check")
            .unwrap();
        let err = ns
            .claim("UsersAgeCheck", "Users Age Check", "Users Age Check")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(r#"`[constraints] "Users Age Check" = "UsersAgeCheck2"`"#),
            "{err}"
        );
        assert!(
            err.contains("users_age_check") && err.contains("Users Age Check"),
            "{err}"
        );
        assert!(err.contains("UsersAgeCheck"), "{err}");
    }
}
