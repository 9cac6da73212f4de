//! Typed query stubs from annotated SQL, with types taken from PostgreSQL itself.
//!
//! Applications write their queries once, in `crates/db/queries/*.sql`, with sqlc's
//! annotations (`-- name: GetGroupAiBudget :one`); `cargo xtask gen` prepares each one on
//! the throwaway database it has just migrated and writes `generated/queries.rs`: a
//! `Querier` trait with one typed method per query, implemented by `Session` (a connection
//! or transaction whose statements are prepared once and cached) and forwarded by
//! `Metered` (per-query counts and times). sqlc's `sqlc.embed(t)` is a field holding the
//! table's model struct; `:batchexec`/`:batchone`/`:batchmany` take a slice of parameters
//! (a loop when blocking, pipelined when async); `:copyfrom` sends a slice through binary
//! `COPY`. One job per module:
//!
//! - [`annotate`]: `.sql` files → [`annotate::QueryDef`]s (names, commands, parameters, docs);
//! - [`infer`]: prepare on the live database → parameter and column types, nullability;
//! - [`emit`]: → Rust tokens of `queries.rs` (shared items and the blocking flavour) and
//!   `queries_async.rs` (the async flavour on `tokio_postgres`); `runtime.rs`,
//!   `runtime_sync.rs` and `runtime_async.rs` are their fixed parts;
//! - [`nullability`]: proofs that expression columns cannot be NULL (sqlparser + catalog);
//! - [`generate`] / [`generate_str`]: the three in one call, for tests and tools;
//!   [`GenStep`]: the step `cargo xtask gen` runs (hashes, no-op detection, the file).
//!
//! The annotation syntax and the nullability rules are in the README (section "Typed
//! queries") and in the docs of [`annotate`] and [`infer`].

pub mod annotate;
pub mod emit;
pub mod fields;
pub mod infer;
pub mod nullability;

use annotate::{Diagnostic, QueryDef, SourceFile};
use codegen::GeneratedFile;
use infer::InferredQuery;
use schema::SchemaModel;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Name of the generated file: shared items and the blocking flavour.
pub const FILE: &str = "queries.rs";

/// Name of the generated async flavour, a child module of [`FILE`]'s.
pub const ASYNC_FILE: &str = "queries_async.rs";

/// Second line of the generated file: the hashes that let `gen` skip database work.
const HASH_PREFIX: &str = "// gen-hash: inputs ";

/// Source texts of this crate, part of the fingerprint of the generated file.
pub const SOURCES: &[(&str, &str)] = &[
    ("annotate.rs", include_str!("annotate.rs")),
    ("emit.rs", include_str!("emit.rs")),
    ("fields.rs", include_str!("fields.rs")),
    ("infer.rs", include_str!("infer.rs")),
    ("lib.rs", include_str!("lib.rs")),
    ("nullability.rs", include_str!("nullability.rs")),
    ("runtime.rs", include_str!("runtime.rs")),
    ("runtime_async.rs", include_str!("runtime_async.rs")),
    ("runtime_sync.rs", include_str!("runtime_sync.rs")),
];

/// What went wrong; every variant about a query names its file and line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Annotations(Vec<Diagnostic>),
    #[error("{file}:{line}: query `{name}` does not prepare: {message}")]
    Prepare {
        file: String,
        line: usize,
        name: String,
        message: String,
    },
    #[error(
        "{location}: query `{name}`: {what} has type {pg_type}, which has no built-in Rust \
         mapping; map it in gen.toml with {hint}"
    )]
    UnmappedType {
        location: String,
        name: String,
        what: String,
        pg_type: String,
        /// The `gen.toml` line to add, and the `--type` argument that does the same.
        hint: String,
    },
    #[error("{location}: query `{name}`: {message}")]
    Query {
        location: String,
        name: String,
        message: String,
    },
    /// A `gen.toml` `[queries.NAME]` rename that does not apply.
    #[error("{origin}: {message}")]
    FieldRename { origin: String, message: String },
    #[error("reading {what} failed: {source}")]
    Catalog {
        what: &'static str,
        #[source]
        source: postgres::Error,
    },
    #[error(transparent)]
    Codegen(#[from] codegen::Error),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Generation settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Type overrides and the enums module, shared with the models (`codegen::Options`).
    pub codegen: codegen::Options,
    /// Path under which `queries.rs` reaches the generated row structs.
    pub models_module: String,
    /// Field renames per query name (`gen.toml` `[queries.NAME.columns]`/`.params`).
    pub fields: std::collections::BTreeMap<String, fields::FieldRenames>,
    /// What `Session::new` does: prepare each query once per connection (`true`, the
    /// default) or send it unprepared (`false`, pooler-safe); `[query_runtime] prepare`
    /// in `gen.toml`.
    pub prepare: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            codegen: codegen::Options::default(),
            models_module: "super::models".to_owned(),
            fields: std::collections::BTreeMap::new(),
            prepare: true,
        }
    }
}

