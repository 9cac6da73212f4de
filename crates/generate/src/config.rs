//! `gen.toml`: what a project tells the generator about its schema.
//!
//! ```toml
//! # Only these schemas (default: every schema but PostgreSQL's own).
//! schemas = ["public", "utils"]
//!
//! # PostgreSQL type (bare, or schema-qualified) -> Rust type.
//! [types]
//! tsvector = "String"
//! "public.money" = "my_crate::Money"
//!
//! # One column ("table.column" in public, or "schema.table.column") -> Rust type.
//! [columns]
//! "users.avatar" = "Vec<u8>"
//!
//! # Rust names instead of the derived ones: a table, view or enum ("name" in public, or
//! # "schema.name"), or a column ("table.column", "schema.table.column").
//! [rename]
//! "audit.events" = "AuditEvent"
//! "users.Order ID" = "order_id_text"
//!
//! # Constraint name -> variant name.
//! [constraints]
//! "Users Age Check" = "UsersAgeLimit"
//!
//! # Enum labels -> variant names, one table per enum.
//! [enums.form_type]
//! "" = "Unset"
//!
//! # Field names of one typed query (named as in `-- name: GetBookWithAuthor :one`): the key
//! # is the name the collision rule gives, the value the name to use.
//! [queries.GetBookWithAuthor.columns]
//! books_id = "book_id"
//! [queries.GetBookWithAuthor.params]
//! id = "book_id"
//!
//! # How `Session::new` runs the typed queries: prepared once per connection (true, the
//! # default) or unprepared, for PgBouncer in transaction mode (false).
//! [query_runtime]
//! prepare = false
//! ```
//!
//! A name part holding a `.` is written in double quotes: `'"my.table".col'`.
//! Every key is checked against the migrated schema: a mapping for a type, column, enum,
//! label or constraint that does not exist is an error naming the file, line and key, as is
//! an unknown key or a value that is not a Rust type or identifier. `--type KEY=TYPE` on the
//! command line adds to `[types]` and wins over the file.

use schema::SchemaModel;
use schema::model::QualifiedName;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The file name looked for at the workspace root.
pub const CONFIG_FILE: &str = "gen.toml";

/// Where a setting was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A line of a `gen.toml`.
    File { path: PathBuf, line: usize },
    /// `--type KEY=TYPE`.
    CommandLine,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line } => write!(f, "{}:{line}", path.display()),
            Origin::CommandLine => f.write_str("--type"),
        }
    }
}

/// One `key = "value"` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub key: String,
    pub value: String,
    pub origin: Origin,
}

/// The labels of one enum (`[enums.NAME]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumLabels {
    /// The enum, as written (`form_type`, `billing.plan`).
    pub enum_key: String,
    pub origin: Origin,
    pub labels: Vec<Setting>,
}

/// A parsed `gen.toml` (or none), plus command-line mappings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenConfig {
    /// The file read, if any.
    pub path: Option<PathBuf>,
    pub schemas: Option<(Vec<String>, Origin)>,
    pub types: Vec<Setting>,
    pub columns: Vec<Setting>,
    pub rename: Vec<Setting>,
    pub constraints: Vec<Setting>,
    pub enums: Vec<EnumLabels>,
    /// `[query_runtime] prepare`: the typed queries' default execution.
    pub prepare_queries: Option<(bool, Origin)>,
    pub queries: Vec<QueryFields>,
}

/// The field renames of one typed query (`[queries.NAME.columns]`, `[queries.NAME.params]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryFields {
    /// The query's name, as in its `-- name:` line.
    pub query: String,
    pub origin: Origin,
    pub columns: Vec<Setting>,
    pub params: Vec<Setting>,
}

