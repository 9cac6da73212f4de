//! Synthetic migration sets: N migrations in the paired layout, shaped like a real product's
//! (tables with constraints and indexes, enums, functions, triggers, views), each with an exact
//! down.

use std::fmt::Write as _;
use std::path::Path;

/// One synthetic migration.
#[derive(Debug, Clone)]
pub struct SynthMigration {
    /// 1-based version.
    pub version: usize,
    /// Up SQL.
    pub up: String,
    /// Down SQL (reverts `up` exactly).
    pub down: String,
}

/// The `i`-th migration (1-based). Kinds rotate: table, enum + table, function + trigger,
/// view, index + check; every migration refers to something an earlier one made, as real
/// migrations do.
pub fn migration(i: usize) -> SynthMigration {
    let (mut up, mut down) = (String::new(), String::new());
    let table = |k: usize| format!("t{k:05}");
    match i % 5 {
        1 => {
            let t = table(i);
            let fk = if i > 5 {
                format!(
                    ",\n    parent_id bigint REFERENCES {} (id) ON DELETE CASCADE",
                    table(i - 5)
                )
            } else {
                String::new()
            };
            let _ = write!(
                up,
                "CREATE TABLE {t} (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    name text NOT NULL,\n    amount_micros bigint NOT NULL DEFAULT 0 CONSTRAINT {t}_amount_check CHECK (amount_micros >= 0),\n    created_at timestamptz NOT NULL DEFAULT now(){fk},\n    CONSTRAINT {t}_name_key UNIQUE (name)\n);\nCOMMENT ON TABLE {t} IS 'synthetic table {i}';\n"
            );
            let _ = writeln!(down, "DROP TABLE {t};");
        }
        2 => {
            let t = table(i - 1);
            let _ = write!(
                up,
                "CREATE TYPE e{i:05}_status AS ENUM ('active', 'suspended', 'deleted');\nALTER TABLE {t} ADD COLUMN status e{i:05}_status NOT NULL DEFAULT 'active';\n"
            );
            let _ = write!(
                down,
                "ALTER TABLE {t} DROP COLUMN status;\nDROP TYPE e{i:05}_status;\n"
            );
        }
        3 => {
            let t = table(i - 2);
            let _ = write!(
                up,
                "CREATE FUNCTION f{i:05}_guard() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    IF NEW.amount_micros > 1000000000000 THEN\n        RAISE EXCEPTION 'amount too large' USING ERRCODE = 'check_violation', CONSTRAINT = '{t}_amount_max';\n    END IF;\n    RETURN NEW;\nEND;\n$$;\nCREATE TRIGGER {t}_guard BEFORE INSERT OR UPDATE ON {t} FOR EACH ROW EXECUTE FUNCTION f{i:05}_guard();\n"
            );
            let _ = write!(
                down,
                "DROP TRIGGER {t}_guard ON {t};\nDROP FUNCTION f{i:05}_guard();\n"
            );
        }
        4 => {
            let t = table(i - 3);
            let _ = write!(
                up,
                "CREATE VIEW v{i:05} AS\n    SELECT id, name, amount_micros / 1000000.0 AS amount, status\n    FROM {t}\n    WHERE status <> 'deleted';\n"
            );
            let _ = writeln!(down, "DROP VIEW v{i:05};");
        }
        _ => {
            let t = table(i - 4);
            let _ = write!(
                up,
                "CREATE INDEX {t}_created_at_idx ON {t} (created_at);\nALTER TABLE {t} ADD CONSTRAINT {t}_name_size CHECK (octet_length(name) <= 256);\n"
            );
            let _ = write!(
                down,
                "ALTER TABLE {t} DROP CONSTRAINT {t}_name_size;\nDROP INDEX {t}_created_at_idx;\n"
            );
        }
    }
    SynthMigration {
        version: i,
        up,
        down,
    }
}

/// Write `n` migrations into `dir` (paired layout, six-digit versions).
pub fn write_set(dir: &Path, n: usize) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for i in 1..=n {
        let m = migration(i);
        std::fs::write(dir.join(format!("{i:06}_synthetic_{i}.up.sql")), &m.up)?;
        std::fs::write(dir.join(format!("{i:06}_synthetic_{i}.down.sql")), &m.down)?;
    }
    Ok(())
}

/// Every up of `1..=n`, concatenated: what `psql -1 -f` runs for the floor.
pub fn concatenated_ups(n: usize) -> String {
    (1..=n)
        .map(|i| migration(i).up)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Write the ups of `n` migrations in refinery's layout (`V{n}__synthetic_{n}.sql`), for
/// refinery's own runner.
pub fn write_refinery_set(dir: &Path, n: usize) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for i in 1..=n {
        std::fs::write(
            dir.join(format!("V{i}__synthetic_{i}.sql")),
            migration(i).up,
        )?;
    }
    Ok(())
}
