//! The schema model of a PostgreSQL database, one job per module:
//!
//! - [`dump`]: `pg_dump --schema-only`, normalised to be deterministic and diffable;
//! - [`split`]: SQL text → statements (sqlparser's tokenizer: dollar quotes, comments);
//! - [`parse`]: statements → what sqlparser understands; rejected statements are kept;
//! - [`catalog`]: `pg_catalog` → constraints, unique indexes, enums, relations, triggers;
//! - [`pseudo`]: trigger-raised pseudo-constraints from PL/pgSQL bodies and trigger arguments;
//! - [`reference`]: what the schema reference adds (defaults, indexes, foreign-key columns,
//!   functions);
//! - [`model`]: the [`SchemaModel`] the code generator consumes.
//!
//! [`introspect`] puts them together. The catalog is the authority for completeness; the
//! parsed dump is a cross-check, and any constraint only the dump knows is added too, so the
//! union never misses one.

pub mod catalog;
pub mod dump;
mod errcodes;
pub mod model;
pub mod parse;
pub mod pseudo;
pub mod reference;
pub mod split;

pub use catalog::{Catalog, CatalogOptions};
pub use model::SchemaModel;

use model::{Constraint, ConstraintKind, Origin, Owner, UniqueFlavour};
use parse::{ParsedDump, ParsedKind};
use std::collections::BTreeSet;

/// Building the model failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Catalog(#[from] catalog::CatalogError),
    #[error(transparent)]
    Split(#[from] split::SplitError),
    #[error(transparent)]
    Dump(#[from] dump::DumpError),
}

/// Source texts of this crate, for a fingerprint of the generator: a change to any of them
/// must invalidate a cached generation. A test checks that every file of `src/` is listed.
pub const SOURCES: &[(&str, &str)] = &[
    ("catalog.rs", include_str!("catalog.rs")),
    ("dump.rs", include_str!("dump.rs")),
    ("errcodes.rs", include_str!("errcodes.rs")),
    ("lib.rs", include_str!("lib.rs")),
    ("model.rs", include_str!("model.rs")),
    ("parse.rs", include_str!("parse.rs")),
    ("pseudo.rs", include_str!("pseudo.rs")),
    ("reference.rs", include_str!("reference.rs")),
    ("split.rs", include_str!("split.rs")),
];

/// Read the catalog through `client`, parse `dump` (the normalised dump of the same
/// database, when there is one), extract pseudo-constraints, and cross-check.
pub fn introspect(
    client: &mut postgres::Client,
    dump: Option<&str>,
    options: &CatalogOptions,
) -> Result<SchemaModel, Error> {
    let catalog = catalog::read_catalog(client, options)?;
    let parsed = dump.map(parse::parse_dump).transpose()?;
    let mut model = build_model(catalog, parsed);
    model.reference = reference::read_reference(client, options)?;
    Ok(model)
}

/// Combine a catalog, an optional parsed dump and the pseudo-constraints into a model.
pub fn build_model(catalog: Catalog, parsed: Option<ParsedDump>) -> SchemaModel {
    let (pseudo, mut warnings) = pseudo::pseudo_constraints(&catalog.functions, &catalog.triggers);
    let mut constraints = catalog.constraints;
    let mut unparsed = Vec::new();
    if let Some(parsed) = parsed {
        warnings.extend(cross_check(&mut constraints, &parsed));
        unparsed = parsed.unparsed;
    }
    constraints.extend(pseudo);
    let mut model = SchemaModel {
        constraints,
        enums: catalog.enums,
        relations: catalog.relations,
        triggers: catalog.triggers,
        unparsed,
        warnings,
        reference: reference::Reference::default(),
    };
    model.normalize();
    model
}

/// Compare catalog constraints with the dump's. Names only the dump declares are added to
/// `constraints` (origin [`Origin::Dump`]); every disagreement becomes a warning.
fn cross_check(constraints: &mut Vec<Constraint>, parsed: &ParsedDump) -> Vec<String> {
    let mut warnings = Vec::new();
    let catalog_names: BTreeSet<&str> = constraints.iter().map(|c| c.name.as_str()).collect();
    let mut dump_names: BTreeSet<&str> =
        parsed.constraints.iter().map(|c| c.name.as_str()).collect();
    for u in &parsed.unparsed {
        for name in &u.constraint_names {
            dump_names.insert(name);
            if !catalog_names.contains(name.as_str()) {
                warnings.push(format!(
                    "dump line {}: statement sqlparser rejected mentions constraint {name:?}, which the catalog does not have",
                    u.line
                ));
            }
        }
    }
    for name in &catalog_names {
        if !dump_names.contains(name) {
            warnings.push(format!(
                "constraint {name:?} is in the catalog but not declared in the dump"
            ));
        }
    }
    let mut added = Vec::new();
    for c in &parsed.constraints {
        if catalog_names.contains(c.name.as_str()) {
            continue;
        }
        warnings.push(format!(
            "dump line {}: constraint {:?} on {} is not in the catalog; kept from the dump",
            c.line, c.name, c.owner
        ));
        added.push(Constraint {
            name: c.name.clone(),
            kind: match c.kind {
                ParsedKind::Check => ConstraintKind::Check,
                ParsedKind::PrimaryKey => ConstraintKind::Unique(UniqueFlavour::PrimaryKey),
                ParsedKind::Unique => ConstraintKind::Unique(UniqueFlavour::Constraint),
                ParsedKind::UniqueIndex => ConstraintKind::Unique(UniqueFlavour::Index),
                ParsedKind::ForeignKey => ConstraintKind::ForeignKey,
                ParsedKind::Exclude => ConstraintKind::Exclude,
            },
            owner: Owner::Table(c.owner.clone()),
            definition: String::new(),
            validated: true,
            inherited: false,
            comment: None,
            origin: Origin::Dump,
            raised_by: None,
        });
    }
    constraints.extend(added);
    warnings
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
