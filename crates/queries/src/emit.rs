//! `emit`: inferred queries → the tokens of `queries.rs` (a pure function; `quote`, names
//! via `codegen::naming`, types via `codegen::types::rust_type`, formatted by prettyplease).
//!
//! For each query, sorted by name:
//! - a `QueryId` variant (name, command, SQL, source location, parameter and column names);
//! - `XParams` when it has more than one parameter (owned fields, passed by reference); a
//!   single parameter is an argument (`&str` for text, `&[T]` for arrays and bytea,
//!   `&serde_json::Value`, by value for everything else);
//! - the row type when it returns more than one column: the table's struct from
//!   `models.rs` when the columns are exactly that table's row (names, order, types and
//!   nullability), else `XRow`; a single column is returned as its type;
//! - a method on `Querier`, implemented by `Session` (statements prepared once per
//!   connection) and forwarded by `Metered` (counts and times) and `&mut Q`.
//!
//! Rows are decoded by index with `try_get`; a NULL in a non-optional column is
//! `QueryError::UnexpectedNull`, never a panic.

use crate::annotate::Command;
use crate::fields::{FieldKind, apply_renames, unique_fields};
use crate::infer::{InferredColumn, InferredQuery};
use crate::{Error, Options};
use codegen::naming::{ident, snake, upper_camel};
use codegen::types::{MapError, rust_type};
use proc_macro2::{Ident, TokenStream};
use quote::quote;
use schema::SchemaModel;
use schema::model::{PgType, PgTypeKind};

/// The runtime part of the generated file (see `runtime.rs`).
pub const RUNTIME: &str = include_str!("runtime.rs");

