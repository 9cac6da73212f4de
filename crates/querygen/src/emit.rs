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
//!   nullability), else `XRow`; a single column is returned as its type; each
//!   `sqlc.embed(t)` is one field of `XRow` holding `t`'s model struct (`Option` on the
//!   nullable side of an outer join), decoded by index;
//! - for `:batch*` and `:copyfrom`, a `values_x` function giving one item's parameters as
//!   `[&dyn ToSql; N]` (in `COPY` column order), the method taking a slice of items;
//! - a method on `Querier`, implemented by `Session` (statements prepared once per
//!   connection) and forwarded by `Metered` (counts and times) and `&mut Q`.
//!
//! Rows are decoded by index with `try_get`; a NULL in a non-optional column is
//! `QueryError::UnexpectedNull`, never a panic.

use crate::annotate::Command;
use crate::fields::{FieldKind, apply_renames, unique_fields};
use crate::infer::{InferredColumn, InferredEmbed, InferredQuery};
use crate::{Error, Options};
use codegen::naming::{ident, snake, upper_camel};
use codegen::types::{MapError, rust_type};
use proc_macro2::{Ident, TokenStream};
use quote::quote;
use schema::SchemaModel;
use schema::model::{PgType, PgTypeKind, Relation};
use std::collections::BTreeMap;

/// The runtime part of the generated files shared by both flavours (see `runtime.rs`).
pub const RUNTIME: &str = include_str!("runtime.rs");
/// The blocking flavour's runtime, appended to `queries.rs` (see `runtime_sync.rs`).
pub const RUNTIME_SYNC: &str = include_str!("runtime_sync.rs");
/// The async flavour's runtime, appended to `queries_async.rs` (see `runtime_async.rs`).
pub const RUNTIME_ASYNC: &str = include_str!("runtime_async.rs");

fn runtime_items(file: &str, text: &str) -> Result<Vec<syn::Item>, Error> {
    let runtime: syn::File = syn::parse_str(text).map_err(|e| {
        Error::Codegen(codegen::Error::Format {
            file: file.to_owned(),
            message: e.to_string(),
        })
    })?;
    Ok(runtime.items)
}

fn plans(
    queries: &[InferredQuery],
    model: &SchemaModel,
    options: &Options,
) -> Result<Vec<Plan>, Error> {
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
    let custom = custom_types(queries);
    sorted
        .into_iter()
        .map(|q| plan(q, model, options, &custom))
        .collect()
}