/// A configuration that cannot be used; every variant says where and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{origin}: `{key}`: {message}")]
    Invalid {
        origin: Origin,
        key: String,
        message: String,
    },
    #[error("--type {arg:?}: expected KEY=RUST_TYPE, e.g. --type tsvector=String")]
    BadArgument { arg: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    schemas: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    types: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    columns: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    rename: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    constraints: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    enums: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<String>>>,
    #[serde(default)]
    queries: BTreeMap<Spanned<String>, RawQueryFields>,
    query_runtime: Option<RawQueryRuntime>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueryFields {
    #[serde(default)]
    columns: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    params: BTreeMap<Spanned<String>, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueryRuntime {
    prepare: Option<Spanned<bool>>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl GenConfig {
    /// Read and parse `path`.
    pub fn load(path: &Path) -> Result<GenConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        GenConfig::parse(&text, path)
    }

    /// `dir/gen.toml` when it exists, else an empty configuration.
    pub fn discover(dir: &Path) -> Result<GenConfig, ConfigError> {
        let path = dir.join(CONFIG_FILE);
        if path.is_file() {
            GenConfig::load(&path)
        } else {
            Ok(GenConfig::default())
        }
    }

    /// Parse `text` (read from `path`, for messages).
    pub fn parse(text: &str, path: &Path) -> Result<GenConfig, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            line: e.span().map_or(1, |s| line_of(text, s.start)),
            message: e.message().trim_end().to_owned(),
        })?;
        let origin = |offset: usize| Origin::File {
            path: path.to_owned(),
            line: line_of(text, offset),
        };
        let settings = |map: BTreeMap<Spanned<String>, Spanned<String>>| -> Vec<Setting> {
            let mut v: Vec<Setting> = map
                .into_iter()
                .map(|(k, v)| Setting {
                    origin: origin(k.span().start),
                    key: k.into_inner(),
                    value: v.into_inner(),
                })
                .collect();
            v.sort_by(|a, b| a.key.cmp(&b.key));
            v
        };
        Ok(GenConfig {
            path: Some(path.to_owned()),
            schemas: raw.schemas.map(|s| {
                let o = origin(s.span().start);
                (s.into_inner(), o)
            }),
            types: settings(raw.types),
            columns: settings(raw.columns),
            rename: settings(raw.rename),
            constraints: settings(raw.constraints),
            enums: raw
                .enums
                .into_iter()
                .map(|(k, labels)| EnumLabels {
                    origin: origin(k.span().start),
                    enum_key: k.into_inner(),
                    labels: settings(labels),
                })
                .collect(),
            queries: raw
                .queries
                .into_iter()
                .map(|(k, fields)| QueryFields {
                    origin: origin(k.span().start),
                    query: k.into_inner(),
                    columns: settings(fields.columns),
                    params: settings(fields.params),
                })
                .collect(),
            prepare_queries: raw
                .query_runtime
                .and_then(|r| r.prepare)
                .map(|p| (*p.get_ref(), origin(p.span().start))),
        })
    }

    /// Add `--type KEY=TYPE` mappings; they replace a file mapping of the same key.
    pub fn with_type_arguments(mut self, args: &[String]) -> Result<GenConfig, ConfigError> {
        for arg in args {
            let Some((key, value)) = arg.split_once('=') else {
                return Err(ConfigError::BadArgument { arg: arg.clone() });
            };
            let (key, value) = (key.trim(), value.trim());
            if key.is_empty() || value.is_empty() {
                return Err(ConfigError::BadArgument { arg: arg.clone() });
            }
            self.types.retain(|s| s.key != key);
            self.types.push(Setting {
                key: key.to_owned(),
                value: value.to_owned(),
                origin: Origin::CommandLine,
            });
        }
        self.types.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(self)
    }

    /// What the generated files depend on, as text for the inputs hash: every setting,
    /// without where it was written.
    pub fn fingerprint(&self) -> String {
        let mut out = String::new();
        if let Some((schemas, _)) = &self.schemas {
            out.push_str(&format!("schemas={schemas:?}\n"));
        }
        for (section, settings) in [
            ("types", &self.types),
            ("columns", &self.columns),
            ("rename", &self.rename),
            ("constraints", &self.constraints),
        ] {
            for s in settings {
                out.push_str(&format!("{section}:{:?}={:?}\n", s.key, s.value));
            }
        }
        for e in &self.enums {
            for s in &e.labels {
                out.push_str(&format!(
                    "enums:{:?}:{:?}={:?}\n",
                    e.enum_key, s.key, s.value
                ));
            }
        }
        for q in &self.queries {
            for (section, settings) in [("columns", &q.columns), ("params", &q.params)] {
                for s in settings {
                    out.push_str(&format!(
                        "queries:{:?}:{section}:{:?}={:?}\n",
                        q.query, s.key, s.value
                    ));
                }
            }
        }
        if let Some((prepare, _)) = &self.prepare_queries {
            out.push_str(&format!("query_runtime:prepare={prepare}\n"));
        }
        out
    }

    /// The typed queries' field renames, checked to be Rust identifiers. Whether each query
    /// and field exists is checked when the queries are generated, against their real fields.
    pub fn query_fields(
        &self,
    ) -> Result<BTreeMap<String, querygen::fields::FieldRenames>, ConfigError> {
        let mut out = BTreeMap::new();
        for q in &self.queries {
            let renames = |settings: &[Setting]| -> Result<Vec<_>, ConfigError> {
                settings
                    .iter()
                    .map(|s| {
                        let to = identifier(s).map_err(|message| ConfigError::Invalid {
                            origin: s.origin.clone(),
                            key: s.key.clone(),
                            message,
                        })?;
                        Ok(querygen::fields::FieldRename {
                            from: s.key.clone(),
                            to,
                            origin: s.origin.to_string(),
                        })
                    })
                    .collect()
            };
            out.insert(
                q.query.clone(),
                querygen::fields::FieldRenames {
                    origin: q.origin.to_string(),
                    columns: renames(&q.columns)?,
                    params: renames(&q.params)?,
                },
            );
        }
        Ok(out)
    }

    /// Check every key against the migrated schema and turn the configuration into
    /// generation options. `catalog` lists what the model does not hold.
    pub fn resolve(
        &self,
        model: &SchemaModel,
        catalog: &Catalog,
    ) -> Result<codegen::Options, ConfigError> {
        let mut options = codegen::Options {
            composites: codegen::composites_of(model),
            ..codegen::Options::default()
        };
        let invalid = |s: &Setting, message: String| ConfigError::Invalid {
            origin: s.origin.clone(),
            key: s.key.clone(),
            message,
        };
        if let Some((schemas, origin)) = &self.schemas {
            for s in schemas {
                if !catalog.schemas.contains(s) {
                    return Err(ConfigError::Invalid {
                        origin: origin.clone(),
                        key: "schemas".to_owned(),
                        message: format!(
                            "schema {s:?} does not exist in the migrated database (it has: {})",
                            join(catalog.schemas.iter())
                        ),
                    });
                }
            }
            options.schemas = Some(schemas.clone());
        }
        for s in &self.types {
            rust_type(s).map_err(|m| invalid(s, m))?;
            let exists = match split_name(&s.key) {
                Some(parts) if parts.len() == 2 => catalog
                    .types
                    .contains(&QualifiedName::new(&parts[0], &parts[1])),
                _ => {
                    catalog.types.iter().any(|t| t.name == s.key)
                        || model
                            .relations
                            .iter()
                            .flat_map(|r| &r.columns)
                            .any(|c| c.ty.sql == s.key)
                }
            };
            if !exists {
                return Err(invalid(
                    s,
                    "no type of this name exists in the migrated database (write it bare, \
                     `ltree`, or qualified, `public.ltree`)"
                        .to_owned(),
                ));
            }
            options
                .type_overrides
                .insert(s.key.clone(), s.value.clone());
        }
        for s in &self.columns {
            rust_type(s).map_err(|m| invalid(s, m))?;
            let key = column_key(model, &s.key).map_err(|m| invalid(s, m))?;
            options.column_overrides.insert(key, s.value.clone());
        }
        for s in &self.rename {
            let to = identifier(s).map_err(|m| invalid(s, m))?;
            let key = match object_key(model, &s.key) {
                Ok(key) => key,
                Err(object_error) => column_key(model, &s.key).map_err(|column_error| {
                    invalid(
                        s,
                        format!(
                            "names no table, view, enum or column ({object_error}; {column_error})"
                        ),
                    )
                })?,
            };
            options.renames.insert(key, to);
        }
        for s in &self.constraints {
            let to = identifier(s).map_err(|m| invalid(s, m))?;
            if !model.constraints.iter().any(|c| c.name == s.key) {
                return Err(invalid(
                    s,
                    "no constraint, unique index or trigger-raised name of this name exists"
                        .to_owned(),
                ));
            }
            options.constraint_renames.insert(s.key.clone(), to);
        }
        for e in &self.enums {
            let ty = enum_of(model, &e.enum_key).map_err(|message| ConfigError::Invalid {
                origin: e.origin.clone(),
                key: format!("enums.{}", e.enum_key),
                message,
            })?;
            let mut labels = BTreeMap::new();
            for s in &e.labels {
                let to = identifier(s).map_err(|m| invalid(s, m))?;
                if !ty.labels.contains(&s.key) {
                    return Err(invalid(
                        s,
                        format!(
                            "enum {} has no label {:?} (its labels: {})",
                            ty.name,
                            s.key,
                            join(ty.labels.iter().map(|l| format!("{l:?}")))
                        ),
                    ));
                }
                labels.insert(s.key.clone(), to);
            }
            options.enum_labels.insert(ty.name.to_string(), labels);
        }
        Ok(options)
    }
}

