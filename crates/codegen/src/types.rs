//! PostgreSQL type → Rust type: what the `postgres` crate (postgres-types) decodes.
//!
//! | PostgreSQL | Rust | needs |
//! |---|---|---|
//! | `bool` | `bool` | |
//! | `int2`, `int4`, `int8` | `i16`, `i32`, `i64` | |
//! | `float4`, `float8` | `f32`, `f64` | |
//! | `numeric` | `rust_decimal::Decimal` (28 significant digits; larger values, NaN and infinities fail to decode) | `rust_decimal` with `db-postgres` |
//! | `text`, `varchar`, `bpchar` (`char(n)`), `name`, and the extension types `citext`, `ltree`, `lquery`, `ltxtquery` | `String` | |
//! | `hstore` (extension) | `HashMap<String, Option<String>>` | |
//! | `"char"` | `i8` | |
//! | `oid` | `u32` | |
//! | `bytea` | `Vec<u8>` | |
//! | `json`, `jsonb` | `serde_json::Value` | postgres `with-serde_json-1` |
//! | `uuid` | `uuid::Uuid` | postgres `with-uuid-1` |
//! | `timestamptz`, `timestamp`, `date`, `time` | `time::OffsetDateTime`, `time::PrimitiveDateTime`, `time::Date`, `time::Time` | postgres `with-time-0_3` |
//! | `inet` | `std::net::IpAddr` (the netmask is not kept) | |
//! | `cidr` | `cidr::IpCidr` | postgres `with-cidr-0_2` |
//! | `macaddr` | `eui48::MacAddress` | postgres `with-eui48-1` |
//! | `bit(n)`, `varbit` | `bit_vec::BitVec` | postgres `with-bit-vec-0_6` |
//! | `point`, `box`, `path` | `geo_types::Point<f64>`, `geo_types::Rect<f64>`, `geo_types::LineString<f64>` | postgres `with-geo-types-0_7` |
//! | `pg_lsn` | `postgres::types::PgLsn` | |
//! | `T[]` | `Vec<T>` (one dimension, no NULL elements) | |
//! | an enum | the generated enum | |
//! | a composite type (`CREATE TYPE t AS (...)`) | its generated struct (`ToSql`/`FromSql` derived) | `postgres-types` with `derive` |
//! | a domain | its base type, recursively: a domain's CHECK is the database's job, and the wire format is the base type's | |
//!
//! Anything else (`interval`, `money`, `tsvector`, `xml`, ranges, a table's row type, ...) is an error
//! naming the table and column and the `gen.toml` line that maps it. A mapping in `gen.toml`
//! (`[types]`, or `[columns]` for one column) wins over all of the above; the type it names
//! must decode the column's wire format (`String` decodes any type read as `col::text`).

use crate::enums::type_name;
use crate::naming::{toml_key, toml_string};
use crate::{Options, column_key};
use proc_macro2::TokenStream;
use quote::quote;
use schema::model::{Column, PgType, PgTypeKind, Relation};

/// Why a type has no mapping: the type's SQL name and the override key to use.
#[derive(Debug)]
pub enum MapError {
    Unmapped {
        pg_type: String,
        key: String,
        /// The `gen.toml` line that maps it.
        hint: String,
    },
    BadOverride {
        key: String,
        value: String,
        message: String,
    },
    Name(crate::Error),
}

