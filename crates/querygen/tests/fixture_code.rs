//! The generated code of the fixture schema and queries (`tests/fixture/generated/`),
//! compiled here and run against the fixture database: the types the rules promise are the
//! Rust types (checked by the compiler), and values round-trip (enums, enum arrays, text
//! arrays, a domain parameter, a nullable parameter, positional parameters). `fixture_current.rs`
//! checks that the committed files are what the generator writes.

mod common;

#[allow(dead_code)]
mod generated {
    pub mod enums {
        include!("fixture/generated/enums.rs");
    }
    pub mod models {
        include!("fixture/generated/models.rs");
    }
    pub mod queries {
        include!("fixture/generated/queries.rs");
    }
}

use common::*;
use generated::enums::Mood;
use generated::models::Parent;
use generated::queries::*;

fn session(db: &pgcluster::TestDatabase) -> Session<postgres::Client> {
    Session::new(db.connect().unwrap())
}

#[test]
fn rows_of_the_table_reuse_its_struct() {
    let db = fixture_db();
    let mut q = session(&db);
    let one: Parent = q.get_parent(1).unwrap();
    assert_eq!(
        one,
        Parent {
            id: 1,
            name: "one".into(),
            note: None,
            mood: Mood::Happy,
            tags: vec!["a".into(), "b".into()],
            code: "aa".into(),
        }
    );
    assert!(q.get_parent(99).unwrap_err().is_not_found());
}

#[test]
fn outer_join_columns_are_options() {
    let db = fixture_db();
    let mut q = session(&db);
    let rows = q.parents_with_children().unwrap();
    let got: Vec<(i32, Option<i32>, Option<String>)> = rows
        .into_iter()
        .map(|r| (r.id, r.child_id, r.label))
        .collect();
    assert_eq!(
        got,
        [
            (1, Some(10), Some("ten".into())),
            (1, Some(11), Some("eleven".into())),
            (2, None, None),
            (3, None, None),
        ]
    );
    let right: Vec<(Option<String>, String)> = q
        .children_with_parents()
        .unwrap()
        .into_iter()
        .map(|r| (r.parent_name, r.label))
        .collect();
    assert_eq!(right[2], (None, "orphan".into()));
    let full: Vec<(Option<i32>, Option<i32>)> = q
        .full_join()
        .unwrap()
        .into_iter()
        .map(|r| (r.parent_id, r.child_id))
        .collect();
    assert!(full.contains(&(None, Some(20))) && full.contains(&(Some(3), None)));
    let inner: Vec<(i32, String)> = q
        .left_join_reduced_to_inner("ten")
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.label))
        .collect();
    assert_eq!(inner, [(1, "ten".to_owned())]);
    let kept: Vec<(String, Option<String>)> = q
        .left_join_by_parent_id(2)
        .unwrap()
        .into_iter()
        .map(|r| (r.name, r.label))
        .collect();
    assert_eq!(kept, [("two".to_owned(), None)]);
}

#[test]
fn forced_suffixes_expressions_views_functions() {
    let db = fixture_db();
    let mut q = session(&db);
    let f: ForcedRow = q.forced(1).unwrap();
    let (total, max_name, min_name, name): (i64, String, Option<String>, Option<String>) =
        (f.total, f.max_name, f.min_name, f.name);
    assert_eq!(
        (
            total,
            max_name.as_str(),
            min_name.as_deref(),
            name.as_deref()
        ),
        (1, "one", Some("one"), Some("one"))
    );
    let e = q.expressions(2).unwrap();
    let expected: (i32, String, Option<i32>, Option<String>) =
        (3, "TWO".into(), Some(20), Some("second".into()));
    assert_eq!((e.next_id, e.upper_name, e.max_child, e.note), expected);
    let view: Vec<(Option<i32>, Option<String>)> = q
        .from_view()
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    assert_eq!(view[0], (Some(1), Some("one".into())));
    let names: Vec<Option<String>> = q.from_function().unwrap();
    assert_eq!(
        names,
        [Some("one".into()), Some("two".into()), Some("three".into())]
    );
    let rollup: Vec<(Option<String>, i64)> = q
        .rollup()
        .unwrap()
        .into_iter()
        .map(|r| (r.name, r.n))
        .collect();
    assert_eq!(
        rollup.last(),
        Some(&(None, 3)),
        "the grand total row has a NULL name"
    );
    let cte: Vec<i32> = q
        .materialized_cte()
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(cte, [1, 2, 3]);
    let inlined: Vec<i32> = q.inlined_cte().unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(inlined, [1, 2, 3]);
    let ids: Vec<i32> = q.union_ids().unwrap();
    assert_eq!(ids.len(), 6);
    let weird: Option<i32> = q.weird_column(10).unwrap();
    assert_eq!(weird, Some(0));
}

