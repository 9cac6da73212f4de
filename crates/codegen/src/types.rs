//! PostgreSQL type → Rust type.
//!
//! | PostgreSQL | Rust |
//! |---|---|
//! | `bool` | `bool` |
//! | `int2`, `int4`, `int8` | `i16`, `i32`, `i64` |
//! | `float4`, `float8` | `f32`, `f64` |
//! | `numeric` | `rust_decimal::Decimal` (28 significant digits; larger values, NaN and infinities fail to decode) |
//! | `text`, `varchar`, `bpchar` (`char(n)`), `name`, `citext` | `String` |
//! | `"char"` | `i8` |
//! | `oid` | `u32` |
//! | `bytea` | `Vec<u8>` |
//! | `json`, `jsonb` | `serde_json::Value` |
//! | `uuid` | `uuid::Uuid` |
//! | `timestamptz`, `timestamp`, `date`, `time` | `time::OffsetDateTime`, `time::PrimitiveDateTime`, `time::Date`, `time::Time` |
//! | `inet` | `std::net::IpAddr` (the netmask is not kept) |
//! | `T[]` | `Vec<T>` (one dimension, no NULL elements) |
//! | an enum | the generated enum |
//! | a domain | its base type, recursively: a domain's CHECK is the database's job, and the wire format is the base type's |
//!
//! Anything else (interval, ranges, composites, geometric and network types other than
//! `inet`, ...) is an error naming the table and column, unless [`crate::Options::type_overrides`]
//! maps it; an override applies to the domain or type it names before any of the above.

use crate::Options;
use crate::enums::type_name;
use proc_macro2::TokenStream;
use quote::quote;
use schema::model::{PgType, PgTypeKind};

/// Why a type has no mapping: the type's SQL name and the override key to use.
#[derive(Debug)]
pub enum MapError {
    Unmapped {
        pg_type: String,
        key: String,
    },
    BadOverride {
        key: String,
        value: String,
        message: String,
    },
    Name(crate::Error),
}

fn override_for(ty: &PgType, options: &Options) -> Result<Option<TokenStream>, MapError> {
    let keys = [ty.name.to_string(), ty.name.name.clone(), ty.sql.clone()];
    for key in keys {
        if let Some(value) = options.type_overrides.get(&key) {
            let parsed: syn::Type = syn::parse_str(value).map_err(|e| MapError::BadOverride {
                key: key.clone(),
                value: value.clone(),
                message: e.to_string(),
            })?;
            return Ok(Some(quote! { #parsed }));
        }
    }
    Ok(None)
}

/// The Rust type of a (non-null) value of `ty`.
pub fn rust_type(ty: &PgType, options: &Options) -> Result<TokenStream, MapError> {
    if let Some(t) = override_for(ty, options)? {
        return Ok(t);
    }
    let unmapped = || MapError::Unmapped {
        pg_type: ty.sql.clone(),
        key: ty.name.name.clone(),
    };
    match &ty.kind {
        PgTypeKind::Domain { base } => rust_type(base, options),
        PgTypeKind::Array { element } => {
            let inner = rust_type(element, options)?;
            Ok(quote! { Vec<#inner> })
        }
        PgTypeKind::Enum => {
            let name = type_name(&ty.name).map_err(MapError::Name)?;
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
        PgTypeKind::Base if ty.name.name == "citext" => Ok(quote! { String }),
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
            _ => return Err(unmapped()),
        }),
        _ => Err(unmapped()),
    }
}