/// What `resolve` needs from the database beyond the model: every type and schema.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub types: BTreeSet<QualifiedName>,
    pub schemas: BTreeSet<String>,
}

impl Catalog {
    /// Read every type and every schema but PostgreSQL's internal ones.
    pub fn read(client: &mut postgres::Client) -> Result<Catalog, postgres::Error> {
        let mut catalog = Catalog::default();
        for row in client.query(
            "SELECT n.nspname::text, t.typname::text FROM pg_catalog.pg_type t \
             JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace",
            &[],
        )? {
            catalog.types.insert(QualifiedName::new(
                row.get::<_, String>(0),
                row.get::<_, String>(1),
            ));
        }
        for row in client.query(
            "SELECT nspname::text FROM pg_catalog.pg_namespace \
             WHERE nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%'",
            &[],
        )? {
            catalog.schemas.insert(row.get(0));
        }
        Ok(catalog)
    }
}

fn join<S: fmt::Display>(items: impl Iterator<Item = S>) -> String {
    let items: Vec<String> = items.map(|s| s.to_string()).collect();
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

fn rust_type(s: &Setting) -> Result<(), String> {
    syn::parse_str::<syn::Type>(&s.value)
        .map(drop)
        .map_err(|e| format!("{:?} is not a Rust type ({e}); write a path such as \"String\" or \"my_crate::Money\"", s.value))
}

fn identifier(s: &Setting) -> Result<String, String> {
    codegen::naming::user_ident(&s.value)
        .map(str::to_owned)
        .ok_or_else(|| {
            format!(
                "{:?} is not a Rust identifier; write a name such as \"OrderItem\"",
                s.value
            )
        })
}

/// `a.b.c` split at dots outside double quotes; `"x.y"` is one part (`""` is a quote).
/// `None` when a quote is not closed.
pub fn split_name(key: &str) -> Option<Vec<String>> {
    let mut parts = vec![String::new()];
    let mut chars = key.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                parts.last_mut()?.push('"');
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(String::new()),
            c => parts.last_mut()?.push(c),
        }
    }
    (!quoted).then_some(parts)
}