impl Options {
    /// These options with the model's codegen options (type overrides, enums module).
    pub fn with_codegen(codegen: &codegen::Options) -> Self {
        Options {
            codegen: codegen.clone(),
            ..Options::default()
        }
    }

    /// The options for `queries_async.rs`, one module deeper: relative paths to the
    /// models and enums get one more `super::`.
    pub fn for_child_module(&self) -> Options {
        fn deeper(path: &str) -> String {
            if path.starts_with("super::") || path == "super" {
                format!("super::{path}")
            } else if let Some(rest) = path.strip_prefix("self::") {
                format!("super::{rest}")
            } else {
                path.to_owned()
            }
        }
        let mut options = self.clone();
        options.models_module = deeper(&self.models_module);
        options.codegen.enums_module = deeper(&self.codegen.enums_module);
        options
    }
}

/// Parse annotated SQL files.
pub fn parse(files: &[SourceFile]) -> Result<Vec<QueryDef>, Error> {
    annotate::parse_files(files).map_err(Error::Annotations)
}

/// Read and parse the `*.sql` files of `dir` (paths shown relative to `root`).
pub fn load(dir: &Path, root: Option<&Path>) -> Result<Vec<QueryDef>, Error> {
    let files = annotate::read_dir(dir, root).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    parse(&files)
}

/// The formatted `queries.rs` (header line included, no hash line) for inferred queries.
pub fn render(
    queries: &[InferredQuery],
    model: &SchemaModel,
    options: &Options,
) -> Result<String, Error> {
    format(FILE, emit::emit(queries, model, options)?)
}

/// The formatted `queries_async.rs` (header line included, no hash line).
pub fn render_async(
    queries: &[InferredQuery],
    model: &SchemaModel,
    options: &Options,
) -> Result<String, Error> {
    format(ASYNC_FILE, emit::emit_async(queries, model, options)?)
}

fn format(file: &str, tokens: proc_macro2::TokenStream) -> Result<String, Error> {
    let syntax: syn::File = syn::parse2(tokens).map_err(|e| codegen::Error::Format {
        file: file.to_owned(),
        message: e.to_string(),
    })?;
    Ok(format!(
        "{}\n\n{}",
        codegen::HEADER,
        codegen::separate_items(&prettyplease::unparse(&syntax))
    ))
}

/// Parse, infer and emit in one call: the generated source for `files`, prepared through
/// `client` (a database migrated to the schema `model` describes).
pub fn generate(
    files: &[SourceFile],
    client: &mut postgres::Client,
    model: &SchemaModel,
    options: &Options,
) -> Result<String, Error> {
    let defs = parse(files)?;
    let inferred = infer::infer(client, &defs)?;
    render(&inferred, model, options)
}

/// [`generate`] for one file's text, shown as `queries.sql`: the test-friendly entry point.
pub fn generate_str(
    sql: &str,
    client: &mut postgres::Client,
    model: &SchemaModel,
) -> Result<String, Error> {
    let file = SourceFile {
        display: "queries.sql".to_owned(),
        text: sql.to_owned(),
    };
    generate(&[file], client, model, &Options::default())
}

