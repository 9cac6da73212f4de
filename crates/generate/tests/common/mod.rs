#![allow(dead_code)]

use pgcluster::{Cluster, TestDatabase};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub fn cluster() -> &'static Cluster {
    Cluster::shared().expect("embedded PostgreSQL cluster")
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn nasty_sql() -> String {
    std::fs::read_to_string(root().join("crates/schema/tests/fixtures/nasty.sql")).unwrap()
}

pub fn nasty_db() -> TestDatabase {
    let sql = nasty_sql();
    cluster()
        .database_from_template(&pgcluster::template_key("gen_fx", &sql), |c| {
            for stmt in schema::split::split(&sql)? {
                c.batch_execute(&stmt.sql)?;
            }
            Ok(())
        })
        .unwrap()
}

pub fn migrated_db() -> TestDatabase {
    let set = migrate::MigrationSet::discover(&root().join("migrations")).unwrap();
    cluster()
        .database_from_template(&format!("gen_mig_{}", set.hash()), |c| {
            migrate::Migrator::new(&set).up(c)?;
            Ok(())
        })
        .unwrap()
}

pub fn model_of(db: &TestDatabase) -> schema::SchemaModel {
    let exclude = vec![
        migrate::HISTORY_TABLE.to_owned(),
        migrate::LOCK_TABLE.to_owned(),
    ];
    let dump = schema::dump::dump(db.url(), cluster().bindir(), &exclude).unwrap();
    let mut client = db.connect().unwrap();
    schema::introspect(
        &mut client,
        Some(&dump),
        &schema::CatalogOptions {
            exclude_tables: exclude,
        },
    )
    .unwrap()
}

/// `(enum, name)` for every variant of generated `constraints.rs`, read back from the
/// generated source (the `as_str` match arms).
pub fn generated_constraint_names(source: &str) -> BTreeSet<(String, String)> {
    let file = syn::parse_file(source).unwrap();
    let mut out = BTreeSet::new();
    for item in file.items {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() {
            continue;
        }
        let syn::Type::Path(ty) = &*imp.self_ty else {
            continue;
        };
        let enum_name = ty.path.segments.last().unwrap().ident.to_string();
        for it in &imp.items {
            let syn::ImplItem::Fn(f) = it else { continue };
            if f.sig.ident != "as_str" {
                continue;
            }
            let Some(syn::Stmt::Expr(syn::Expr::Match(m), _)) = f.block.stmts.first() else {
                continue;
            };
            for arm in &m.arms {
                // Long arms are formatted as `=> { "name" }`.
                let body = match &*arm.body {
                    syn::Expr::Block(b) => match b.block.stmts.as_slice() {
                        [syn::Stmt::Expr(e, None)] => e,
                        _ => continue,
                    },
                    e => e,
                };
                match body {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }) => {
                        out.insert((enum_name.clone(), s.value()));
                    }
                    _ => panic!("unexpected as_str arm in {enum_name}"),
                }
            }
        }
    }
    out
}

/// Every constraint name in the catalog (pg_constraint minus NOT NULL and constraint
/// triggers, plus unique indexes no constraint owns), the history table excluded.
pub fn pg_constraint_names(client: &mut postgres::Client) -> BTreeSet<String> {
    client
        .query(
            "WITH user_ns AS (
                 SELECT oid FROM pg_namespace
                  WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_(toast|temp)'
             )
             SELECT conname::text FROM pg_constraint
              WHERE connamespace IN (SELECT oid FROM user_ns) AND contype NOT IN ('n', 't')
                AND conrelid IS DISTINCT FROM to_regclass($1) AND conrelid IS DISTINCT FROM to_regclass($2)
             UNION
             SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
              WHERE i.indisunique AND c.relnamespace IN (SELECT oid FROM user_ns)
                AND i.indrelid IS DISTINCT FROM to_regclass($1) AND indrelid IS DISTINCT FROM to_regclass($2)
                AND i.indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE contype IN ('p', 'u', 'x'))",
            &[&migrate::HISTORY_TABLE, &migrate::LOCK_TABLE],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}