/// Tokens of `queries.rs`: the shared items (rows, parameters, `QueryId`, `QueryError`,
/// the statement cache, metrics) and the blocking flavour (`Querier`, `Session`).
pub fn emit(
    queries: &[InferredQuery],
    model: &SchemaModel,
    options: &Options,
) -> Result<TokenStream, Error> {
    let plans = plans(queries, model, options)?;
    let query_id = query_id(&plans);
    let items = plans.iter().map(|p| &p.items);
    let trait_methods = plans.iter().map(|p| {
        let (doc, method, args, result) = (&p.doc, &p.method, &p.arg_decl, &p.result);
        quote! { #doc fn #method(&mut self #args) -> Result<#result, QueryError>; }
    });
    let session_methods = plans.iter().map(|p| {
        let (method, args, result) = (&p.method, &p.arg_decl, &p.result);
        let body = p.session_body(false);
        quote! { fn #method(&mut self #args) -> Result<#result, QueryError> { #body } }
    });
    let metered_methods = plans.iter().map(|p| {
        let (method, args, result) = (&p.method, &p.arg_decl, &p.result);
        let body = p.metered_body(false);
        quote! { fn #method(&mut self #args) -> Result<#result, QueryError> { #body } }
    });
    let forward_methods = plans.iter().map(|p| {
        let (method, args, result) = (&p.method, &p.arg_decl, &p.result);
        let forward = &p.forward_args;
        quote! {
            fn #method(&mut self #args) -> Result<#result, QueryError> {
                (**self).#method(#forward)
            }
        }
    });
    let custom = custom_types(queries);
    let default_execution = if options.prepare {
        quote! { Execution::Prepared }
    } else {
        quote! { Execution::Unprepared }
    };
    let shared = runtime_items("runtime.rs", RUNTIME)?;
    let sync = runtime_items("runtime_sync.rs", RUNTIME_SYNC)?;

    Ok(quote! {
        #query_id
        #(#items)*

        /// Types the queries send or receive whose OIDs differ per database (enums,
        /// composites, extension types), as SQL: an [`Execution::Unprepared`] session
        /// resolves them once per connection.
        pub const CUSTOM_TYPES: &[&str] = &[#(#custom),*];

        impl Execution {
            /// What `Session::new` and `AsyncSession::new` use (`[query_runtime] prepare`
            /// in `gen.toml`).
            pub const DEFAULT: Execution = #default_execution;
        }

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

        #(#shared)*
        #(#sync)*
    })
}

/// Tokens of `queries_async.rs`, a child module of the one that includes `queries.rs`
/// (it reaches the shared items through `use super::*`): `AsyncQuerier`, `AsyncSession`
/// on `tokio_postgres`, and `Metered` as an `AsyncQuerier`.
pub fn emit_async(
    queries: &[InferredQuery],
    model: &SchemaModel,
    options: &Options,
) -> Result<TokenStream, Error> {
    let plans = plans(queries, model, &options.for_child_module())?;
    let future = |result: &TokenStream| {
        quote! { impl ::std::future::Future<Output = Result<#result, QueryError>> + Send }
    };
    let trait_methods = plans.iter().map(|p| {
        let (doc, method, args) = (&p.doc, &p.method, &p.arg_decl);
        let future = future(&p.result);
        quote! { #doc fn #method(&mut self #args) -> #future; }
    });
    let session_methods = plans.iter().map(|p| {
        let (method, args, result) = (&p.method, &p.arg_decl, &p.result);
        let body = p.session_body(true);
        quote! { async fn #method(&mut self #args) -> Result<#result, QueryError> { #body } }
    });
    let metered_methods = plans.iter().map(|p| {
        let (method, args, result) = (&p.method, &p.arg_decl, &p.result);
        let body = p.metered_body(true);
        quote! { async fn #method(&mut self #args) -> Result<#result, QueryError> { #body } }
    });
    let forward_methods = plans.iter().map(|p| {
        let (method, args, forward) = (&p.method, &p.arg_decl, &p.forward_args);
        let future = future(&p.result);
        quote! { fn #method(&mut self #args) -> #future { (**self).#method(#forward) } }
    });
    let runtime = runtime_items("runtime_async.rs", RUNTIME_ASYNC)?;

    Ok(quote! {
        use super::*;

        /// One method per query of `crates/db/queries` (or the folder `gen` was given), the
        /// async flavour of [`Querier`]: the same rows, parameters and errors. Run them on
        /// an [`AsyncSession`], count and time them with [`Metered`]. Every future is
        /// `Send`.
        #[allow(clippy::wrong_self_convention)]
        pub trait AsyncQuerier {
            #(#trait_methods)*
        }

        impl<C: AsyncExecutor, S: ::std::borrow::BorrowMut<StatementCache> + Send> AsyncQuerier
            for AsyncSession<C, S>
        {
            #(#session_methods)*
        }

        impl<Q: AsyncQuerier + Send, M: ::std::borrow::BorrowMut<QueryMetrics> + Send> AsyncQuerier
            for Metered<Q, M>
        {
            #(#metered_methods)*
        }

        impl<Q: AsyncQuerier + Send + ?Sized> AsyncQuerier for &mut Q {
            #(#forward_methods)*
        }

        #(#runtime)*
    })
}

/// Every type a query sends or receives that has no OID the driver knows (enums,
/// composites, arrays of them, extension types), quoted for SQL, sorted.
fn custom_types(queries: &[InferredQuery]) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    for q in queries {
        for p in &q.params {
            if p.wire_oid == 0 && builtin_oid(&p.ty).is_none() {
                out.insert(sql_type_name(&p.ty));
            }
        }
        for c in &q.columns {
            if builtin_oid(&c.ty).is_none() {
                out.insert(sql_type_name(&c.ty));
            }
        }
    }
    out.into_iter().collect()
}

/// `"schema"."name"`.
fn sql_type_name(ty: &PgType) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    format!("{}.{}", quote(&ty.name.schema), quote(&ty.name.name))
}

/// The OID of a type of `pg_catalog` the driver knows (`postgres::types::Type::from_oid`):
/// the same in every database, so it is sent as such; `None` for every other type.
fn builtin_oid(ty: &PgType) -> Option<u32> {
    static BUILTIN: std::sync::OnceLock<BTreeMap<String, u32>> = std::sync::OnceLock::new();
    if ty.name.schema != "pg_catalog" {
        return None;
    }
    BUILTIN
        .get_or_init(|| {
            (0..FIRST_NORMAL_OID)
                .filter_map(postgres::types::Type::from_oid)
                .filter(|t| t.schema() == "pg_catalog")
                .map(|t| (t.name().to_owned(), t.oid()))
                .collect()
        })
        .get(&ty.name.name)
        .copied()
}

/// OIDs below this are assigned by PostgreSQL itself.
const FIRST_NORMAL_OID: u32 = 16384;

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
    /// How each parameter is sent when unprepared (`WireType` expressions).
    param_types: Vec<TokenStream>,
    /// Whether a parameter or column has a type of `CUSTOM_TYPES`.
    uses_custom_types: bool,
    /// Params and row structs, decode function.
    items: TokenStream,
    doc: TokenStream,
    /// `, id: i32` or `, params: &XParams` (empty without parameters).
    arg_decl: TokenStream,
    /// The `Ok` type.
    result: TokenStream,
    command_run: CommandRun,
    forward_args: TokenStream,
    rows_expr: TokenStream,
}

/// How a method runs its statement and decodes the rows.
struct CommandRun {
    variant: Ident,
    command: Command,
    param_refs: TokenStream,
    decode_fn: Ident,
    /// `:batch*` and `:copyfrom`: the function giving one item's parameters.
    values_fn: Ident,
    /// The slice argument of `:batch*` and `:copyfrom` (`items`, `rows`).
    slice_arg: Ident,
}

impl Plan {
    /// The body of the `Session` (or `AsyncSession`) method.
    fn session_body(&self, is_async: bool) -> TokenStream {
        let await_ = if is_async {
            quote! { .await }
        } else {
            quote! {}
        };
        let CommandRun {
            variant,
            command,
            param_refs,
            decode_fn,
            values_fn,
            slice_arg,
        } = &self.command_run;
        let values = quote! { #slice_arg.iter().map(#values_fn) };
        match command {
            Command::One => quote! {
                let row = self.run_one(QueryId::#variant, &[#param_refs]) #await_ ?;
                #decode_fn(&row)
            },
            Command::Opt => quote! {
                self.run_opt(QueryId::#variant, &[#param_refs]) #await_ ?
                    .as_ref()
                    .map(#decode_fn)
                    .transpose()
            },
            Command::Many => quote! {
                self.run_many(QueryId::#variant, &[#param_refs]) #await_ ?
                    .iter()
                    .map(#decode_fn)
                    .collect()
            },
            Command::Exec => quote! {
                self.run_execute(QueryId::#variant, &[#param_refs]) #await_ .map(|_| ())
            },
            Command::ExecRows | Command::ExecResult => quote! {
                self.run_execute(QueryId::#variant, &[#param_refs]) #await_
            },
            Command::BatchExec => quote! {
                self.run_batch_execute(QueryId::#variant, #values) #await_ .map(|_| ())
            },
            Command::BatchOne => quote! {
                let results = self.run_batch(QueryId::#variant, #values) #await_ ?;
                batch_one(QueryId::#variant, results, #decode_fn)
            },
            Command::BatchMany => quote! {
                let results = self.run_batch(QueryId::#variant, #values) #await_ ?;
                batch_many(results, #decode_fn)
            },
            Command::CopyFrom => quote! {
                self.run_copy(QueryId::#variant, #values) #await_
            },
        }
    }

    /// The body of the `Metered` method: forward, count and time.
    fn metered_body(&self, is_async: bool) -> TokenStream {
        let await_ = if is_async {
            quote! { .await }
        } else {
            quote! {}
        };
        let (method, args, variant) = (&self.method, &self.forward_args, &self.variant);
        let rows = &self.rows_expr;
        quote! {
            let started = ::std::time::Instant::now();
            let result = self.inner.#method(#args) #await_;
            let counted = #rows;
            self.record_call(QueryId::#variant, started, counted);
            result
        }
    }
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

fn plan(
    q: &InferredQuery,
    model: &SchemaModel,
    options: &Options,
    custom: &[String],
) -> Result<Plan, Error> {
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
    let values_fn = ident(&format!("values_{method}"));
    let slice_arg = ident(if def.command == Command::CopyFrom {
        "rows"
    } else {
        "items"
    });
    let (arg_decl, param_refs, forward_args) = match param_fields.as_slice() {
        [] => (quote! {}, quote! {}, quote! {}),
        [(field, inner, p)] if def.command.takes_slice() => {
            let ty = if p.nullable {
                quote! { Option<#inner> }
            } else {
                inner.clone()
            };
            items.push(quote! {
                fn #values_fn(#field: &#ty) -> [&(dyn ::postgres::types::ToSql + Sync); 1] {
                    [#field]
                }
            });
            (
                quote! { , #slice_arg: &[#ty] },
                quote! {},
                quote! { #slice_arg },
            )
        }
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
            let doc = doc_attrs(&[if def.command.takes_slice() {
                format!("One item of [`Querier::{method}`].")
            } else {
                format!("Parameters of [`Querier::{method}`].")
            }]);
            items.push(quote! {
                #doc
                #[derive(Debug, Clone, PartialEq)]
                pub struct #params_struct {
                    #(#defs)*
                }
            });
            if def.command.takes_slice() {
                // COPY sends the values in column order, which may differ from `$n` order.
                let order: Vec<usize> = match &def.copy {
                    Some(copy) => copy.order.clone(),
                    None => (0..many.len()).collect(),
                };
                let refs = order.iter().map(|&i| {
                    let field = &many[i].0;
                    quote! { &params.#field }
                });
                let n = proc_macro2::Literal::usize_unsuffixed(many.len());
                items.push(quote! {
                    fn #values_fn(params: &#params_struct) -> [&(dyn ::postgres::types::ToSql + Sync); #n] {
                        [#(#refs),*]
                    }
                });
                (
                    quote! { , #slice_arg: &[#params_struct] },
                    quote! {},
                    quote! { #slice_arg },
                )
            } else {
                let refs = many.iter().map(|(field, _, _)| quote! { &params.#field });
                (
                    quote! { , params: &#params_struct },
                    quote! { #(#refs),* },
                    quote! { params },
                )
            }
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
    } else if !q.embeds.is_empty() {
        embedded_row(q, &columns, model, options, &mut items)?
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
            wanted.push((
                column_field(q, i, c)?,
                c.origin.as_ref().map(|o| o.relation.name.clone()),
            ));
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

    let (result, rows_expr) = match def.command {
        Command::One => (
            quote! { #row_type },
            quote! { result.as_ref().ok().map(|_| 1) },
        ),
        Command::Opt => (
            quote! { Option<#row_type> },
            quote! { result.as_ref().ok().map(|row| u64::from(row.is_some())) },
        ),
        Command::Many => (
            quote! { Vec<#row_type> },
            quote! { result.as_ref().ok().map(|rows| rows.len() as u64) },
        ),
        Command::Exec => (quote! { () }, quote! { result.as_ref().ok().map(|()| 0) }),
        Command::ExecRows | Command::ExecResult | Command::CopyFrom => {
            (quote! { u64 }, quote! { result.as_ref().ok().copied() })
        }
        Command::BatchExec => (quote! { () }, quote! { result.as_ref().ok().map(|()| 0) }),
        Command::BatchOne => (
            quote! { Vec<#row_type> },
            quote! { result.as_ref().ok().map(|rows| rows.len() as u64) },
        ),
        Command::BatchMany => (
            quote! { Vec<Vec<#row_type>> },
            quote! {
                result
                    .as_ref()
                    .ok()
                    .map(|items| items.iter().map(|rows| rows.len() as u64).sum())
            },
        ),
    };

    // How each parameter is sent unprepared, and whether a type must be resolved first.
    let custom_index = |ty: &PgType| {
        let name = sql_type_name(ty);
        custom.iter().position(|c| *c == name).unwrap_or(usize::MAX)
    };
    let param_types = q
        .params
        .iter()
        .map(|p| {
            if p.wire_oid != 0 {
                let oid = p.wire_oid;
                quote! { WireType::Builtin(#oid) }
            } else if let Some(oid) = builtin_oid(&p.ty) {
                quote! { WireType::Builtin(#oid) }
            } else {
                let i = proc_macro2::Literal::usize_unsuffixed(custom_index(&p.ty));
                quote! { WireType::Custom(#i) }
            }
        })
        .collect();
    let uses_custom_types = q
        .params
        .iter()
        .any(|p| p.wire_oid == 0 && builtin_oid(&p.ty).is_none())
        || q.columns.iter().any(|c| builtin_oid(&c.ty).is_none());

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
            Command::BatchOne => " Exactly one row per item.",
            _ => "",
        }
    ));
    if def.command.takes_slice() && def.command != Command::CopyFrom {
        doc.push(String::new());
        doc.push(
            "Runs once per item of `items`: the blocking flavour one item after another, \
             the async one pipelined (every item sent before the first result is read). \
             A failure is [`QueryError::Batch`] with the failing item's index; items before \
             it have run, so call it inside `session.transaction()` to make the batch all \
             or nothing."
                .to_owned(),
        );
    }
    if let Some(copy) = &def.copy {
        doc.push(String::new());
        doc.push(format!(
            "Sends `rows` in one {}: returns the number of rows copied. \
             All or nothing: a bad row fails the whole COPY.",
            code(&copy.sql)
        ));
    }
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
        variant: variant.clone(),
        method,
        name: def.name.clone(),
        command: def.command,
        sql: def
            .copy
            .as_ref()
            .map_or_else(|| def.sql.clone(), |c| c.sql.clone()),
        source: def.location(),
        params: q.params.iter().map(|p| p.name.clone()).collect(),
        columns: q.columns.iter().map(|c| c.name.clone()).collect(),
        param_oids: if def.copy.is_none() && q.params.iter().any(|p| p.wire_oid != 0) {
            q.params.iter().map(|p| p.wire_oid).collect()
        } else {
            Vec::new()
        },
        param_types,
        uses_custom_types,
        items: quote! { #(#items)* },
        doc: doc_attrs(&doc),
        arg_decl,
        result,
        command_run: CommandRun {
            variant: variant.clone(),
            command: def.command,
            param_refs,
            decode_fn,
            values_fn,
            slice_arg,
        },
        forward_args,
        rows_expr,
    })
}

/// The field a result column wants: its snake_case name (`column_N` for an unnamed one).
fn column_field(q: &InferredQuery, i: usize, c: &InferredColumn) -> Result<String, Error> {
    if c.name == "?column?" || c.name.is_empty() {
        // sqlc's name for a column PostgreSQL leaves unnamed.
        Ok(format!("column_{}", i + 1))
    } else {
        snake("column", &c.name).map_err(|e| query_error(q, e.to_string()))
    }
}

/// One field of a row with `sqlc.embed`: a plain column, or an embedded table.
enum RowField<'a> {
    Column(usize),
    Embed(&'a InferredEmbed, &'a Relation),
}

/// The row type and decode function of a query with `sqlc.embed`: each embed is one
/// field holding the table's model struct (`Option` when the table is on the nullable
/// side of an outer join), the other columns are fields as usual. A row that is a single
/// embed, not optional, is the model struct itself.
fn embedded_row(
    q: &InferredQuery,
    columns: &[(&InferredColumn, TokenStream, TokenStream)],
    model: &SchemaModel,
    options: &Options,
    items: &mut Vec<TokenStream>,
) -> Result<TokenStream, Error> {
    let def = &q.def;
    let type_name = upper_camel("query name", &def.name)?;
    let variant = ident(&type_name);
    let method = snake("query name", &def.name)?;
    let decode_fn = ident(&format!("decode_{method}"));
    let embed_error = |e: &InferredEmbed, message: String| Error::Query {
        location: format!("{}:{}", def.file, e.line),
        name: def.name.clone(),
        message,
    };
    // Fields in column order.
    let mut fields = Vec::new();
    let mut i = 0;
    while i < columns.len() {
        if let Some(e) = q.embeds.iter().find(|e| e.first == i) {
            let Some(relation) = model.relations.iter().find(|r| r.name == e.relation) else {
                return Err(embed_error(
                    e,
                    format!(
                        "sqlc.embed({}): `{}` has no struct in models.rs (is it excluded by gen.toml's filter?); include it there or select `{}.*` instead",
                        e.name,
                        e.relation.display_name(),
                        e.name
                    ),
                ));
            };
            let names: Vec<&str> = columns[e.first..e.first + e.len]
                .iter()
                .map(|(c, _, _)| c.name.as_str())
                .collect();
            let expected: Vec<&str> = relation.columns.iter().map(|c| c.name.as_str()).collect();
            if names != expected {
                return Err(embed_error(
                    e,
                    format!(
                        "sqlc.embed({}): its columns ({}) are not every column of `{}` in models.rs ({}): embed a table or view of the FROM clause, not a subquery or CTE (or, if the table changed, run `cargo xtask gen` after migrating)",
                        e.name,
                        names.join(", "),
                        e.relation.display_name(),
                        expected.join(", ")
                    ),
                ));
            }
            fields.push(RowField::Embed(e, relation));
            i += e.len;
        } else {
            fields.push(RowField::Column(i));
            i += 1;
        }
    }
    // Names: an embed is named after its table (sqlc's rule), or after what is written in
    // `sqlc.embed(...)` when one table is embedded twice.
    let mut wanted = Vec::new();
    for field in &fields {
        wanted.push(match field {
            RowField::Column(i) => {
                let c = columns[*i].0;
                (
                    column_field(q, *i, c)?,
                    c.origin.as_ref().map(|o| o.relation.name.clone()),
                )
            }
            RowField::Embed(e, _) => {
                let twice = q.embeds.iter().filter(|o| o.relation == e.relation).count() > 1;
                let name = if twice {
                    e.name.clone()
                } else {
                    e.relation.display_name()
                };
                (
                    snake("column", &name).map_err(|err| embed_error(e, err.to_string()))?,
                    None,
                )
            }
        });
    }
    let names = unique_fields(&wanted).map_err(|e| query_error(q, e.to_string()))?;
    let names: Vec<Ident> = rename(q, FieldKind::Columns, names, options)?
        .iter()
        .map(|f| ident(f))
        .collect();

    let mut defs = Vec::new();
    let mut reads = Vec::new();
    let mut single_model = None;
    for (field, name) in fields.iter().zip(&names) {
        match field {
            RowField::Column(i) => {
                let (c, _, full) = &columns[*i];
                let doc = doc_attrs(&column_doc(c));
                defs.push(quote! { #doc pub #name: #full, });
                let i = proc_macro2::Literal::usize_unsuffixed(*i);
                reads.push(quote! { #name: read_column(row, QueryId::#variant, #i)?, });
            }
            RowField::Embed(e, relation) => {
                let struct_name = codegen::models::struct_name(relation, &options.codegen)?;
                let path: syn::Path = syn::parse_str(&format!(
                    "{}::{}",
                    options.models_module,
                    ident(&struct_name)
                ))
                .map_err(|err| query_error(q, format!("bad models module path: {err}")))?;
                let path = quote! { #path };
                let embedded = &columns[e.first..e.first + e.len];
                // Optional when a NOT NULL column of the table may be NULL here: the row
                // is absent exactly when its first NOT NULL column is NULL.
                let optional = embedded
                    .iter()
                    .zip(&relation.columns)
                    .any(|((c, _, _), rc)| rc.not_null && c.nullable);
                let key = relation.columns.iter().position(|rc| rc.not_null);
                let mut field_reads = Vec::new();
                for (k, rc) in relation.columns.iter().enumerate() {
                    let f = ident(&codegen::models::field_name(
                        relation,
                        rc,
                        &options.codegen,
                    )?);
                    let index = proc_macro2::Literal::usize_unsuffixed(e.first + k);
                    if optional && Some(k) == key {
                        field_reads.push(quote! { #f: key, });
                    } else {
                        field_reads
                            .push(quote! { #f: read_column(row, QueryId::#variant, #index)?, });
                    }
                }
                let build = quote! { #path { #(#field_reads)* } };
                let mut doc = vec![format!(
                    "{}: every column of {}{}.",
                    code(&format!("sqlc.embed({})", e.name)),
                    code(&e.relation.display_name()),
                    if optional {
                        ", `None` when the row is absent (the nullable side of an outer join)"
                    } else {
                        ""
                    }
                )];
                if let (true, Some(k)) = (optional, key) {
                    let index = proc_macro2::Literal::usize_unsuffixed(e.first + k);
                    doc.push(format!(
                        "Absent when its NOT NULL column {} is NULL.",
                        code(&relation.columns[k].name)
                    ));
                    reads.push(quote! {
                        #name: match read_column(row, QueryId::#variant, #index)? {
                            Some(key) => Some(#build),
                            None => None,
                        },
                    });
                    defs.push({
                        let doc = doc_attrs(&doc);
                        quote! { #doc pub #name: Option<#path>, }
                    });
                } else {
                    if fields.len() == 1 {
                        single_model = Some((path.clone(), build.clone()));
                    }
                    reads.push(quote! { #name: #build, });
                    let doc = doc_attrs(&doc);
                    defs.push(quote! { #doc pub #name: #path, });
                }
            }
        }
    }
    if let Some((path, build)) = single_model {
        items.push(quote! {
            fn #decode_fn(row: &::postgres::Row) -> Result<#path, QueryError> {
                Ok(#build)
            }
        });
        return Ok(quote! { #path });
    }
    let row_struct = ident(&format!("{type_name}Row"));
    let doc = doc_attrs(&[format!("A row of [`Querier::{method}`].")]);
    items.push(quote! {
        #doc
        #[derive(Debug, Clone, PartialEq)]
        pub struct #row_struct {
            #(#defs)*
        }
        fn #decode_fn(row: &::postgres::Row) -> Result<#row_struct, QueryError> {
            Ok(#row_struct { #(#reads)* })
        }
    });
    Ok(quote! { #row_struct })
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
    let param_types = arms(&|p| {
        let s = &p.param_types;
        quote! { &[#(#s),*] }
    });
    let uses_custom_types = arms(&|p| {
        let b = p.uses_custom_types;
        quote! { #b }
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

            /// `:one`, `:opt`, `:many`, `:exec`, `:execrows`, `:execresult`, `:batchexec`,
            /// `:batchone`, `:batchmany` or `:copyfrom`.
            pub const fn command(self) -> &'static str {
                match self { #(#command)* }
            }

            /// The SQL sent to the server (parameters as `$n`; for `:copyfrom`, the `COPY`).
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

            /// How each parameter is sent by an [`Execution::Unprepared`] session.
            pub const fn param_types(self) -> &'static [WireType] {
                match self { #(#param_types)* }
            }

            /// Whether a parameter or column has one of the [`CUSTOM_TYPES`].
            pub const fn uses_custom_types(self) -> bool {
                match self { #(#uses_custom_types)* }
            }
        }

        impl ::std::fmt::Display for QueryId {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }
    }
}