/// The queries step of `cargo xtask gen`: parsed before any database work (annotation
/// errors come first and cheaply), with a fingerprint of everything `queries.rs` depends
/// on, so a run whose inputs did not change can skip the database.
#[derive(Debug, Clone)]
pub struct GenStep {
    defs: Vec<QueryDef>,
    inputs_hash: String,
}

impl GenStep {
    /// Read `dir`. `root` makes the paths in docs and messages relative (the workspace);
    /// `upstream_hash` fingerprints the schema the queries run against (gen's inputs hash).
    pub fn load(dir: &Path, root: Option<&Path>, upstream_hash: &str) -> Result<GenStep, Error> {
        let files = annotate::read_dir(dir, root).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let defs = parse(&files)?;
        let mut h = Sha256::new();
        feed(&mut h, "upstream", upstream_hash.as_bytes());
        for (file, text) in SOURCES {
            feed(&mut h, file, text.as_bytes());
        }
        for f in &files {
            feed(&mut h, &f.display, f.text.as_bytes());
        }
        Ok(GenStep {
            defs,
            inputs_hash: hex(h.finalize()),
        })
    }

    pub fn queries(&self) -> &[QueryDef] {
        &self.defs
    }

    pub fn inputs_hash(&self) -> &str {
        &self.inputs_hash
    }

    /// Whether `out_dir/queries.rs` and `out_dir/queries_async.rs` were generated from
    /// these inputs and not edited since.
    pub fn is_current(&self, out_dir: &Path) -> bool {
        [FILE, ASYNC_FILE]
            .iter()
            .all(|file| self.is_file_current(&out_dir.join(file)))
    }

    fn is_file_current(&self, path: &Path) -> bool {
        let Ok(text) = std::fs::read_to_string(path) else {
            return false;
        };
        let mut lines = text.splitn(3, '\n');
        let (Some(header), Some(hashes), Some(body)) = (lines.next(), lines.next(), lines.next())
        else {
            return false;
        };
        let Some((inputs, outputs)) = hashes
            .strip_prefix(HASH_PREFIX)
            .and_then(|rest| rest.split_once(" outputs "))
        else {
            return false;
        };
        header == codegen::HEADER && inputs == self.inputs_hash && outputs == body_hash(body)
    }

    /// Prepare every query on `client` (the migrated database).
    pub fn infer(&self, client: &mut postgres::Client) -> Result<Vec<InferredQuery>, Error> {
        infer::infer(client, &self.defs)
    }

    /// The generated files, `queries.rs` and `queries_async.rs`, each with the hash line.
    pub fn files(
        &self,
        inferred: &[InferredQuery],
        model: &SchemaModel,
        options: &Options,
    ) -> Result<Vec<GeneratedFile>, Error> {
        Ok(vec![
            self.with_hashes(FILE, &render(inferred, model, options)?),
            self.with_hashes(ASYNC_FILE, &render_async(inferred, model, options)?),
        ])
    }

    fn with_hashes(&self, file: &str, rendered: &str) -> GeneratedFile {
        let body = rendered
            .strip_prefix(codegen::HEADER)
            .and_then(|r| r.strip_prefix('\n'))
            .unwrap_or(rendered);
        let contents = format!(
            "{}\n{HASH_PREFIX}{} outputs {}\n{body}",
            codegen::HEADER,
            self.inputs_hash,
            body_hash(body)
        );
        GeneratedFile::new(file, contents)
    }
}

fn body_hash(body: &str) -> String {
    hex(Sha256::digest(body.as_bytes()))
}

fn hex(digest: impl AsRef<[u8]>) -> String {
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn feed(h: &mut Sha256, label: &str, value: &[u8]) {
    h.update((label.len() as u64).to_le_bytes());
    h.update(label.as_bytes());
    h.update((value.len() as u64).to_le_bytes());
    h.update(value);
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_source_file_is_fingerprinted() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let listed: Vec<&str> = super::SOURCES.iter().map(|(n, _)| *n).collect();
        assert_eq!(files, listed);
    }
}