#[test]
fn parameters_enums_arrays_domains_and_nullable() {
    let db = fixture_db();
    let mut q = session(&db);
    let inserted = q
        .insert_parent(&InsertParentParams {
            id: 4,
            name: "four".into(),
            note: None,
            mood: Mood::Sad,
            tags: vec!["x".into()],
            code: "dd".into(),
        })
        .unwrap();
    let (id, code, note): (i32, String, Option<String>) =
        (inserted.id, inserted.code, inserted.note);
    assert_eq!((id, code.as_str(), note), (4, "dd", None));
    // The domain's CHECK still applies to a parameter sent as text.
    let err = q
        .insert_parent(&InsertParentParams {
            id: 5,
            name: "five".into(),
            note: Some("n".into()),
            mood: Mood::Ok,
            tags: vec![],
            code: "too long".into(),
        })
        .unwrap_err();
    assert_eq!(
        err.postgres().and_then(|e| e.code()),
        Some(&postgres::error::SqlState::CHECK_VIOLATION),
        "{err}"
    );
    assert_eq!(
        q.parents_by_moods(&[Mood::Sad, Mood::Happy]).unwrap(),
        [1, 2, 4]
    );
    assert_eq!(q.parents_by_name("two").unwrap(), [2]);
    assert_eq!(
        q.parents_by_codes(&["aa".to_owned(), "dd".to_owned()])
            .unwrap(),
        [1, 4]
    );
    let changed = q
        .set_note(&SetNoteParams {
            note: Some("noted".into()),
            ids: vec![1, 3],
        })
        .unwrap();
    assert_eq!(changed, 2);
    assert_eq!(q.get_parent(3).unwrap().note.as_deref(), Some("noted"));
    q.set_note(&SetNoteParams {
        note: None,
        ids: vec![3],
    })
    .unwrap();
    assert_eq!(q.get_parent(3).unwrap().note, None);
    q.touch(1).unwrap();
    assert_eq!(QueryId::ALL.len(), QueryId::COUNT);
    assert_eq!(QueryId::SetNote.params(), ["note", "ids"]);
    assert_eq!(QueryId::ParentsByCodes.param_oids(), [1009]);
    assert_eq!(QueryId::GetParent.source(), "fixture/queries.sql:5");
}

#[test]
fn embeds_are_model_structs_optional_on_the_outer_join_side() {
    use generated::models::{Child, ParentView};
    let db = fixture_db();
    let mut q = session(&db);
    let rows: Vec<ChildrenWithParentRow> = q.children_with_parent().unwrap();
    let got: Vec<(Child, Option<i32>, i32)> = rows
        .into_iter()
        .map(|r| (r.child, r.parent.map(|p| p.id), r.weird_plus_one))
        .collect();
    assert_eq!(got[0].0.label, "ten");
    assert_eq!(
        got.iter()
            .map(|(c, p, w)| (c.id, *p, *w))
            .collect::<Vec<_>>(),
        [(10, Some(1), 1), (11, Some(1), 1), (20, None, 1)]
    );
    let one: Parent = q.embed_only(2).unwrap();
    assert_eq!((one.name.as_str(), one.mood), ("two", Mood::Sad));
    let view: Vec<EmbedViewRow> = q.embed_view().unwrap();
    let first: &ParentView = &view[0].parent_view;
    assert_eq!((first.id, view[0].one), (Some(1), 1));
}