fn qualified(parts: &[String]) -> Option<QualifiedName> {
    match parts {
        [name] => Some(QualifiedName::new("public", name)),
        [schema, name] => Some(QualifiedName::new(schema, name)),
        _ => None,
    }
}

/// `schema.relation.column` of a `[columns]`/`[rename]` key naming an existing column.
fn column_key(model: &SchemaModel, key: &str) -> Result<String, String> {
    let parts = split_name(key).ok_or("a double quote is not closed")?;
    let (relation, column) = match parts.as_slice() {
        [table, column] => (QualifiedName::new("public", table), column),
        [schema, table, column] => (QualifiedName::new(schema, table), column),
        _ => {
            return Err(
                "a column is written \"table.column\" or \"schema.table.column\"".to_owned(),
            );
        }
    };
    let Some(r) = model.relations.iter().find(|r| r.name == relation) else {
        return Err(format!("no table or view {relation}"));
    };
    if !r.columns.iter().any(|c| &c.name == column) {
        return Err(format!(
            "{relation} has no column {column:?} (its columns: {})",
            join(r.columns.iter().map(|c| format!("{:?}", c.name)))
        ));
    }
    Ok(codegen::column_key(&relation, column))
}

/// `schema.name` of a `[rename]` key naming a relation or an enum.
fn object_key(model: &SchemaModel, key: &str) -> Result<String, String> {
    let name = split_name(key)
        .as_deref()
        .and_then(qualified)
        .ok_or_else(|| format!("no table, view or enum {key}"))?;
    let exists = model.relations.iter().any(|r| r.name == name)
        || model.enums.iter().any(|e| e.name == name);
    if exists {
        Ok(name.to_string())
    } else {
        Err(format!("no table, view or enum {name}"))
    }
}

