//! Facts from sqlparser's AST (PostgreSQL dialect).

use sqlparser::ast::{
    AlterTableOperation, AlterTypeOperation, ColumnDef, ColumnOption, Ident, ObjectName,
    ObjectType, RenameTableNameKind, Statement, TableConstraint,
};

use super::facts::{ConstraintKind, Fact, Name, SERIAL_TYPES};

/// Parse one statement; `Err` carries sqlparser's message.
pub fn parse(sql: &str) -> Result<Statement, String> {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let mut statements =
        sqlparser::parser::Parser::parse_sql(&dialect, sql).map_err(|e| e.to_string())?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        n => Err(format!("expected one statement, sqlparser found {n}")),
    }
}

fn ident(i: &Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_lowercase()
    }
}

fn name(n: &ObjectName) -> Name {
    let parts: Vec<String> =
        n.0.iter()
            .map(|p| match p.as_ident() {
                Some(i) => ident(i),
                None => p.to_string(),
            })
            .collect();
    match parts.as_slice() {
        [] => Name::bare(""),
        [one] => Name::bare(one.clone()),
        [.., schema, last] => Name {
            schema: Some(schema.clone()),
            name: last.clone(),
        },
    }
}

/// The facts of a parsed statement.
pub fn facts(statement: &Statement) -> Vec<Fact> {
    let mut out = Vec::new();
    match statement {
        Statement::CreateTable(ct) => out.push(Fact::CreateTable {
            table: name(&ct.name),
        }),
        Statement::CreateView(cv) => out.push(Fact::CreateView {
            view: name(&cv.name),
        }),
        Statement::CreateIndex(ci) => out.push(Fact::CreateIndex {
            table: name(&ci.table_name),
            concurrently: ci.concurrently,
        }),
        Statement::AlterTable(at) => {
            let table = name(&at.name);
            for op in &at.operations {
                alter_table_op(&table, op, &mut out);
            }
        }
        Statement::Drop {
            object_type, names, ..
        } => {
            let kind = match object_type {
                ObjectType::Table => Some("table"),
                ObjectType::View => Some("view"),
                ObjectType::MaterializedView => Some("materialized view"),
                _ => None,
            };
            if let Some(kind) = kind {
                for n in names {
                    out.push(Fact::DropRelation {
                        relation: name(n),
                        kind,
                    });
                }
            }
        }
        Statement::AlterType(at) => {
            if let AlterTypeOperation::AddValue(add) = &at.operation {
                out.push(Fact::AddEnumValue {
                    ty: name(&at.name),
                    value: add.value.value.clone(),
                });
            }
        }
        _ => {}
    }
    out
}

fn alter_table_op(table: &Name, op: &AlterTableOperation, out: &mut Vec<Fact>) {
    match op {
        AlterTableOperation::AddColumn { column_def, .. } => add_column(table, column_def, out),
        AlterTableOperation::AddConstraint {
            constraint,
            not_valid,
        } => {
            let (kind, cname) = match constraint {
                TableConstraint::Check(c) => (ConstraintKind::Check, c.name.as_ref()),
                TableConstraint::ForeignKey(c) => (ConstraintKind::ForeignKey, c.name.as_ref()),
                _ => return,
            };
            out.push(Fact::AddConstraint {
                table: table.clone(),
                kind,
                name: cname.map(ident),
                not_valid: *not_valid,
                on_new_column: None,
            });
        }
        AlterTableOperation::DropColumn { column_names, .. } => {
            for c in column_names {
                out.push(Fact::DropColumn {
                    table: table.clone(),
                    column: ident(c),
                });
            }
        }
        AlterTableOperation::RenameColumn {
            old_column_name,
            new_column_name,
        } => out.push(Fact::RenameColumn {
            table: table.clone(),
            from: ident(old_column_name),
            to: ident(new_column_name),
        }),
        AlterTableOperation::RenameTable { table_name } => {
            let (RenameTableNameKind::To(n) | RenameTableNameKind::As(n)) = table_name;
            out.push(Fact::RenameRelation {
                from: table.clone(),
                to: name(n).name,
            });
        }
        _ => {}
    }
}

fn add_column(table: &Name, def: &ColumnDef, out: &mut Vec<Fact>) {
    let column = ident(&def.name);
    let ty = def.data_type.to_string().to_lowercase();
    let mut not_null = false;
    let mut default = None;
    let mut filled_by = SERIAL_TYPES
        .contains(&ty.as_str())
        .then(|| format!("type {ty}"));
    let mut constraints = Vec::new();
    for opt in &def.options {
        match &opt.option {
            ColumnOption::NotNull | ColumnOption::PrimaryKey(_) => not_null = true,
            ColumnOption::Default(expr) => default = Some(expr.to_string()),
            ColumnOption::Check(_) => {
                constraints.push((ConstraintKind::Check, opt.name.as_ref().map(ident)))
            }
            ColumnOption::ForeignKey(_) => {
                constraints.push((ConstraintKind::ForeignKey, opt.name.as_ref().map(ident)))
            }
            other => {
                let text = other.to_string();
                if text.to_uppercase().starts_with("GENERATED") {
                    filled_by = Some(text);
                }
            }
        }
    }
    out.push(Fact::AddColumn {
        table: table.clone(),
        column: column.clone(),
        not_null,
        default,
        filled_by,
    });
    for (kind, cname) in constraints {
        out.push(Fact::AddConstraint {
            table: table.clone(),
            kind,
            name: cname,
            not_valid: false,
            on_new_column: Some(column.clone()),
        });
    }
}
