//! `constraints.rs`: a variant per constraint name.
//!
//! Constraints are grouped by the SQLSTATE a violation raises: CHECK (23514), UNIQUE incl.
//! PRIMARY KEY and unique indexes (23505), FOREIGN KEY (23503), EXCLUDE (23P01). A
//! trigger-raised pseudo-constraint joins the enum of its SQLSTATE and is marked as raised by
//! a trigger; one with any other SQLSTATE goes to `TriggerConstraint`. All five enums are
//! always generated (uninhabited when the schema has none), so the runtime API keeps its
//! shape whatever the schema.

use crate::Options;
use crate::naming::{Namespace, ident, upper_camel, user_name};
use crate::{Error, code, docs, sql_block, text_lines};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use schema::SchemaModel;
use schema::model::{Constraint, ConstraintKind, Origin, Owner, UniqueFlavour};
use std::collections::{BTreeMap, BTreeSet};

/// The generated enums, in file order: (type name, what it holds, SQLSTATE if fixed).
const ENUMS: [(&str, &str, Option<&str>); 5] = [
    (
        "CheckConstraint",
        "CHECK constraints (table and domain), raising `check_violation` (23514)",
        Some("23514"),
    ),
    (
        "UniqueConstraint",
        "PRIMARY KEY and UNIQUE constraints and unique indexes, raising `unique_violation` (23505)",
        Some("23505"),
    ),
    (
        "ForeignKeyConstraint",
        "FOREIGN KEY constraints, raising `foreign_key_violation` (23503)",
        Some("23503"),
    ),
    (
        "ExcludeConstraint",
        "EXCLUDE constraints, raising `exclusion_violation` (23P01)",
        Some("23P01"),
    ),
    (
        "TriggerConstraint",
        "Names that trigger functions raise (`RAISE ... USING CONSTRAINT = ...`) with a SQLSTATE other than the four constraint violations",
        None,
    ),
];

/// Which generated enum a constraint belongs to.
pub fn enum_of(kind: &ConstraintKind) -> &'static str {
    match kind {
        ConstraintKind::Check => "CheckConstraint",
        ConstraintKind::Unique(_) => "UniqueConstraint",
        ConstraintKind::ForeignKey => "ForeignKeyConstraint",
        ConstraintKind::Exclude => "ExcludeConstraint",
        ConstraintKind::TriggerRaised { sqlstate } => match sqlstate.as_str() {
            "23514" => "CheckConstraint",
            "23505" => "UniqueConstraint",
            "23503" => "ForeignKeyConstraint",
            "23P01" => "ExcludeConstraint",
            _ => "TriggerConstraint",
        },
    }
}

/// One variant: every model entry with this name in this enum.
struct Variant<'a> {
    sql: &'a str,
    rust: String,
    entries: Vec<&'a Constraint>,
}

