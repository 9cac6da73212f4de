//! The sqlc compatibility corpus (`tests/sqlc_compat/`): query files written in sqlc's style
//! against a schema of their own. For each query, its Rust signature and every result
//! column's Rust type (and so its nullability) is checked against `sqlc_compat/expected.txt`,
//! the generated code (`sqlc_compat/generated/`) is compiled here, and every query is run
//! against PostgreSQL. `UPDATE_GENERATED=1` rewrites `generated/` and `expected.txt`; review
//! the diff of `expected.txt` by hand: it is the statement of what each query gives.

mod common;

#[allow(dead_code)]
mod generated {
    pub mod enums {
        include!("sqlc_compat/generated/enums.rs");
    }
    pub mod models {
        include!("sqlc_compat/generated/models.rs");
    }
    pub mod queries {
        include!("sqlc_compat/generated/queries.rs");
    }
}

use common::*;
use generated::enums::BookType;
use generated::models::{Authors, Books, Employees, LibShelfItems};
use generated::queries::*;
use pgcluster::TestDatabase;
use querygen::annotate::SourceFile;
use quote::ToTokens;
use std::path::PathBuf;

fn dir() -> PathBuf {
    manifest_dir().join("tests/sqlc_compat")
}

fn compat_db() -> TestDatabase {
    let sql = std::fs::read_to_string(dir().join("schema.sql")).unwrap();
    cluster()
        .database_from_template(
            &format!("q_sqlc_{:x}", sql.len() * 31 + sql.lines().count()),
            |c| {
                c.batch_execute(&sql)?;
                Ok(())
            },
        )
        .unwrap()
}

fn sources() -> Vec<SourceFile> {
    ["block.sql", "query.sql"]
        .iter()
        .map(|f| SourceFile {
            display: format!("sqlc_compat/{f}"),
            text: std::fs::read_to_string(dir().join(f)).unwrap(),
        })
        .collect()
}