fn enum_of<'m>(model: &'m SchemaModel, key: &str) -> Result<&'m schema::model::EnumType, String> {
    let name = split_name(key)
        .as_deref()
        .and_then(qualified)
        .ok_or_else(|| format!("{key:?} is not an enum name"))?;
    model.enums.iter().find(|e| e.name == name).ok_or_else(|| {
        format!(
            "no enum {name} (enums: {})",
            join(model.enums.iter().map(|e| e.name.to_string()))
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_at_dots_outside_quotes() {
        assert_eq!(split_name("a.b").unwrap(), ["a", "b"]);
        assert_eq!(
            split_name(r#""Weird Schema"."Order.Items".x"#).unwrap(),
            ["Weird Schema", "Order.Items", "x"]
        );
        assert_eq!(split_name(r#""a""b""#).unwrap(), [r#"a"b"#]);
        assert!(split_name(r#""a"#).is_none());
    }

    #[test]
    fn parse_reports_the_line_of_an_unknown_key() {
        let text = "[types]\ntsvector = \"String\"\n\n[typos]\nx = \"y\"\n";
        let err = GenConfig::parse(text, Path::new("gen.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("gen.toml:4:"), "{err}");
        assert!(err.contains("typos"), "{err}");
    }

    #[test]
    fn query_runtime_prepare_is_read_with_its_line_and_fingerprinted() {
        let text = "[types]\ntsvector = \"String\"\n\n[query_runtime]\nprepare = false\n";
        let config = GenConfig::parse(text, Path::new("gen.toml")).unwrap();
        let (prepare, origin) = config.prepare_queries.clone().unwrap();
        assert!(!prepare);
        assert_eq!(origin.to_string(), "gen.toml:5");
        assert!(config.fingerprint().contains("query_runtime:prepare=false"));
        let err = GenConfig::parse("[query_runtime]\nprepared = false\n", Path::new("gen.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("gen.toml:2:"), "{err}");
        assert!(err.contains("prepared"), "{err}");
        let err = GenConfig::parse("[query_runtime]\nprepare = \"no\"\n", Path::new("gen.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("gen.toml:2:"), "{err}");
    }

    #[test]
    fn settings_keep_their_lines_and_the_command_line_wins() {
        let text = "schemas = [\"public\"]\n[types]\n\"public.money\" = \"my::Money\"\ntsvector = \"Vec<u8>\"\n[enums.form_type]\n\"\" = \"Unset\"\n";
        let config = GenConfig::parse(text, Path::new("gen.toml"))
            .unwrap()
            .with_type_arguments(&["tsvector=String".to_owned()])
            .unwrap();
        let money = config
            .types
            .iter()
            .find(|s| s.key == "public.money")
            .unwrap();
        assert_eq!(money.origin.to_string(), "gen.toml:3");
        let tsv = config.types.iter().find(|s| s.key == "tsvector").unwrap();
        assert_eq!(
            (tsv.value.as_str(), &tsv.origin),
            ("String", &Origin::CommandLine)
        );
        assert_eq!(config.enums[0].labels[0].key, "");
        assert_eq!(config.enums[0].labels[0].origin.to_string(), "gen.toml:6");
        assert!(
            GenConfig::default()
                .with_type_arguments(&["x".to_owned()])
                .is_err()
        );
    }
}