impl Variant<'_> {
    /// Tables, the defining (non-inherited) ones first, each group sorted.
    fn tables(&self) -> Vec<String> {
        let mut own = BTreeSet::new();
        let mut inherited = BTreeSet::new();
        for c in &self.entries {
            if let Owner::Table(t) = &c.owner {
                if c.inherited {
                    &mut inherited
                } else {
                    &mut own
                }
                .insert(t.display_name());
            }
        }
        let mut tables: Vec<String> = own.iter().cloned().collect();
        tables.extend(inherited.into_iter().filter(|t| !own.contains(t)));
        tables
    }

    fn domain(&self) -> Option<String> {
        self.entries.iter().find_map(|c| match &c.owner {
            Owner::Domain(d) => Some(d.display_name()),
            _ => None,
        })
    }

    fn trigger_raised(&self) -> bool {
        self.entries.iter().any(|c| c.origin == Origin::Trigger)
    }

    fn sqlstates(&self) -> Vec<String> {
        let set: BTreeSet<&str> = self.entries.iter().map(|c| c.kind.sqlstate()).collect();
        set.into_iter().map(str::to_owned).collect()
    }

    /// The first definition of a defining entry.
    fn definition(&self) -> String {
        let mut entries = self.entries.clone();
        entries.sort_by_key(|c| (c.inherited, c.origin != Origin::Catalog));
        entries
            .first()
            .map(|c| c.definition.clone())
            .unwrap_or_default()
    }

    fn doc(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let kinds: BTreeSet<&str> = self
            .entries
            .iter()
            .map(|c| match &c.kind {
                ConstraintKind::Check => "CHECK",
                ConstraintKind::Unique(UniqueFlavour::PrimaryKey) => "PRIMARY KEY",
                ConstraintKind::Unique(UniqueFlavour::Constraint) => "UNIQUE",
                ConstraintKind::Unique(UniqueFlavour::Index) => "unique index",
                ConstraintKind::ForeignKey => "FOREIGN KEY",
                ConstraintKind::Exclude => "EXCLUDE",
                ConstraintKind::TriggerRaised { .. } => {
                    match c.raised_by.as_ref().and_then(|r| r.trigger.as_ref()) {
                        Some(_) => "raised by a trigger",
                        None => "raised by a function",
                    }
                }
            })
            .collect();
        let kinds: Vec<&str> = kinds.into_iter().collect();
        let tables = self.tables();
        let mut on = tables.iter().map(|t| code(t)).collect::<Vec<_>>();
        if let Some(d) = self.domain() {
            on.push(format!("domain {}", code(&d)));
        }
        let on = if on.is_empty() {
            String::new()
        } else {
            format!(" on {}", on.join(", "))
        };
        lines.push(format!("{}: {}{on}.", code(self.sql), kinds.join(", ")));
        if self.entries.iter().any(|c| !c.validated) {
            lines.push(String::new());
            lines.push(
                "Not validated (`NOT VALID`): rows that existed when it was added may violate it."
                    .to_owned(),
            );
        }
        let comments: BTreeSet<&str> = self
            .entries
            .iter()
            .filter_map(|c| c.comment.as_deref())
            .collect();
        for comment in comments {
            lines.push(String::new());
            lines.extend(text_lines(comment));
        }
        // Each distinct definition once, with who has it when there is more than one.
        let mut definitions: BTreeMap<(bool, &str), BTreeSet<String>> = BTreeMap::new();
        for c in &self.entries {
            let who = match (&c.raised_by, &c.owner) {
                (Some(r), owner) => {
                    let via = r
                        .trigger
                        .as_ref()
                        .map(|t| format!(" via trigger {}", code(t)))
                        .unwrap_or_default();
                    let on = match owner {
                        Owner::Table(t) => format!(" on {}", code(&t.display_name())),
                        _ => String::new(),
                    };
                    format!(
                        "raised by function {}{via}{on}",
                        code(&r.function.display_name())
                    )
                }
                (None, owner) => code(&owner.name().display_name()),
            };
            definitions
                .entry((c.origin == Origin::Trigger, c.definition.as_str()))
                .or_default()
                .insert(who);
        }
        let several = definitions.len() > 1;
        for ((_, definition), who) in definitions {
            lines.push(String::new());
            if several || self.trigger_raised() {
                let who: Vec<String> = who.into_iter().collect();
                lines.push(format!("{}{}", capitalise(&who.join("; ")), ":"));
                lines.push(String::new());
            }
            if !definition.is_empty() {
                lines.extend(sql_block(definition));
            }
        }
        lines
    }
}

pub(crate) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Tokens of `constraints.rs`.
pub fn generate(model: &SchemaModel, options: &Options) -> Result<TokenStream, Error> {
    // enum name → SQL name → entries
    let mut groups: BTreeMap<&str, BTreeMap<&str, Vec<&Constraint>>> = BTreeMap::new();
    for c in &model.constraints {
        groups
            .entry(enum_of(&c.kind))
            .or_default()
            .entry(&c.name)
            .or_default()
            .push(c);
    }
    let mut items = vec![prelude()];
    for (enum_name, what, sqlstate) in ENUMS {
        let mut namespace = Namespace::new(
            match enum_name {
                "CheckConstraint" => "CHECK constraint",
                "UniqueConstraint" => "unique constraint or index",
                "ForeignKeyConstraint" => "foreign key constraint",
                "ExcludeConstraint" => "exclusion constraint",
                _ => "trigger-raised constraint",
            },
            "[constraints]",
        );
        let mut variants = Vec::new();
        for (sql, entries) in groups.remove(enum_name).unwrap_or_default() {
            let rust = match options.constraint_renames.get(sql) {
                Some(rust) => user_name("constraint", sql, rust)?,
                None => upper_camel("constraint", sql)?,
            };
            namespace.claim(&rust, sql, sql)?;
            variants.push(Variant { sql, rust, entries });
        }
        items.push(generate_enum(enum_name, what, sqlstate, &variants));
    }
    Ok(quote! { #(#items)* })
}

fn prelude() -> TokenStream {
    quote! {
        /// A constraint name, as PostgreSQL reports it in an error's constraint field.
        ///
        /// Implemented by every generated constraint enum; the runtime crate classifies
        /// errors through it.
        pub trait Constraint:
            Copy + Eq + Ord + ::std::hash::Hash + ::std::fmt::Debug + ::std::fmt::Display + 'static
        {
            /// Every constraint of this kind, sorted by name.
            const ALL: &'static [Self];
            /// The constraint's name.
            fn as_str(self) -> &'static str;
            /// The table it belongs to (the defining one when partitions or inheritance
            /// children share the name); `None` for a domain CHECK, or a name raised by a
            /// function no trigger runs.
            fn table(self) -> Option<&'static str>;
            /// Every table carrying this name.
            fn tables(self) -> &'static [&'static str];
            /// Its definition (`pg_get_constraintdef`, `pg_get_indexdef`, or the `RAISE`).
            fn definition(self) -> &'static str;
            /// Raised by a trigger function rather than checked by PostgreSQL itself (for a
            /// name that is both, true).
            fn is_trigger_raised(self) -> bool;
            /// The SQLSTATEs an error carrying this name has.
            fn sqlstates(self) -> &'static [&'static str];
            /// The constraint with this exact name.
            fn from_name(name: &str) -> Option<Self>;
        }

        /// A name that is not one of the enum's constraints.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct UnknownConstraint {
            /// The enum that was asked, e.g. `CheckConstraint`.
            pub kind: &'static str,
            /// The name.
            pub name: String,
        }

        impl ::std::fmt::Display for UnknownConstraint {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{:?} is not a {}", self.name, self.kind)
            }
        }

        impl ::std::error::Error for UnknownConstraint {}
    }
}