/// One line per query: its method signature, then one indented line per row field.
fn summary(code: &str, models: &str) -> String {
    let file: syn::File = syn::parse_str(code).unwrap();
    let models: syn::File = syn::parse_str(models).unwrap();
    let flat = |t: &dyn ToTokens| {
        let s = t.to_token_stream().to_string();
        s.replace(" :: ", "::")
            .replace(":: ", "::")
            .replace(" < ", "<")
            .replace(" <", "<")
            .replace("< ", "<")
            .replace(" >", ">")
            .replace(" ,", ",")
            .replace("& ", "&")
            .replace("& mut", "&mut")
            .replace(" (", "(")
            .replace("( ", "(")
            .replace(" )", ")")
            .replace(" [", "[")
            .replace("[ ", "[")
            .replace(" ]", "]")
            .replace(" : ", ": ")
            .replace(",)", ")")
    };
    let mut structs = std::collections::BTreeMap::new();
    let mut methods = Vec::new();
    for item in file.items.iter().chain(&models.items) {
        match item {
            syn::Item::Struct(s) => {
                let fields: Vec<String> = s
                    .fields
                    .iter()
                    .map(|f| format!("{}: {}", f.ident.as_ref().unwrap(), flat(&f.ty)))
                    .collect();
                structs.insert(s.ident.to_string(), fields);
            }
            syn::Item::Trait(t) if t.ident == "Querier" => {
                for i in &t.items {
                    if let syn::TraitItem::Fn(f) = i {
                        methods.push((flat(&f.sig), f.sig.to_token_stream().to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = String::new();
    for (sig, mentioned) in methods {
        out.push_str(&sig);
        out.push('\n');
        for (name, fields) in &structs {
            if mentioned
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|w| w == name)
            {
                for f in fields {
                    out.push_str(&format!("    {name}.{f}\n"));
                }
            }
        }
    }
    out
}

#[test]
fn corpus_generates_the_committed_code_and_expected_signatures() {
    let db = compat_db();
    let mut client = db.connect().unwrap();
    let model = model_of(&mut client);
    let mut files: Vec<codegen::GeneratedFile> = codegen::generate(&model)
        .unwrap()
        .into_iter()
        .filter(|f| f.path.to_str() != Some("constraints.rs"))
        .collect();
    let code = querygen::generate(
        &sources(),
        &mut client,
        &model,
        &querygen::Options::default(),
    )
    .unwrap();
    let mut models = String::new();
    for f in &files {
        if f.path.to_str() == Some("models.rs") {
            models = f.contents.clone();
        }
    }
    files.push(codegen::GeneratedFile::new("queries.rs", code.clone()));
    let expected_path = dir().join("expected.txt");
    let got = summary(&code, &models);
    let gen_dir = dir().join("generated");
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        codegen::write(&files, &gen_dir).unwrap();
        std::fs::write(&expected_path, &got).unwrap();
    }
    if let Some(diff) = codegen::check(&files, &gen_dir).unwrap() {
        panic!("tests/sqlc_compat/generated is stale; rerun with UPDATE_GENERATED=1:\n{diff}");
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap();
    assert_eq!(
        got, expected,
        "signatures differ from sqlc_compat/expected.txt"
    );
}

/// Every query of the corpus, run once against the corpus database with typed results
/// (the compiler checks the types of `expected.txt` once more).
#[test]
fn every_corpus_query_runs() {
    let db = compat_db();
    let mut q = Session::new(db.connect().unwrap());
    assert_eq!(QueryId::COUNT, 82);

    // Reads.
    let ursula: Authors = q.get_author(1).unwrap();
    assert_eq!(
        (ursula.name.as_str(), ursula.bio.as_deref()),
        ("Ursula", Some("Earthsea"))
    );
    assert!(q.get_author(99).unwrap_err().is_not_found());
    let all: Vec<Authors> = q.list_authors().unwrap();
    assert_eq!(all.iter().map(|a| a.id).collect::<Vec<_>>(), [3, 2, 1]);
    let by_ids: Vec<ListAuthorsByIDsRow> = q.list_authors_by_i_ds(&[1, 3]).unwrap();
    assert_eq!(
        by_ids.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["Ursula", "Nobody"]
    );
    assert!(
        q.list_authors_by_i_ds(&[]).unwrap().is_empty(),
        "an empty slice matches nothing"
    );
    assert_eq!(q.list_authors_not_in(&[2]).unwrap(), [1, 3]);
    assert_eq!(q.list_authors_not_in(&[]).unwrap(), [1, 2, 3]);
    let titles = BooksByTitlesParams {
        titles: vec!["Solaris".into(), "The Dispossessed".into()],
        author_id: 2,
    };
    assert_eq!(q.books_by_titles(&titles).unwrap(), [3]);
    let by_block: Vec<BooksByIdsBlockRow> = q.books_by_ids_block(&[4, 1]).unwrap();
    assert_eq!(by_block.iter().map(|r| r.id).collect::<Vec<_>>(), [1, 4]);
    let n: i64 = q.count_authors().unwrap();
    assert_eq!(n, 3);
    let n: i32 = q.count_books().unwrap();
    assert_eq!(n, 4);
    let found: Vec<SearchAuthorsRow> = q.search_authors("sla").unwrap();
    assert_eq!(found[0].name, "Stanislaw");
    assert_eq!(
        q.filter_books_by_year(Some(1964)).unwrap()[0].title,
        "Summa Technologiae"
    );
    assert_eq!(q.filter_books_by_year(None).unwrap().len(), 4);
    let kind = BooksByAuthorAndKindParams {
        author_id: 2,
        kind: BookType::Hash,
    };
    assert_eq!(q.books_by_author_and_kind(&kind).unwrap()[0].id, 4);
    assert_eq!(q.positional_reused(1).unwrap(), [1, 2]);
    let pos = PositionalOutOfOrderParams { p1: 1, p2: 1970 };
    assert_eq!(q.positional_out_of_order(&pos).unwrap(), [2]);
    let both = CollidingParamsParams {
        author_id: 1,
        author_id_2: 2,
    };
    assert_eq!(q.colliding_params(&both).unwrap(), [1, 2, 3, 4]);
    let counts: Vec<(String, i64)> = q
        .book_counts_cte()
        .unwrap()
        .into_iter()
        .map(|r| (r.name, r.n))
        .collect();
    assert_eq!(counts, [("Stanislaw".into(), 2), ("Ursula".into(), 2)]);
    let chain: Vec<Option<String>> = q
        .recursive_managers(2)
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(chain, [Some("worker".into()), Some("boss".into())]);
    let ids: Vec<Option<i64>> = q.unnest_ids(&[5, 6]).unwrap();
    assert_eq!(ids, [Some(5), Some(6)]);
    assert_eq!(q.generate_series(3).unwrap(), [Some(1), Some(2), Some(3)]);
    assert_eq!(q.generate_series_from().unwrap().len(), 3);
    let bios: Vec<String> = q
        .coalesce_bio()
        .unwrap()
        .into_iter()
        .map(|r| r.bio)
        .collect();
    assert_eq!(bios, ["Earthsea", "", ""]);
    let cmp: Vec<ComparisonsRow> = q
        .comparisons(&ComparisonsParams { lo: 900, hi: 1500 })
        .unwrap();
    assert_eq!((cmp[0].recent, cmp[0].in_range), (Some(false), true));
    assert_eq!(cmp[2].recent, None, "NULL year");
    let casts: CastsRow = q
        .casts(&CastsParams {
            n: 41,
            t: "t".into(),
            d: date(2024, time::Month::February, 29),
        })
        .unwrap();
    assert_eq!((casts.next, casts.t.as_str()), (42, "t"));
    assert_eq!(casts.d, date(2024, time::Month::February, 29));
    let w: Vec<WindowFunctionsRow> = q.window_functions().unwrap();
    assert_eq!((w[0].rank, w[0].author_total), (1, Some(2150)));
    let lateral: Vec<FirstBookLateralRow> = q.first_book_lateral().unwrap();
    assert_eq!(lateral.len(), 2);
    let left: Vec<FirstBookLeftLateralRow> = q.first_book_left_lateral().unwrap();
    assert_eq!(left[2].title, None, "Nobody has no book");
    let using: Vec<JoinUsingRow> = q.join_using().unwrap();
    assert_eq!(
        (using[2].author_id, using[2].name.as_str()),
        (2, "Stanislaw")
    );
    let star: Vec<StarAcrossJoinRow> = q.star_across_join().unwrap();
    assert_eq!(
        (star[3].authors_id, star[3].books_id, star[3].author_id),
        (2, 4, 2)
    );
    assert_eq!(star[3].kind, BookType::Hash);
    let selfj: Vec<StarSelfJoinRow> = q.star_self_join().unwrap();
    assert_eq!((selfj[0].id, selfj[0].id_2), (1, None));
    assert_eq!(
        (selfj[1].name.as_str(), selfj[1].name_2.as_deref()),
        ("worker", Some("boss"))
    );
    let right: Vec<RightJoinRow> = q.right_join().unwrap();
    assert_eq!(
        (right[4].name.as_str(), right[4].title.as_deref()),
        ("Nobody", None)
    );
    let full: Vec<FullJoinRow> = q.full_join().unwrap();
    assert!(
        full.iter()
            .any(|r| r.name.is_none() && r.name_2.as_deref() == Some("boss"))
    );
    let view = q.from_view().unwrap();
    assert_eq!(view[2].books, Some(0));
    let fiction: Vec<BooksOfKindRow> = q.books_of_kind(BookType::Fiction).unwrap();
    assert_eq!(fiction.len(), 3);
    assert_eq!(
        q.books_of_kinds(&[BookType::Hash, BookType::Nonfiction])
            .unwrap(),
        [4]
    );
    let tags: Vec<String> = q.author_tags(1).unwrap();
    assert_eq!(tags, ["fantasy", "sf"]);
    assert_eq!(q.authors_with_tags(&["sf".to_owned()]).unwrap(), [1, 2]);
    let t: Vec<TitlesByAuthorRow> = q.titles_by_author().unwrap();
    assert_eq!(
        t[1].titles.as_deref(),
        Some(&["Solaris".to_owned(), "Summa Technologiae".to_owned()][..])
    );
    let j: serde_json::Value = q.author_json(2).unwrap();
    assert_eq!(j, serde_json::json!({"id": 2, "name": "Stanislaw"}));
    let two: TwoJsonbArraysRow = q.two_jsonb_arrays(1).unwrap();
    assert_eq!(
        (two.jsonb_build_array, two.jsonb_build_array_2),
        (serde_json::json!([1]), serde_json::json!(["Ursula"]))
    );
    assert_eq!(
        q.books_json().unwrap().unwrap()[3],
        serde_json::json!({"title": "Summa Technologiae"})
    );
    let meta: Vec<AuthorMetaRow> = q.author_meta().unwrap();
    assert_eq!(
        (meta[0].born.as_deref(), &meta[1].meta),
        (Some("1929"), &None)
    );
    let embedded: Vec<AuthorsAndBooksRow> = q.authors_and_books().unwrap();
    assert_eq!(
        (
            embedded[0].authors.id,
            embedded[0].books.id,
            embedded[0].books.title.as_str()
        ),
        (1, 1, "A Wizard of Earthsea")
    );
    let first: Vec<AuthorWithFirstTitleRow> = q.author_with_first_title().unwrap();
    assert_eq!(first.len(), 3);
    assert_eq!(
        (first[2].authors.name.as_str(), first[2].title.as_str()),
        ("Stanislaw", "Solaris")
    );
    let shelved: Vec<BooksWithShelfItemsRow> = q.books_with_shelf_items().unwrap();
    let item: &LibShelfItems = shelved[0].lib_shelf_items.as_ref().unwrap();
    assert_eq!(item.kinds, [BookType::Fiction, BookType::Hash]);
    assert!(shelved[1].lib_shelf_items.is_none());
    let by_name: Vec<LibShelfItems> = q.shelf_items_by_quoted_name().unwrap();
    assert_eq!(&by_name[0], item);
    let managers: Vec<ManagersOfEmployeesRow> = q.managers_of_employees().unwrap();
    assert!(managers[0].m.is_none());
    assert_eq!(
        managers[1].m.as_ref().map(|m| m.name.as_str()),
        Some("boss")
    );
    assert_eq!(managers[1].e.name, "worker");
    assert!(!q.has_books(3).unwrap());
    assert_eq!(q.union_titles().unwrap().len(), 7);
    let latest: Vec<LatestBookPerAuthorRow> = q.latest_book_per_author().unwrap();
    assert_eq!(latest[0].title, "The Dispossessed");
    let stats: Vec<KindStatsRow> = q.kind_stats().unwrap();
    assert_eq!(
        (stats[0].kind, stats[0].count, stats[0].sum),
        (BookType::Fiction, 3, Some(2975))
    );
    assert_eq!(stats[1].avg_price, Some(2000.0));
    let prolific: Vec<ProlificAuthorsRow> = q.prolific_authors(2).unwrap();
    assert_eq!(prolific.len(), 2);
    let counted: Vec<AuthorsWithBookCountRow> = q.authors_with_book_count().unwrap();
    assert_eq!(counted[2].books, 0);
    assert_eq!(q.authors_of_kind(BookType::Hash).unwrap(), [2]);
    let era: Vec<BookEraRow> = q.book_era().unwrap();
    assert_eq!(era[0].era, "early");
    assert_eq!(
        q.paged_authors(&PagedAuthorsParams { lim: 1, off: 1 })
            .unwrap(),
        [2]
    );
    assert_eq!(q.null_if_bio().unwrap()[1].bio, None);
    let days: Vec<CreatedDaysRow> = q.created_days().unwrap();
    assert_eq!(days[0].day, days[0].created_at);
    let unnamed: UnnamedColumnRow = q.unnamed_column(1).unwrap();
    assert_eq!(unnamed.column_2, 2);
    let quoted: QuotedAliasRow = q.quoted_alias(1).unwrap();
    assert_eq!(
        (quoted.author_id, quoted.author_name.as_str()),
        (1, "Ursula")
    );
    assert_eq!(q.lower_names(&[1]).unwrap(), ["ursula"]);
    assert_eq!(q.get_date().unwrap(), date(2024, time::Month::May, 6));
    assert_eq!(q.get_book_title(3).unwrap(), "Solaris");
    assert_eq!(q.author_names().unwrap().len(), 3);
    assert_eq!(q.employee_names().unwrap(), ["boss", "worker"]);

    // Writes.
    let created: Authors = q
        .create_author(&CreateAuthorParams {
            p1: "New".into(),
            p2: "bio".into(),
        })
        .unwrap();
    assert_eq!(created.id, 4);
    q.update_author(&UpdateAuthorParams {
        name: "Newer".into(),
        bio: "b".into(),
        id: 4,
    })
    .unwrap();
    let changed: u64 = q
        .update_author_bio(&UpdateAuthorBioParams {
            bio: "c".into(),
            id: 4,
        })
        .unwrap();
    assert_eq!(changed, 1);
    let result: u64 = q
        .update_author_name(&UpdateAuthorNameParams {
            name: "Newest".into(),
            id: 99,
        })
        .unwrap();
    assert_eq!(result, 0, ":execresult is the rows affected");
    assert_eq!(q.touch_author(1).unwrap(), 1);
    q.clear_or_keep_bio(&ClearOrKeepBioParams { bio: None, id: 4 })
        .unwrap();
    assert_eq!(q.get_author(4).unwrap().bio.as_deref(), Some("c"));
    let book: CreateBookRow = q
        .create_book(&CreateBookParams {
            author_id: 4,
            title: "Fresh".into(),
            kind: BookType::Nonfiction,
        })
        .unwrap();
    assert_eq!((book.id, book.kind), (5, BookType::Nonfiction));
    let deleted: Books = q.delete_book(5).unwrap();
    assert_eq!(deleted.title, "Fresh");
    let e: Employees = q
        .upsert_employee(&UpsertEmployeeParams {
            id: 2,
            name: "renamed".into(),
        })
        .unwrap();
    assert_eq!((e.name.as_str(), e.manager_id), ("renamed", Some(1)));
    let repriced: Vec<RepriceBooksRow> = q
        .reprice_books(&RepriceBooksParams {
            delta: 100,
            author_name: "Ursula".into(),
        })
        .unwrap();
    assert_eq!(repriced.len(), 2);
    let inserted = q
        .insert_books_unnest(&InsertBooksUnnestParams {
            author_ids: vec![4, 4],
            titles: vec!["x".into(), "y".into()],
        })
        .unwrap();
    assert_eq!(inserted, 2);
    let copied = q
        .copy_books(&CopyBooksParams {
            to_author: 3,
            from_author: 4,
        })
        .unwrap();
    assert_eq!(copied, 2);
    assert_eq!(q.delete_books_of_author("Nobody").unwrap(), 2);

    // :copyfrom, :batch*.
    let items = [
        CopyShelfItemsParams {
            id: 2,
            book_id: Some(2),
            kinds: vec![BookType::Nonfiction],
            extra: Some(serde_json::json!({"row": 2})),
        },
        CopyShelfItemsParams {
            id: 3,
            book_id: None,
            kinds: vec![],
            extra: None,
        },
    ];
    assert_eq!(q.copy_shelf_items(&items).unwrap(), 2);
    let shelved: Vec<BooksWithShelfItemsRow> = q.books_with_shelf_items().unwrap();
    let item = shelved[1].lib_shelf_items.as_ref().unwrap();
    assert_eq!(
        (&item.kinds, &item.extra),
        (
            &vec![BookType::Nonfiction],
            &Some(serde_json::json!({"row": 2}))
        )
    );
    assert_eq!(
        q.copy_author_names(&["A".to_owned(), "B".to_owned()])
            .unwrap(),
        2
    );
    q.set_book_years(&[
        SetBookYearsParams { year: 2001, id: 1 },
        SetBookYearsParams { year: 2002, id: 2 },
    ])
    .unwrap();
    assert_eq!(
        q.book_title_batch(&[2, 1]).unwrap(),
        ["The Dispossessed", "A Wizard of Earthsea"]
    );
    let per_author: Vec<Vec<Books>> = q.books_of_authors_batch(&[1, 99]).unwrap();
    assert_eq!(
        (
            per_author[0][0].year,
            per_author[0].len(),
            per_author[1].len()
        ),
        (Some(2001), 2, 0)
    );
    q.delete_author(3).unwrap();
    assert!(q.get_author(3).unwrap_err().is_not_found());
}

fn date(y: i32, m: time::Month, d: u8) -> time::Date {
    time::Date::from_calendar_date(y, m, d).unwrap()
}