/// Tokens of `queries.rs`.
pub fn emit(
    queries: &[InferredQuery],
    model: &SchemaModel,
    options: &Options,
) -> Result<TokenStream, Error> {
    let mut sorted: Vec<&InferredQuery> = queries.iter().collect();
    sorted.sort_by(|a, b| a.def.name.cmp(&b.def.name));
    for (name, renames) in &options.fields {
        if !sorted.iter().any(|q| q.def.name == *name) {
            return Err(Error::FieldRename {
                origin: renames.origin.clone(),
                message: format!(
                    "[queries.{name}]: no query is named `{name}` (names are written as in \
                     `-- name: {name} :one`)"
                ),
            });
        }
    }
    let mut plans = Vec::with_capacity(sorted.len());
    for q in sorted {
        plans.push(plan(q, model, options)?);
    }

    let query_id = query_id(&plans);
    let items = plans.iter().map(|p| &p.items);
    let trait_methods = plans.iter().map(|p| {
        let doc = &p.doc;
        let sig = &p.signature;
        quote! { #doc #sig; }
    });
    let session_methods = plans.iter().map(|p| {
        let sig = &p.signature;
        let body = &p.session_body;
        quote! { #sig { #body } }
    });
    let metered_methods = plans.iter().map(|p| {
        let sig = &p.signature;
        let (method, args, variant) = (&p.method, &p.forward_args, &p.variant);
        let rows = &p.rows_expr;
        quote! {
            #sig {
                let started = ::std::time::Instant::now();
                let result = self.inner.#method(#args);
                let rows = #rows;
                self.record_call(QueryId::#variant, started, rows);
                result
            }
        }
    });
    let forward_methods = plans.iter().map(|p| {
        let sig = &p.signature;
        let (method, args) = (&p.method, &p.forward_args);
        quote! { #sig { (**self).#method(#args) } }
    });
    let runtime: syn::File = syn::parse_str(RUNTIME).map_err(|e| {
        Error::Codegen(codegen::Error::Format {
            file: "runtime.rs".to_owned(),
            message: e.to_string(),
        })
    })?;
    let runtime_items = &runtime.items;

    Ok(quote! {
        #query_id
        #(#items)*

        /// One method per query of `crates/db/queries` (or the folder `gen` was given). Run
        /// them on a [`Session`] (a connection or transaction with its prepared statements),
        /// count and time them with [`Metered`].
        #[allow(clippy::wrong_self_convention)]
        pub trait Querier {
            #(#trait_methods)*
        }

        impl<C: Executor, S: ::std::borrow::BorrowMut<StatementCache>> Querier for Session<C, S> {
            #(#session_methods)*
        }

        impl<Q: Querier, M: ::std::borrow::BorrowMut<QueryMetrics>> Querier for Metered<Q, M> {
            #(#metered_methods)*
        }

        impl<Q: Querier + ?Sized> Querier for &mut Q {
            #(#forward_methods)*
        }

        #(#runtime_items)*
    })
}

/// Everything generated for one query.
struct Plan {
    variant: Ident,
    method: Ident,
    name: String,
    command: Command,
    sql: String,
    source: String,
    params: Vec<String>,
    columns: Vec<String>,
    param_oids: Vec<u32>,
    /// Params and row structs, decode function.
    items: TokenStream,
    doc: TokenStream,
    signature: TokenStream,
    session_body: TokenStream,
    forward_args: TokenStream,
    rows_expr: TokenStream,
}

fn type_error(q: &InferredQuery, what: String, e: MapError) -> Error {
    match e {
        MapError::Unmapped { pg_type, key, hint } => Error::UnmappedType {
            location: q.def.location(),
            name: q.def.name.clone(),
            what,
            pg_type,
            hint: format!("{hint}; or pass `--type {key}=RustType`"),
        },
        MapError::BadOverride {
            key,
            value,
            message,
        } => Error::Codegen(codegen::Error::BadOverride {
            key,
            value,
            message,
        }),
        MapError::Name(e) => Error::Codegen(e),
    }
}

fn query_error(q: &InferredQuery, message: String) -> Error {
    Error::Query {
        location: q.def.location(),
        name: q.def.name.clone(),
        message,
    }
}

fn doc_attrs<S: AsRef<str>>(lines: &[S]) -> TokenStream {
    let attrs = lines.iter().map(|l| {
        let l = l.as_ref().trim_end();
        let text = if l.is_empty() {
            String::new()
        } else {
            format!(" {l}")
        };
        quote! { #[doc = #text] }
    });
    quote! { #(#attrs)* }
}

fn code(text: &str) -> String {
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

/// How a single parameter is taken by the method.
fn argument_type(ty: &PgType, rust: &TokenStream) -> TokenStream {
    let text = rust.to_string();
    let base = match &ty.kind {
        PgTypeKind::Domain { base } => base,
        _ => ty,
    };
    if text == "String" {
        return quote! { &str };
    }
    if text == "Vec < u8 >" {
        return quote! { &[u8] };
    }
    if matches!(base.kind, PgTypeKind::Array { .. }) && text.starts_with("Vec <") {
        let inner: TokenStream = text["Vec <".len()..text.len() - 1]
            .parse()
            .unwrap_or_else(|_| quote! { () });
        return quote! { &[#inner] };
    }
    const COPY: &[&str] = &[
        "bool",
        "i8",
        "i16",
        "i32",
        "i64",
        "u32",
        "f32",
        "f64",
        ":: rust_decimal :: Decimal",
        ":: uuid :: Uuid",
        ":: time :: OffsetDateTime",
        ":: time :: PrimitiveDateTime",
        ":: time :: Date",
        ":: time :: Time",
        ":: std :: net :: IpAddr",
    ];
    let is_enum = matches!(base.kind, PgTypeKind::Enum) || matches!(ty.kind, PgTypeKind::Enum);
    if COPY.contains(&text.as_str()) || is_enum {
        rust.clone()
    } else {
        quote! { &#rust }
    }
}

fn plan(q: &InferredQuery, model: &SchemaModel, options: &Options) -> Result<Plan, Error> {
    let def = &q.def;
    let type_name = upper_camel("query name", &def.name)?;
    let variant = ident(&type_name);
    let method = ident(&snake("query name", &def.name)?);
    let codegen_options = &options.codegen;

    // Parameters.
    let mut wanted = Vec::new();
    for p in &q.params {
        wanted.push((snake("parameter", &p.name)?, None));
    }
    let mut param_fields = Vec::new();
    let fields = rename(q, FieldKind::Params, unique_fields(&wanted)?, options)?;
    for (p, field) in q.params.iter().zip(fields) {
        let field = ident(&field);
        let inner = rust_type(&p.ty, codegen_options)
            .map_err(|e| type_error(q, format!("parameter `{}`", p.name), e))?;
        param_fields.push((field, inner, p));
    }
    let mut items = Vec::new();
    let params_struct = ident(&format!("{type_name}Params"));
    let (arg_decl, param_refs, forward_args) = match param_fields.as_slice() {
        [] => (quote! {}, quote! {}, quote! {}),
        [(field, inner, p)] => {
            let arg = argument_type(&p.ty, inner);
            let ty = if p.nullable {
                quote! { Option<#arg> }
            } else {
                arg
            };
            (
                quote! { , #field: #ty },
                quote! { &#field },
                quote! { #field },
            )
        }
        many => {
            let defs = many.iter().map(|(field, inner, p)| {
                let ty = if p.nullable {
                    quote! { Option<#inner> }
                } else {
                    inner.clone()
                };
                let doc = doc_attrs(&[format!(
                    "{} `{}`{}",
                    code(&format!("@{}", p.name)),
                    p.ty.sql,
                    if p.nullable {
                        ", nullable (sqlc.narg)"
                    } else {
                        ""
                    }
                )]);
                quote! { #doc pub #field: #ty, }
            });
            let doc = doc_attrs(&[format!("Parameters of [`Querier::{method}`].")]);
            items.push(quote! {
                #doc
                #[derive(Debug, Clone, PartialEq)]
                pub struct #params_struct {
                    #(#defs)*
                }
            });
            let refs = many.iter().map(|(field, _, _)| quote! { &params.#field });
            (
                quote! { , params: &#params_struct },
                quote! { #(#refs),* },
                quote! { params },
            )
        }
    };

    // Columns.
    let mut columns = Vec::new();
    for (i, c) in q.columns.iter().enumerate() {
        let inner = rust_type(&c.ty, codegen_options)
            .map_err(|e| type_error(q, format!("column {} (`{}`)", i + 1, c.name), e))?;
        let full = if c.nullable {
            quote! { Option<#inner> }
        } else {
            inner.clone()
        };
        columns.push((c, inner, full));
    }
    if def.command.returns_rows() && columns.is_empty() {
        return Err(query_error(
            q,
            format!(
                "{} returns rows, but the statement returns no columns; use :exec or :execrows (or add RETURNING)",
                def.command
            ),
        ));
    }
    let decode_fn = ident(&format!("decode_{method}"));
    let row_type: TokenStream = if !def.command.returns_rows() {
        quote! { () }
    } else if let [(_, _, full)] = columns.as_slice() {
        items.push(quote! {
            fn #decode_fn(row: &::postgres::Row) -> Result<#full, QueryError> {
                read_column(row, QueryId::#variant, 0)
            }
        });
        full.clone()
    } else {
        let mut wanted = Vec::new();
        for (i, (c, _, _)) in columns.iter().enumerate() {
            let field = if c.name == "?column?" || c.name.is_empty() {
                // sqlc's name for a column PostgreSQL leaves unnamed.
                format!("column_{}", i + 1)
            } else {
                snake("column", &c.name).map_err(|e| query_error(q, e.to_string()))?
            };
            let prefix = c.origin.as_ref().map(|o| o.relation.name.clone());
            wanted.push((field, prefix));
        }
        let names = unique_fields(&wanted).map_err(|e| query_error(q, e.to_string()))?;
        let names: Vec<Ident> = rename(q, FieldKind::Columns, names, options)?
            .iter()
            .map(|f| ident(f))
            .collect();
        let reads = names.iter().enumerate().map(|(i, f)| {
            let i = proc_macro2::Literal::usize_unsuffixed(i);
            quote! { #f: read_column(row, QueryId::#variant, #i)?, }
        });
        let reused = reusable_model(q, &columns, model, options)?;
        let row_struct = ident(&format!("{type_name}Row"));
        let ty = reused.clone().unwrap_or_else(|| quote! { #row_struct });
        if reused.is_none() {
            let defs = columns.iter().zip(&names).map(|((c, _, full), field)| {
                let doc = doc_attrs(&column_doc(c));
                quote! { #doc pub #field: #full, }
            });
            let doc = doc_attrs(&[format!("A row of [`Querier::{method}`].")]);
            items.push(quote! {
                #doc
                #[derive(Debug, Clone, PartialEq)]
                pub struct #row_struct {
                    #(#defs)*
                }
            });
        }
        items.push(quote! {
            fn #decode_fn(row: &::postgres::Row) -> Result<#ty, QueryError> {
                Ok(#ty { #(#reads)* })
            }
        });
        ty
    };

    let (result, session_body, rows_expr) = match def.command {
        Command::One => (
            quote! { #row_type },
            quote! {
                let row = self.run_one(QueryId::#variant, &[#param_refs])?;
                #decode_fn(&row)
            },
            quote! { result.as_ref().ok().map(|_| 1) },
        ),
        Command::Opt => (
            quote! { Option<#row_type> },
            quote! {
                self.run_opt(QueryId::#variant, &[#param_refs])?
                    .as_ref()
                    .map(#decode_fn)
                    .transpose()
            },
            quote! { result.as_ref().ok().map(|row| u64::from(row.is_some())) },
        ),
        Command::Many => (
            quote! { Vec<#row_type> },
            quote! {
                self.run_many(QueryId::#variant, &[#param_refs])?
                    .iter()
                    .map(#decode_fn)
                    .collect()
            },
            quote! { result.as_ref().ok().map(|rows| rows.len() as u64) },
        ),
        Command::Exec => (
            quote! { () },
            quote! {
                self.run_execute(QueryId::#variant, &[#param_refs]).map(|_| ())
            },
            quote! { result.as_ref().ok().map(|()| 0) },
        ),
        Command::ExecRows | Command::ExecResult => (
            quote! { u64 },
            quote! { self.run_execute(QueryId::#variant, &[#param_refs]) },
            quote! { result.as_ref().ok().copied() },
        ),
    };
    let signature = quote! {
        fn #method(&mut self #arg_decl) -> Result<#result, QueryError>
    };

    // Method docs: the author's comment, what it returns, where it comes from, the SQL.
    let mut doc: Vec<String> = def.doc.clone();
    if !doc.is_empty() {
        doc.push(String::new());
    }
    doc.push(format!(
        "{} from {}.{}",
        code(def.command.as_str()),
        code(&def.location()),
        match def.command {
            Command::One => " No row: [`QueryError::NotFound`].",
            Command::Opt => " More than one row: [`QueryError::TooManyRows`].",
            _ => "",
        }
    ));
    for note in &q.notes {
        doc.push(String::new());
        doc.push(note.clone());
    }
    if let [(c, _, _)] = columns.as_slice()
        && def.command.returns_rows()
    {
        doc.push(String::new());
        doc.push(format!("Returns {}.", column_doc(c).join(" ")));
    }
    doc.push(String::new());
    let fence = if def.written_sql.contains("```") {
        "~~~~"
    } else {
        "```"
    };
    doc.push(format!("{fence}sql"));
    doc.extend(def.written_sql.lines().map(|l| l.trim_end().to_owned()));
    doc.push(fence.to_owned());

    Ok(Plan {
        variant,
        method,
        name: def.name.clone(),
        command: def.command,
        sql: def.sql.clone(),
        source: def.location(),
        params: q.params.iter().map(|p| p.name.clone()).collect(),
        columns: q.columns.iter().map(|c| c.name.clone()).collect(),
        param_oids: if q.params.iter().any(|p| p.wire_oid != 0) {
            q.params.iter().map(|p| p.wire_oid).collect()
        } else {
            Vec::new()
        },
        items: quote! { #(#items)* },
        doc: doc_attrs(&doc),
        signature,
        session_body,
        forward_args,
        rows_expr,
    })
}

/// `names` with the query's `gen.toml` renames applied.
fn rename(
    q: &InferredQuery,
    kind: FieldKind,
    names: Vec<String>,
    options: &Options,
) -> Result<Vec<String>, Error> {
    let Some(renames) = options.fields.get(&q.def.name) else {
        return Ok(names);
    };
    let list = match kind {
        FieldKind::Columns => &renames.columns,
        FieldKind::Params => &renames.params,
    };
    apply_renames(&q.def.name, kind, names, list).map_err(|e| Error::FieldRename {
        origin: e.origin,
        message: e.message,
    })
}

fn column_doc(c: &InferredColumn) -> Vec<String> {
    let mut line = format!("{} `{}`, {}", code(&c.name), c.ty.sql, c.why.describe());
    if let Some(o) = &c.origin {
        line.push_str(&format!(
            " ({})",
            code(&format!("{}.{}", o.relation.display_name(), o.column))
        ));
    }
    vec![line]
}

/// The struct of `models.rs` whose row the columns are exactly, if any: same names in
/// the same order, same Rust types and the same nullability; when the server names the
/// columns' table, it must be that table, else the match must be unique.
fn reusable_model(
    q: &InferredQuery,
    columns: &[(&InferredColumn, TokenStream, TokenStream)],
    model: &SchemaModel,
    options: &Options,
) -> Result<Option<TokenStream>, Error> {
    let origins: Vec<_> = q.columns.iter().map(|c| c.origin.as_ref()).collect();
    let mut candidates = Vec::new();
    'relations: for relation in &model.relations {
        if relation.columns.len() != columns.len() {
            continue;
        }
        for ((c, inner, _), rc) in columns.iter().zip(&relation.columns) {
            if c.name != rc.name || c.nullable == rc.not_null {
                continue 'relations;
            }
            match rust_type(&rc.ty, &options.codegen) {
                Ok(t) if t.to_string() == inner.to_string() => {}
                _ => continue 'relations,
            }
        }
        let from_this = origins
            .iter()
            .zip(&relation.columns)
            .all(|(o, rc)| o.is_some_and(|o| o.relation == relation.name && o.column == rc.name));
        candidates.push((relation, from_this));
    }
    let chosen = if origins.iter().any(Option::is_some) {
        candidates.iter().find(|(_, from_this)| *from_this)
    } else if candidates.len() == 1 {
        candidates.first()
    } else {
        None
    };
    let Some((relation, _)) = chosen else {
        return Ok(None);
    };
    let name = codegen::models::struct_name(relation, &options.codegen)?;
    let path: syn::Path = syn::parse_str(&format!("{}::{}", options.models_module, ident(&name)))
        .map_err(|e| query_error(q, format!("bad models module path: {e}")))?;
    Ok(Some(quote! { #path }))
}

fn query_id(plans: &[Plan]) -> TokenStream {
    let count = plans.len();
    let variants = plans.iter().map(|p| {
        let v = &p.variant;
        let doc = doc_attrs(&[format!(
            "{} {} ({}).",
            code(&p.name),
            code(p.command.as_str()),
            code(&p.source)
        )]);
        quote! { #doc #v, }
    });
    let all = plans.iter().map(|p| &p.variant);
    let arms = |f: &dyn Fn(&Plan) -> TokenStream| -> Vec<TokenStream> {
        plans
            .iter()
            .map(|p| {
                let v = &p.variant;
                let value = f(p);
                quote! { QueryId::#v => #value, }
            })
            .collect()
    };
    let index = {
        let arms = plans.iter().enumerate().map(|(i, p)| {
            let v = &p.variant;
            let i = proc_macro2::Literal::usize_unsuffixed(i);
            quote! { QueryId::#v => #i, }
        });
        quote! { #(#arms)* }
    };
    let name = arms(&|p| {
        let s = &p.name;
        quote! { #s }
    });
    let command = arms(&|p| {
        let s = p.command.as_str();
        quote! { #s }
    });
    let sql = arms(&|p| {
        let s = &p.sql;
        quote! { #s }
    });
    let source = arms(&|p| {
        let s = &p.source;
        quote! { #s }
    });
    let params = arms(&|p| {
        let s = &p.params;
        quote! { &[#(#s),*] }
    });
    let columns = arms(&|p| {
        let s = &p.columns;
        quote! { &[#(#s),*] }
    });
    let oids = arms(&|p| {
        let s = &p.param_oids;
        quote! { &[#(#s),*] }
    });
    quote! {
        /// Every generated query.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum QueryId {
            #(#variants)*
        }

        impl QueryId {
            /// How many queries there are.
            pub const COUNT: usize = #count;

            /// Every query, sorted by name.
            pub const ALL: [QueryId; #count] = [#(QueryId::#all),*];

            /// Position in [`QueryId::ALL`].
            pub const fn index(self) -> usize {
                match self { #index }
            }

            /// The name in the `-- name:` annotation.
            pub const fn name(self) -> &'static str {
                match self { #(#name)* }
            }

            /// `:one`, `:opt`, `:many`, `:exec` or `:execrows`.
            pub const fn command(self) -> &'static str {
                match self { #(#command)* }
            }

            /// The SQL sent to the server (parameters as `$n`).
            pub const fn sql(self) -> &'static str {
                match self { #(#sql)* }
            }

            /// `file:line` of the annotation.
            pub const fn source(self) -> &'static str {
                match self { #(#source)* }
            }

            /// Parameter names, in `$n` order.
            pub const fn params(self) -> &'static [&'static str] {
                match self { #(#params)* }
            }

            /// Result column names, in order.
            pub const fn columns(self) -> &'static [&'static str] {
                match self { #(#columns)* }
            }

            /// Parameter type OIDs the statement is prepared with (0: inferred by the
            /// server); empty when the server infers all of them. Non-zero for domain
            /// parameters, sent as their built-in base type.
            pub const fn param_oids(self) -> &'static [u32] {
                match self { #(#oids)* }
            }
        }

        impl ::std::fmt::Display for QueryId {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }
    }
}