fn generate_enum(
    name: &str,
    what: &str,
    sqlstate: Option<&str>,
    variants: &[Variant<'_>],
) -> TokenStream {
    let ty = format_ident!("{}", name);
    let mut enum_doc = vec![format!("{what}.")];
    if variants.is_empty() {
        enum_doc.push(String::new());
        enum_doc.push("This schema has none.".to_owned());
    }
    let enum_doc = docs(&enum_doc);
    let idents: Vec<_> = variants.iter().map(|v| ident(&v.rust)).collect();
    let variant_defs = variants.iter().zip(&idents).map(|(v, id)| {
        let d = docs(&v.doc());
        quote! { #d #id, }
    });
    let arms = |f: &dyn Fn(&Variant<'_>) -> TokenStream| -> TokenStream {
        let arms = variants.iter().zip(&idents).map(|(v, id)| {
            let value = f(v);
            quote! { Self::#id => #value, }
        });
        quote! { match self { #(#arms)* } }
    };
    let as_str = arms(&|v| {
        let s = v.sql;
        quote! { #s }
    });
    let table = arms(&|v| match v.tables().first() {
        Some(t) => quote! { Some(#t) },
        None => quote! { None },
    });
    let tables = arms(&|v| {
        let t = v.tables();
        quote! { &[#(#t),*] }
    });
    let definition = arms(&|v| {
        let d = v.definition();
        quote! { #d }
    });
    let trigger_raised = arms(&|v| {
        let t = v.trigger_raised();
        quote! { #t }
    });
    let sqlstates = match sqlstate {
        Some(s) => {
            if variants.is_empty() {
                quote! { match self {} }
            } else {
                quote! { let _ = self; &[#s] }
            }
        }
        None => arms(&|v| {
            let s = v.sqlstates();
            quote! { &[#(#s),*] }
        }),
    };
    let from_name = if variants.is_empty() {
        quote! { let _ = name; None }
    } else {
        let arms = variants.iter().zip(&idents).map(|(v, id)| {
            let s = v.sql;
            quote! { #s => Some(Self::#id), }
        });
        quote! { match name { #(#arms)* _ => None } }
    };
    let all = quote! { &[#(Self::#idents),*] };
    let kind = name;
    quote! {
        #enum_doc
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum #ty {
            #(#variant_defs)*
        }

        impl #ty {
            /// Every constraint of this kind, sorted by name.
            pub const ALL: &'static [Self] = #all;

            /// The constraint's name.
            pub const fn as_str(self) -> &'static str { #as_str }

            /// The table it belongs to; see [`Constraint::table`].
            pub const fn table(self) -> Option<&'static str> { #table }

            /// Every table carrying this name.
            pub const fn tables(self) -> &'static [&'static str] { #tables }

            /// Its definition.
            pub const fn definition(self) -> &'static str { #definition }

            /// Raised by a trigger function rather than checked by PostgreSQL itself.
            pub const fn is_trigger_raised(self) -> bool { #trigger_raised }

            /// The SQLSTATEs an error carrying this name has.
            pub const fn sqlstates(self) -> &'static [&'static str] { #sqlstates }

            /// The constraint with this exact name.
            pub fn from_name(name: &str) -> Option<Self> { #from_name }
        }

        impl Constraint for #ty {
            const ALL: &'static [Self] = Self::ALL;
            fn as_str(self) -> &'static str { Self::as_str(self) }
            fn table(self) -> Option<&'static str> { Self::table(self) }
            fn tables(self) -> &'static [&'static str] { Self::tables(self) }
            fn definition(self) -> &'static str { Self::definition(self) }
            fn is_trigger_raised(self) -> bool { Self::is_trigger_raised(self) }
            fn sqlstates(self) -> &'static [&'static str] { Self::sqlstates(self) }
            fn from_name(name: &str) -> Option<Self> { Self::from_name(name) }
        }

        impl ::std::fmt::Display for #ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for #ty {
            type Err = UnknownConstraint;
            fn from_str(name: &str) -> Result<Self, UnknownConstraint> {
                Self::from_name(name).ok_or_else(|| UnknownConstraint { kind: #kind, name: name.to_owned() })
            }
        }

        impl ::std::convert::TryFrom<&str> for #ty {
            type Error = UnknownConstraint;
            fn try_from(name: &str) -> Result<Self, UnknownConstraint> {
                name.parse()
            }
        }
    }
}
