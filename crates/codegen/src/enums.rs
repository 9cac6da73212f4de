//! `enums.rs`: every PostgreSQL enum type as a Rust enum, labels in catalog order (which is
//! the type's sort order, so the derived `Ord` agrees with PostgreSQL's), with `ToSql` and
//! `FromSql` from `postgres::types` (text format; `accepts` checks the type's name and schema,
//! and takes a domain over the enum too).
//!
//! Names: the type is named by [`type_name`]; a label's variant by [`crate::naming::words`]
//! (so `''` is `Empty`, `#` is `Hash`), unless `gen.toml` names it. The generated code
//! never writes `Self::Err` or `Self::Error`, so labels `err` and `error` are ordinary
//! variants; the SQL label itself is what `ToSql`/`FromSql` send and expect, always.

use crate::naming::{Namespace, ident, toml_key, upper_camel, user_name};
use crate::{Error, Options, code, docs, text_lines};
use proc_macro2::TokenStream;
use quote::quote;
use schema::SchemaModel;
use schema::model::{EnumType, QualifiedName};

/// Names `enums.rs` itself uses; an enum whose derived name is one of these gets an `Enum`
/// suffix (`public.option` → `OptionEnum`).
const RESERVED: &[&str] = &[
    "UnknownEnumLabel",
    "Option",
    "Result",
    "String",
    "Vec",
    "Box",
    "Send",
    "Sync",
];

/// The Rust type name of a PostgreSQL enum (`public.mood` → `Mood`, `billing.plan_kind` →
/// `BillingPlanKind`, `public.result` → `ResultEnum`), or the name `gen.toml` gives it.
pub fn type_name(name: &QualifiedName, options: &Options) -> Result<String, Error> {
    if let Some(rust) = options.renames.get(&name.to_string()) {
        return user_name("enum type", &name.to_string(), rust);
    }
    let mut rust = upper_camel("enum type", &name.display_name())?;
    if RESERVED.contains(&rust.as_str()) {
        rust.push_str("Enum");
    }
    Ok(rust)
}

/// Tokens of `enums.rs`.
pub fn generate(model: &SchemaModel, options: &Options) -> Result<TokenStream, Error> {
    let mut types = Namespace::new("enum type", "[rename]");
    types.reserve(RESERVED);
    let mut items = vec![quote! {
        /// A text that is not a label of the enum.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct UnknownEnumLabel {
            /// The PostgreSQL enum type, e.g. `public.mood`.
            pub type_name: &'static str,
            /// The text.
            pub label: String,
        }

        impl ::std::fmt::Display for UnknownEnumLabel {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{:?} is not a label of enum {}", self.label, self.type_name)
            }
        }

        impl ::std::error::Error for UnknownEnumLabel {}
    }];
    for e in &model.enums {
        let rust = type_name(&e.name, options)?;
        types.claim(&rust, &e.name.to_string(), &e.name.to_string())?;
        items.push(generate_enum(e, &rust, options)?);
    }
    Ok(quote! { #(#items)* })
}

fn generate_enum(e: &EnumType, rust: &str, options: &Options) -> Result<TokenStream, Error> {
    let ty = ident(rust);
    let qualified = e.name.to_string();
    let renames = options.enum_labels.get(&qualified);
    let mut labels = Namespace::new(
        "enum label",
        format!("[enums.{}]", toml_key(&e.name.display_name())),
    );
    let mut variants = Vec::new();
    for label in &e.labels {
        let v = match renames.and_then(|r| r.get(label)) {
            Some(v) => user_name("enum label", label, v)?,
            None => upper_camel("enum label", label)?,
        };
        labels.claim(&v, label, label)?;
        variants.push(ident(&v));
    }
    let mut doc = vec![format!("PostgreSQL enum {}.", code(&e.name.to_string()))];
    if let Some(c) = &e.comment {
        doc.push(String::new());
        doc.extend(text_lines(c));
    }
    let doc = docs(&doc);
    let defs = e.labels.iter().zip(&variants).map(|(l, v)| {
        let d = docs(&[code(l)]);
        quote! { #d #v, }
    });
    let label_strs = &e.labels;
    let as_str = if variants.is_empty() {
        quote! { match self {} }
    } else {
        quote! { match self { #(Self::#variants => #label_strs,)* } }
    };
    let from_label = if variants.is_empty() {
        quote! { let _ = label; None }
    } else {
        quote! { match label { #(#label_strs => Some(Self::#variants),)* _ => None } }
    };
    let schema = &e.name.schema;
    let sql_name = &e.name.name;
    Ok(quote! {
        #doc
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum #ty {
            #(#defs)*
        }

        impl #ty {
            /// Every label, in PostgreSQL's order.
            pub const ALL: &'static [Self] = &[#(Self::#variants),*];
            /// The type's schema.
            pub const SQL_SCHEMA: &'static str = #schema;
            /// The type's name.
            pub const SQL_NAME: &'static str = #sql_name;

            /// The PostgreSQL label.
            pub const fn as_str(self) -> &'static str { #as_str }

            /// The variant with this exact label.
            pub fn from_label(label: &str) -> Option<Self> { #from_label }
        }

        impl ::std::fmt::Display for #ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for #ty {
            type Err = UnknownEnumLabel;
            fn from_str(label: &str) -> Result<Self, UnknownEnumLabel> {
                Self::from_label(label).ok_or_else(|| UnknownEnumLabel { type_name: #qualified, label: label.to_owned() })
            }
        }

        impl ::std::convert::TryFrom<&str> for #ty {
            type Error = UnknownEnumLabel;
            fn try_from(label: &str) -> Result<Self, UnknownEnumLabel> {
                label.parse()
            }
        }

        impl ::postgres::types::ToSql for #ty {
            fn to_sql(
                &self,
                _ty: &::postgres::types::Type,
                out: &mut ::postgres::types::private::BytesMut,
            ) -> Result<::postgres::types::IsNull, Box<dyn ::std::error::Error + Sync + Send>> {
                out.extend_from_slice(self.as_str().as_bytes());
                Ok(::postgres::types::IsNull::No)
            }

            fn accepts(ty: &::postgres::types::Type) -> bool {
                match ty.kind() {
                    ::postgres::types::Kind::Domain(base) => <Self as ::postgres::types::ToSql>::accepts(base),
                    _ => ty.name() == Self::SQL_NAME && ty.schema() == Self::SQL_SCHEMA,
                }
            }

            ::postgres::types::to_sql_checked!();
        }

        impl<'a> ::postgres::types::FromSql<'a> for #ty {
            fn from_sql(
                _ty: &::postgres::types::Type,
                raw: &'a [u8],
            ) -> Result<Self, Box<dyn ::std::error::Error + Sync + Send>> {
                Ok(::std::str::from_utf8(raw)?.parse()?)
            }

            fn accepts(ty: &::postgres::types::Type) -> bool {
                match ty.kind() {
                    ::postgres::types::Kind::Domain(base) => <Self as ::postgres::types::FromSql<'a>>::accepts(base),
                    _ => ty.name() == Self::SQL_NAME && ty.schema() == Self::SQL_SCHEMA,
                }
            }
        }
    })
}
