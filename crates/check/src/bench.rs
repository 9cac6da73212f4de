//! A synthetic migration set that passes `check`, for measuring it: `bench::synth`'s set
//! (tables, enums, functions and triggers, views, indexes and checks, each with an exact
//! down) plus a fixture per migration (a row for every new table) and, on the statements the
//! lint rightly flags (an index and a CHECK on an existing table), an allow with its reason.

use std::path::Path;

/// Write `n` synthetic migrations with fixtures into `dir`.
pub fn synthetic_set(dir: &Path, n: usize) -> std::io::Result<()> {
    bench::synth::write_set(dir, n)?;
    std::fs::create_dir_all(dir.join(migrate::FIXTURES_DIR))?;
    for i in 1..=n {
        let stem = format!("{i:06}_synthetic_{i}");
        let fixture = if i % 5 == 1 {
            format!("INSERT INTO t{i:05} (name) VALUES ('row of {i}');\n")
        } else {
            "-- No new table: the rows of the earlier fixtures are enough.\n".to_string()
        };
        std::fs::write(
            dir.join(migrate::FIXTURES_DIR).join(format!("{stem}.sql")),
            fixture,
        )?;
        let up_path = dir.join(format!("{stem}.up.sql"));
        let up = std::fs::read_to_string(&up_path)?;
        let allowed = up
            .lines()
            .map(|l| {
                if l.starts_with("CREATE INDEX ") {
                    format!(
                        "-- check:allow index-without-concurrently synthetic benchmark data\n{l}"
                    )
                } else if l.starts_with("ALTER TABLE ") && l.contains(" ADD CONSTRAINT ") {
                    format!(
                        "-- check:allow constraint-without-not-valid synthetic benchmark data\n{l}"
                    )
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&up_path, allowed + "\n")?;
    }
    Ok(())
}
