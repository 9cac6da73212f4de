//! The torture schema (`tests/torture/`: odd names, every mapped type, a second schema,
//! partitions, domains over enums, `gen.toml`): its generated code, written to
//! `crates/db/tests/torture/` where the db crate compiles and exercises it, is current; its
//! constraint set is the catalog's; every `gen.toml` mistake is an error naming file, line and
//! key. Also the issue's no-configuration cases: `ltree`, the empty label, `error`.

mod common;

use common::*;
use generate::{GenConfig, GenRequest, config::Catalog};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn torture_dir() -> PathBuf {
    root().join("crates/generate/tests/torture")
}

fn torture_request(out: &Path) -> GenRequest {
    let mut request = GenRequest::new(torture_dir().join("migrations"), out);
    request.queries_dir = None;
    request.type_args = vec!["tsvector=String".to_owned()];
    request
}

fn torture_db() -> pgcluster::TestDatabase {
    let set = migrate::MigrationSet::discover(&torture_dir().join("migrations")).unwrap();
    cluster()
        .database_from_template(&format!("gen_torture_{}", set.hash()), |c| {
            migrate::Migrator::new(&set).up(c)?;
            Ok(())
        })
        .unwrap()
}

/// Set `UPDATE_GENERATED=1` to rewrite `crates/db/tests/torture/`.
#[test]
fn torture_generated_code_in_db_tests_is_current() {
    let mut request = torture_request(&root().join("crates/db/tests/torture"));
    assert_eq!(
        request.config_file.as_deref(),
        Some(torture_dir().join("gen.toml").as_path()),
        "gen.toml beside the migrations folder is found"
    );
    request.check = std::env::var_os("UPDATE_GENERATED").is_none();
    let outcome = generate::run(&request).unwrap();
    if let Some(diff) = outcome.diff {
        panic!("crates/db/tests/torture is stale; rerun with UPDATE_GENERATED=1:\n{diff}");
    }
}

fn torture_options(db: &pgcluster::TestDatabase) -> (schema::SchemaModel, codegen::Options) {
    let model = model_of(db);
    let config = GenConfig::load(&torture_dir().join("gen.toml"))
        .unwrap()
        .with_type_arguments(&["tsvector=String".to_owned()])
        .unwrap();
    let mut client = db.connect().unwrap();
    let options = config
        .resolve(&model, &Catalog::read(&mut client).unwrap())
        .unwrap();
    (model, options)
}

