//! `gen.toml` `[queries.NAME.columns]` / `[queries.NAME.params]`: the field names of one typed
//! query, keyed by the name the collision rule gives; every mistake names the gen.toml line.

use generate::GenRequest;
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE authors (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE books (id bigint PRIMARY KEY, author_id bigint NOT NULL REFERENCES authors, title text NOT NULL);
";

const QUERIES: &str = "
-- name: GetBookWithAuthor :one
SELECT * FROM books b JOIN authors a ON a.id = b.author_id WHERE b.id = @id AND a.id = @ID;

-- name: ListTitles :many
SELECT title FROM books;
";

/// A project folder: migrations, crates/db/queries and, when given, gen.toml.
fn project(gen_toml: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    std::fs::write(migrations.join("000001_books.up.sql"), SCHEMA).unwrap();
    std::fs::write(migrations.join("000001_books.down.sql"), "").unwrap();
    let queries = dir.path().join("crates/db/queries");
    std::fs::create_dir_all(&queries).unwrap();
    std::fs::write(queries.join("books.sql"), QUERIES).unwrap();
    if let Some(text) = gen_toml {
        std::fs::write(dir.path().join("gen.toml"), text).unwrap();
    }
    dir
}

fn gen_queries(project: &Path) -> generate::Result<String> {
    let out = project.join("generated");
    generate::run(&GenRequest::new(project.join("migrations"), &out))?;
    let text = std::fs::read_to_string(out.join("queries.rs")).unwrap();
    syn::parse_file(&text).unwrap_or_else(|e| panic!("queries.rs does not parse: {e}"));
    Ok(text)
}

/// The `pub` fields of struct `name` in `code`, in order.
fn fields(code: &str, name: &str) -> Vec<String> {
    let file = syn::parse_file(code).unwrap();
    for item in file.items {
        if let syn::Item::Struct(s) = item
            && s.ident == name
        {
            return s
                .fields
                .iter()
                .map(|f| f.ident.as_ref().unwrap().to_string())
                .collect();
        }
    }
    panic!("no struct {name} in queries.rs");
}

#[test]
fn the_rule_names_colliding_fields_and_gen_toml_renames_them() {
    let plain = project(None);
    let code = gen_queries(plain.path()).unwrap();
    assert_eq!(
        fields(&code, "GetBookWithAuthorRow"),
        ["books_id", "author_id", "title", "authors_id", "name"]
    );
    assert_eq!(fields(&code, "GetBookWithAuthorParams"), ["id", "id_2"]);

    let renamed = project(Some(
        "[queries.GetBookWithAuthor.columns]\n\
         books_id = \"book_id\"\n\
         name = \"author_name\"\n\
         [queries.GetBookWithAuthor.params]\n\
         id = \"book_id\"\n\
         id_2 = \"author_id\"\n",
    ));
    let code = gen_queries(renamed.path()).unwrap();
    assert_eq!(
        fields(&code, "GetBookWithAuthorRow"),
        ["book_id", "author_id", "title", "authors_id", "author_name"]
    );
    assert_eq!(
        fields(&code, "GetBookWithAuthorParams"),
        ["book_id", "author_id"]
    );
    assert!(
        code.contains("pub author_name: String,") && code.contains("pub book_id: i64,"),
        "{code}"
    );
}

/// Every mistake names the gen.toml line and says what to do.
#[test]
fn query_field_mistakes_name_the_line() {
    let cases: &[(&str, &[&str])] = &[
        (
            "\n[queries.GetBook.columns]\nid = \"book_id\"\n",
            &[
                "gen.toml:2:",
                "[queries.GetBook]",
                "no query is named `GetBook`",
            ],
        ),
        (
            "[queries.GetBookWithAuthor.columns]\nid = \"book_id\"\n",
            &[
                "gen.toml:2:",
                "has no field of this name",
                "`books_id`, `author_id`, `title`, `authors_id`, `name`",
            ],
        ),
        (
            "[queries.ListTitles.params]\nid = \"x\"\n",
            &["gen.toml:2:", "query `ListTitles` has no params"],
        ),
        (
            "[queries.GetBookWithAuthor.columns]\nbooks_id = \"title\"\n",
            &["gen.toml:2:", "two fields would be named `title`"],
        ),
        (
            "[queries.GetBookWithAuthor.columns]\nbooks_id = \"book id\"\n",
            &["gen.toml:2:", "is not a Rust identifier"],
        ),
        (
            "[queries.GetBookWithAuthor.rows]\nbooks_id = \"x\"\n",
            &["gen.toml:1:", "rows"],
        ),
    ];
    for (text, wanted) in cases {
        let dir = project(Some(text));
        let err = format!("{:#}", gen_queries(dir.path()).unwrap_err());
        for w in *wanted {
            assert!(err.contains(w), "{text:?}: {err:?} lacks {w:?}");
        }
    }
}

#[test]
fn query_fields_without_a_queries_folder_are_an_error() {
    let dir = project(Some(
        "[queries.GetBookWithAuthor.columns]\nbooks_id = \"book_id\"\n",
    ));
    std::fs::remove_dir_all(dir.path().join("crates")).unwrap();
    let err = gen_queries(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("gen.toml:1:") && err.contains("there is no queries folder"),
        "{err}"
    );
}
