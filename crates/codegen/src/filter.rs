//! The part of a model that `gen.toml`'s `schemas` selects.

use schema::SchemaModel;
use schema::model::{PgType, PgTypeKind, QualifiedName};
use std::collections::BTreeSet;

/// Relations, constraints and enums of `schemas` only. An enum in another schema that a kept
/// column uses (directly, as an array element or under a domain) is kept too, so the row
/// structs always compile.
pub fn only_schemas(model: &SchemaModel, schemas: &[String]) -> SchemaModel {
    let keep = |name: &QualifiedName| schemas.contains(&name.schema);
    let mut out = model.clone();
    out.relations.retain(|r| keep(&r.name));
    out.constraints.retain(|c| keep(c.owner.name()));
    out.triggers.retain(|t| keep(&t.table));
    let mut used = BTreeSet::new();
    for column in out.relations.iter().flat_map(|r| &r.columns) {
        enums_in(&column.ty, &mut used);
    }
    out.enums
        .retain(|e| keep(&e.name) || used.contains(&e.name));
    let reference = &mut out.reference;
    reference.defaults.retain(|d| keep(&d.relation));
    reference.indexes.retain(|i| keep(&i.table));
    reference
        .foreign_keys
        .retain(|f| keep(&f.table) && keep(&f.references));
    reference.functions.retain(|f| keep(&f.name));
    out
}

fn enums_in(ty: &PgType, out: &mut BTreeSet<QualifiedName>) {
    match &ty.kind {
        PgTypeKind::Enum => {
            out.insert(ty.name.clone());
        }
        PgTypeKind::Array { element: inner } | PgTypeKind::Domain { base: inner } => {
            enums_in(inner, out)
        }
        _ => {}
    }
}