#[test]
fn torture_constraints_equal_the_catalog_of_the_generated_schemas() {
    let db = torture_db();
    let (model, options) = torture_options(&db);
    let files = codegen::generate_with(&model, &options).unwrap();
    let constraints = files
        .iter()
        .find(|f| f.path.to_str() == Some("constraints.rs"))
        .unwrap();
    let generated: BTreeSet<String> = generated_constraint_names(&constraints.contents)
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    let mut client = db.connect().unwrap();
    let expected: BTreeSet<String> = client
        .query(
            "SELECT conname::text FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
              WHERE n.nspname IN ('public', 'utils', 'Mixed Case') AND contype NOT IN ('n', 't')
                AND conrelid IS DISTINCT FROM to_regclass($1) AND conrelid IS DISTINCT FROM to_regclass($2)",
            &[&migrate::HISTORY_TABLE, &migrate::LOCK_TABLE],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(generated, expected);
    assert!(
        !generated.contains("secret_pkey"),
        "schema `ignored` is left out"
    );
    // Everything in all schemas, without the filter, is the whole catalog.
    let all = codegen::generate_with(
        &model,
        &codegen::Options {
            schemas: None,
            ..options
        },
    )
    .unwrap();
    let all = generated_constraint_names(&all[0].contents);
    let all: BTreeSet<String> = all.into_iter().map(|(_, n)| n).collect();
    assert_eq!(all, pg_constraint_names(&mut client));
}

#[test]
fn torture_names_follow_the_documented_rules() {
    let db = torture_db();
    let (model, options) = torture_options(&db);
    let files = codegen::generate_with(&model, &options).unwrap();
    let text = |name: &str| {
        files
            .iter()
            .find(|f| f.path.to_str() == Some(name))
            .unwrap()
            .contents
            .clone()
    };
    let enums = text("enums.rs");
    for expected in [
        "pub enum OptionEnum",
        "pub enum UnknownEnumLabelEnum",
        "pub enum UtilsLevel",
        "pub enum MixedCaseKind",
        "    Unset,",
        "    RadioUpper,",
        "    CPlusPlus,",
        "    CHash,",
        "    AMinus,",
        "    N50Percent,",
        "    Cafe,",
        "    BeiJing,",
        "    SelfValue,",
        "    DotDotDot,",
        "    Empty,",
    ] {
        assert!(enums.contains(expected), "enums.rs lacks {expected:?}");
    }
    assert!(!enums.contains("Self, Self::Err") && !enums.contains("Self, Self::Error"));
    assert!(!enums.contains("Hidden"), "schema `ignored` is left out");
    let models = text("models.rs");
    for expected in [
        "pub struct ResultRow",
        "pub struct VecRow",
        "pub struct MixedCaseOrderItems",
        "pub order_id_text: Option<String>",
        "pub r#type: String",
        "pub self_: Option<i32>",
        "pub _2fa: bool",
        "pub cafe: Option<String>",
        "pub hash: Option<i32>",
        "pub column: Option<i32>",
        "pub tsv: String",
        "pub span: String",
        "pub price: String",
        "pub tree: String",
        "pub hs: ::std::collections::HashMap<String, Option<String>>",
    ] {
        assert!(models.contains(expected), "models.rs lacks {expected:?}");
    }
    let constraints = text("constraints.rs");
    assert!(
        constraints.contains("    UsersAgeLimit,") && constraints.contains("    UsersAgeCheck,")
    );
}

/// A migration set of one up (and an empty down) in a fresh folder.
fn one_migration(sql: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    std::fs::write(migrations.join("000001_schema.up.sql"), sql).unwrap();
    std::fs::write(migrations.join("000001_schema.down.sql"), "").unwrap();
    dir
}

fn gen_into(project: &Path, type_args: &[&str]) -> generate::Result<Vec<(String, String)>> {
    let out = project.join("generated");
    let mut request = GenRequest::new(project.join("migrations"), &out);
    request.type_args = type_args.iter().map(|s| (*s).to_owned()).collect();
    generate::run(&request)?;
    let mut files = Vec::new();
    for name in ["constraints.rs", "enums.rs", "models.rs"] {
        let text = std::fs::read_to_string(out.join(name)).unwrap();
        syn::parse_file(&text).unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
        files.push((name.to_owned(), text));
    }
    Ok(files)
}

#[test]
fn ltree_needs_no_configuration() {
    let project = one_migration(
        "CREATE EXTENSION ltree; CREATE TABLE nodes (path ltree PRIMARY KEY, q lquery, t ltxtquery);",
    );
    let files = gen_into(project.path(), &[]).unwrap();
    assert!(files[2].1.contains("pub path: String"), "{}", files[2].1);
}

#[test]
fn tsvector_needs_only_a_type_argument() {
    let project = one_migration("CREATE TABLE docs (id int PRIMARY KEY, body tsvector NOT NULL);");
    let err = gen_into(project.path(), &[]).unwrap_err().to_string();
    assert!(
        err.contains(r#"`[types] tsvector = "String"`"#) && err.contains("--type tsvector="),
        "{err}"
    );
    let files = gen_into(project.path(), &["tsvector=String"]).unwrap();
    assert!(files[2].1.contains("pub body: String"), "{}", files[2].1);
}

#[test]
fn the_empty_label_and_error_need_no_configuration() {
    let project = one_migration(
        "CREATE TYPE form_type AS ENUM ('', 'radio'); CREATE TYPE status AS ENUM ('ok', 'error', 'err');
         CREATE TABLE forms (id int PRIMARY KEY, kind form_type NOT NULL, status status);
         ALTER TABLE forms ADD CONSTRAINT error CHECK (id > 0);",
    );
    let files = gen_into(project.path(), &[]).unwrap();
    assert!(files[1].1.contains("    Empty,") && files[1].1.contains("    Error,"));
}

#[test]
fn a_collision_names_both_and_the_gen_toml_line() {
    let project = one_migration("CREATE TYPE t AS ENUM ('radio', 'Radio');");
    let err = gen_into(project.path(), &[]).unwrap_err().to_string();
    assert!(
        err.contains(r#""radio" and "Radio""#) && err.contains(r#"`[enums.t] Radio = "Radio2"`"#),
        "{err}"
    );
    std::fs::write(
        project.path().join("gen.toml"),
        "[enums.t]\nRadio = \"RadioUpper\"\n",
    )
    .unwrap();
    let files = gen_into(project.path(), &[]).unwrap();
    assert!(files[1].1.contains("    RadioUpper,"));
}

/// A rename to a keyword is written raw in the code; `r#type` in gen.toml means the same.
#[test]
fn renames_to_keywords_and_raw_names_are_the_same_name() {
    let project = one_migration("CREATE TABLE docs (id int PRIMARY KEY, kind text, body text);");
    std::fs::write(
        project.path().join("gen.toml"),
        "[rename]\n\"docs.kind\" = \"type\"\n\"docs.body\" = \"r#match\"\n",
    )
    .unwrap();
    let files = gen_into(project.path(), &[]).unwrap();
    let models = &files[2].1;
    assert!(
        models.contains("pub r#type: Option<String>")
            && models.contains("pub r#match: Option<String>"),
        "{models}"
    );
}

/// Every mistake in `gen.toml` or `--type` is an error naming where it is and what to do.
#[test]
fn config_errors_name_file_line_and_key() {
    let db = torture_db();
    let model = model_of(&db);
    let mut client = db.connect().unwrap();
    let catalog = Catalog::read(&mut client).unwrap();
    let resolve = |text: &str| -> String {
        match GenConfig::parse(text, Path::new("gen.toml")) {
            Err(e) => e.to_string(),
            Ok(config) => match config.resolve(&model, &catalog) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("accepted: {text}"),
            },
        }
    };
    let cases: &[(&str, &[&str])] = &[
        ("[typos]\nx = \"y\"\n", &["gen.toml:1:", "typos"]),
        (
            "schemas = [\"public\"]\nextra = 1\n",
            &["gen.toml:2:", "extra"],
        ),
        (
            "[types]\n\nltree = \"not a :: path\"\n",
            &["gen.toml:3:", "`ltree`", "is not a Rust type"],
        ),
        (
            "[types]\nno_such_type = \"String\"\n",
            &["gen.toml:2:", "`no_such_type`", "no type of this name"],
        ),
        (
            "[types]\n\"nowhere.ltree\" = \"String\"\n",
            &["gen.toml:2:", "nowhere.ltree"],
        ),
        (
            "[columns]\n\"every_type.nope\" = \"String\"\n",
            &["gen.toml:2:", "every_type.nope", "has no column \"nope\""],
        ),
        (
            "[columns]\n\"nope.x\" = \"String\"\n",
            &["gen.toml:2:", "no table or view public.nope"],
        ),
        (
            "[columns]\n\"every_type.t\" = \"Vec<\"\n",
            &["gen.toml:2:", "is not a Rust type"],
        ),
        (
            "[rename]\n\"nope\" = \"X\"\n",
            &["gen.toml:2:", "names no table, view, enum or column"],
        ),
        (
            "[rename]\n\"every_type\" = \"not an ident\"\n",
            &["gen.toml:2:", "is not a Rust identifier"],
        ),
        (
            "[constraints]\nnope = \"X\"\n",
            &["gen.toml:2:", "no constraint"],
        ),
        (
            "[enums.nope]\n\"\" = \"X\"\n",
            &["gen.toml:1:", "no enum public.nope"],
        ),
        (
            "[enums.status]\n\"missing\" = \"X\"\n",
            &["gen.toml:2:", "has no label \"missing\""],
        ),
        (
            "schemas = [\"public\", \"nope\"]\n",
            &["gen.toml:1:", "schema \"nope\" does not exist"],
        ),
    ];
    for (text, needles) in cases {
        let err = resolve(text);
        for needle in *needles {
            assert!(err.contains(needle), "{text:?}: {err:?} lacks {needle:?}");
        }
    }
    let err = GenConfig::default()
        .with_type_arguments(&["tsvector".to_owned()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected KEY=RUST_TYPE"), "{err}");
    let err = GenConfig::default()
        .with_type_arguments(&["no_such=String".to_owned()])
        .unwrap()
        .resolve(&model, &catalog)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("--type: `no_such`"), "{err}");
}

/// A `PG_BINDIR` whose `pg_dump --version` prints another minor version, for the rest the
/// real binaries.
fn bindir_with_other_pg_dump_version() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let real = pgcluster::find_bindir(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(&real).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "pg_dump" {
            std::os::unix::fs::symlink(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'pg_dump (PostgreSQL) 15.99 (Debian 15.99-0+deb12u1)'; exit 0; fi\nexec {} \"$@\"\n",
        real.join("pg_dump").display()
    );
    let wrapper = dir.path().join("pg_dump");
    std::fs::write(&wrapper, script).unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[test]
fn drift_check_ignores_the_pg_dump_version_and_catches_one_byte() {
    let bindir = bindir_with_other_pg_dump_version();
    let version = std::process::Command::new(bindir.path().join("pg_dump"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).contains("15.99"));

    let out = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(root().join("generated")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), out.path().join(entry.file_name())).unwrap();
    }
    let mut request = GenRequest::new(root().join("migrations"), out.path());
    request.bindir = Some(bindir.path().to_owned());
    request.check = true;
    let outcome = generate::run(&request).unwrap();
    assert!(outcome.diff.is_none(), "{:?}", outcome.diff);
    assert!(
        outcome.skipped_database,
        "the no-op shortcut holds across versions"
    );

    // Regenerated in full with the other version: byte-identical, still current.
    request.force = true;
    let outcome = generate::run(&request).unwrap();
    assert!(!outcome.skipped_database);
    assert!(outcome.diff.is_none(), "{:?}", outcome.diff);

    // One byte of content: stale.
    request.force = false;
    let path = out.path().join("models.rs");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() - 2;
    bytes[at] = if bytes[at] == b' ' { b'\t' } else { b' ' };
    std::fs::write(&path, bytes).unwrap();
    let outcome = generate::run(&request).unwrap();
    assert!(outcome.diff.is_some(), "a one-byte change is drift");
}