fn parse_type(key: &str, value: &str) -> Result<TokenStream, MapError> {
    let parsed: syn::Type = syn::parse_str(value).map_err(|e| MapError::BadOverride {
        key: key.to_owned(),
        value: value.to_owned(),
        message: e.to_string(),
    })?;
    Ok(quote! { #parsed })
}

fn override_for(ty: &PgType, options: &Options) -> Result<Option<TokenStream>, MapError> {
    let keys = [ty.name.to_string(), ty.name.name.clone(), ty.sql.clone()];
    for key in keys {
        if let Some(value) = options.type_overrides.get(&key) {
            return parse_type(&key, value).map(Some);
        }
    }
    Ok(None)
}

/// The Rust type of a (non-null) value of a column: its `[columns]` mapping, else
/// [`rust_type`].
pub fn column_type(
    relation: &Relation,
    column: &Column,
    options: &Options,
) -> Result<TokenStream, MapError> {
    let key = column_key(&relation.name, &column.name);
    match options.column_overrides.get(&key) {
        Some(value) => parse_type(&key, value),
        None => rust_type(&column.ty, options),
    }
}

/// The Rust type of a (non-null) value of `ty`.
pub fn rust_type(ty: &PgType, options: &Options) -> Result<TokenStream, MapError> {
    if let Some(t) = override_for(ty, options)? {
        return Ok(t);
    }
    let unmapped = || {
        let key = if ty.name.schema == "pg_catalog" || ty.name.schema == "public" {
            ty.name.name.clone()
        } else {
            ty.name.to_string()
        };
        let hint = format!(
            "`[types] {} = {}` (and select the value as `...::text`) or a Rust type that \
             implements `FromSql` for {}",
            toml_key(&key),
            toml_string("String"),
            ty.name.name
        );
        MapError::Unmapped {
            pg_type: ty.sql.clone(),
            key,
            hint,
        }
    };
    match &ty.kind {
        PgTypeKind::Domain { base } => rust_type(base, options),
        PgTypeKind::Array { element } => {
            let inner = rust_type(element, options)?;
            Ok(quote! { Vec<#inner> })
        }
        PgTypeKind::Enum => {
            let name = type_name(&ty.name, options).map_err(MapError::Name)?;
            let path: syn::Path = syn::parse_str(&format!(
                "{}::{}",
                options.enums_module,
                crate::naming::ident(&name)
            ))
            .map_err(|e| MapError::BadOverride {
                key: "enums_module".to_owned(),
                value: options.enums_module.clone(),
                message: e.to_string(),
            })?;
            Ok(quote! { #path })
        }
        // Extension types, wherever the extension is installed: postgres-types accepts
        // them by name.
        PgTypeKind::Base
            if matches!(
                ty.name.name.as_str(),
                "citext" | "ltree" | "lquery" | "ltxtquery"
            ) =>
        {
            Ok(quote! { String })
        }
        PgTypeKind::Base if ty.name.name == "hstore" => {
            Ok(quote! { ::std::collections::HashMap<String, Option<String>> })
        }
        PgTypeKind::Base if ty.name.schema == "pg_catalog" => Ok(match ty.name.name.as_str() {
            "bool" => quote! { bool },
            "int2" => quote! { i16 },
            "int4" => quote! { i32 },
            "int8" => quote! { i64 },
            "float4" => quote! { f32 },
            "float8" => quote! { f64 },
            "numeric" => quote! { ::rust_decimal::Decimal },
            "text" | "varchar" | "bpchar" | "name" => quote! { String },
            "char" => quote! { i8 },
            "oid" => quote! { u32 },
            "bytea" => quote! { Vec<u8> },
            "json" | "jsonb" => quote! { ::serde_json::Value },
            "uuid" => quote! { ::uuid::Uuid },
            "timestamptz" => quote! { ::time::OffsetDateTime },
            "timestamp" => quote! { ::time::PrimitiveDateTime },
            "date" => quote! { ::time::Date },
            "time" => quote! { ::time::Time },
            "inet" => quote! { ::std::net::IpAddr },
            "cidr" => quote! { ::cidr::IpCidr },
            "macaddr" => quote! { ::eui48::MacAddress },
            "bit" | "varbit" => quote! { ::bit_vec::BitVec },
            "point" => quote! { ::geo_types::Point<f64> },
            "box" => quote! { ::geo_types::Rect<f64> },
            "path" => quote! { ::geo_types::LineString<f64> },
            "pg_lsn" => quote! { ::postgres::types::PgLsn },
            _ => return Err(unmapped()),
        }),
        PgTypeKind::Composite if options.composites.contains(&ty.name) => {
            let name = crate::models::struct_name_of(&ty.name, options).map_err(MapError::Name)?;
            let path: syn::Path = syn::parse_str(&format!(
                "{}::{}",
                options.models_module,
                crate::naming::ident(&name)
            ))
            .map_err(|e| MapError::BadOverride {
                key: "models_module".to_owned(),
                value: options.models_module.clone(),
                message: e.to_string(),
            })?;
            Ok(quote! { #path })
        }
        _ => Err(unmapped()),
    }
}
