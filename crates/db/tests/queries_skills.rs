//! Personal skills queries against the fixtures, with the database's typed rejections.

mod queries_support;

use db::queries::*;
use db::{CheckConstraint, UniqueConstraint};
use queries_support::*;

fn skill(user: &str, id: u32, name: &str) -> CreateUserSkillParams {
    CreateUserSkillParams {
        id: uuid(&format!("0d0d0000-0000-4000-8000-{id:012}")),
        user_id: uuid(user),
        name: name.to_owned(),
        description: format!("about {name}"),
        content: "steps".to_owned(),
    }
}

#[test]
fn skill_crud() {
    let db = fixtures_db();
    let mut q = session(&db);
    assert_eq!(q.count_user_skills(uuid(ALICE)).unwrap(), 2);
    assert_eq!(q.count_user_skills(uuid(NOBODY)).unwrap(), 0);

    let created = q.create_user_skill(&skill(ALICE, 100, "testing")).unwrap();
    assert_eq!(
        (created.name.as_str(), created.user_id),
        ("testing", uuid(ALICE))
    );
    let names: Vec<String> = q
        .list_user_skills(uuid(ALICE))
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["code-review", "sql-migrations", "testing"]);

    let key = |name: &str| GetUserSkillParams {
        user_id: uuid(ALICE),
        name: name.to_owned(),
    };
    assert_eq!(
        q.get_user_skill(&key("testing")).unwrap(),
        Some(created.clone())
    );
    assert_eq!(q.get_user_skill(&key("nope")).unwrap(), None);

    let updated = q
        .update_user_skill(&UpdateUserSkillParams {
            description: "new".to_owned(),
            content: "better steps".to_owned(),
            user_id: uuid(ALICE),
            name: "testing".to_owned(),
        })
        .unwrap();
    assert_eq!(
        (updated.description.as_str(), updated.content.as_str()),
        ("new", "better steps")
    );
    assert_eq!(updated.created_at, created.created_at);
    let missing = q
        .update_user_skill(&UpdateUserSkillParams {
            description: String::new(),
            content: String::new(),
            user_id: uuid(BOB),
            name: "testing".to_owned(),
        })
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");

    let delete = |name: &str| DeleteUserSkillParams {
        user_id: uuid(ALICE),
        name: name.to_owned(),
    };
    assert_eq!(q.delete_user_skill(&delete("testing")).unwrap(), 1);
    assert_eq!(q.delete_user_skill(&delete("testing")).unwrap(), 0);
}

#[test]
fn skill_rejections_are_typed() {
    let db = fixtures_db();
    let mut q = session(&db);
    let err = q
        .create_user_skill(&skill(ALICE, 101, "code-review"))
        .unwrap_err();
    assert!(
        db::is_unique_violation(pg(&err), &[UniqueConstraint::UserSkillsUserIdNameKey]),
        "{err}"
    );
    let err = q
        .create_user_skill(&skill(ALICE, 102, "Not A Slug"))
        .unwrap_err();
    assert!(
        db::is_check_violation(pg(&err), &[CheckConstraint::UserSkillsNameFormat]),
        "{err}"
    );
    let err = q
        .create_user_skill(&skill(DAVE_DELETED, 103, "late"))
        .unwrap_err();
    assert!(
        db::is_check_violation(pg(&err), &[CheckConstraint::UserSkillUserDeleted]),
        "{err}"
    );
}

#[test]
fn the_hundred_and_first_skill_is_refused_inside_a_transaction_session() {
    let db = fixtures_db();
    let mut q = session(&db);
    let mut tx = q.transaction().unwrap();
    for i in 0..98 {
        tx.create_user_skill(&skill(ALICE, 1000 + i, &format!("skill-{i}")))
            .unwrap();
    }
    assert_eq!(tx.count_user_skills(uuid(ALICE)).unwrap(), 100);
    let err = tx
        .create_user_skill(&skill(ALICE, 2000, "one-too-many"))
        .unwrap_err();
    assert!(
        db::is_check_violation(pg(&err), &[CheckConstraint::UserSkillsPerUserLimit]),
        "{err}"
    );
    tx.rollback().unwrap();
    assert_eq!(q.count_user_skills(uuid(ALICE)).unwrap(), 2, "rolled back");
}