#[test]
fn copy_from_sends_enums_arrays_domains_and_nulls() {
    for execution in [Execution::Prepared, Execution::Unprepared] {
        let db = fixture_db();
        let mut q = session(&db).with_execution(execution);
        let rows: Vec<CopyParentsParams> = (100..110)
            .map(|id| CopyParentsParams {
                name: format!("p{id}"),
                id,
                note: (id % 2 == 0).then(|| "even".to_owned()),
                mood: Mood::Happy,
                tags: vec!["x".into(), format!("t{id}")],
                code: "cp".into(),
            })
            .collect();
        assert_eq!(q.copy_parents(&rows).unwrap(), 10, "{execution:?}");
        assert_eq!(q.copy_parents(&[]).unwrap(), 0);
        let got = q.get_parent(101).unwrap();
        assert_eq!(
            (
                got.name.as_str(),
                got.note,
                got.tags.len(),
                got.code.as_str()
            ),
            ("p101", None, 2, "cp")
        );
        assert_eq!(q.get_parent(104).unwrap().note.as_deref(), Some("even"));
        // A bad row fails the whole COPY: nothing of it is left.
        let mut bad = rows.clone();
        for r in &mut bad {
            r.id += 100;
        }
        bad[5].code = "far too long".into();
        let err = q.copy_parents(&bad).unwrap_err();
        assert_eq!(
            err.postgres().and_then(|e| e.code()),
            Some(&postgres::error::SqlState::CHECK_VIOLATION),
            "{err}"
        );
        assert!(q.get_parent(200).unwrap_err().is_not_found());
        let labels = [(30, "thirty".to_owned()), (31, "thirty-one".to_owned())]
            .map(|(p1, p2)| CopyChildLabelsParams { p1, p2 });
        assert_eq!(q.copy_child_labels(&labels).unwrap(), 2);
        if execution == Execution::Prepared {
            assert!(q.statement_cache().contains(QueryId::CopyParents));
            // The driver's type lookups still work for statements of one's own.
            let client = q.client();
            client
                .batch_execute("CREATE TYPE other_enum AS ENUM ('x')")
                .unwrap();
            let row = client
                .query_one("SELECT 'x'::other_enum::text", &[])
                .unwrap();
            assert_eq!(row.get::<_, String>(0), "x");
            let row = client.query_one("SELECT '{x}'::other_enum[]", &[]).unwrap();
            assert_eq!(row.columns()[0].type_().name(), "_other_enum");
        } else {
            assert!(q.statement_cache().is_empty());
        }
    }
}

#[test]
fn batches_run_every_item_and_name_the_failing_one() {
    let db = fixture_db();
    let mut q = session(&db);
    let found: Vec<Parent> = q.parents_by_id_batch(&[3, 1]).unwrap();
    assert_eq!(
        found.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["three", "one"]
    );
    let err = q.parents_by_id_batch(&[1, 2, 99]).unwrap_err();
    assert!(err.is_not_found() && err.batch_index() == Some(2), "{err}");
    assert_eq!(
        err.to_string(),
        "query ParentsByIdBatch (fixture/queries.sql:122): item 2 of the batch: no row"
    );
    let labels: Vec<Vec<ChildLabelsBatchRow>> =
        q.child_labels_batch(&[Some(1), Some(3), None]).unwrap();
    assert_eq!(labels.iter().map(Vec::len).collect::<Vec<_>>(), [2, 0, 0]);
    let mut tx = q.transaction().unwrap();
    tx.rename_parents(&[
        RenameParentsParams {
            name: "uno".into(),
            id: 1,
        },
        RenameParentsParams {
            name: "dos".into(),
            id: 2,
        },
    ])
    .unwrap();
    tx.commit().unwrap();
    assert_eq!(q.get_parent(2).unwrap().name, "dos");
}
