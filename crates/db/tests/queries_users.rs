//! Users queries against the fixtures: system users hidden unless asked, soft delete.

mod queries_support;

use db::enums::{LoginType, UserStatus};
use db::queries::*;
use db::{CheckConstraint, UniqueConstraint};
use queries_support::*;

#[test]
fn get_user_hides_system_users_unless_asked() {
    let db = fixtures_db();
    let mut q = session(&db);
    let alice = q
        .get_user(&GetUserParams {
            id: uuid(ALICE),
            include_system: false,
        })
        .unwrap();
    assert_eq!(
        (alice.username.as_str(), alice.status, alice.is_system),
        ("alice", UserStatus::Active, false)
    );
    assert_eq!(alice.last_seen_at, None);

    let hidden = q
        .get_user(&GetUserParams {
            id: uuid(PREBUILDS),
            include_system: false,
        })
        .unwrap_err();
    assert!(hidden.is_not_found(), "{hidden}");
    assert_eq!(hidden.query(), QueryId::GetUser);
    let prebuilds = q
        .get_user(&GetUserParams {
            id: uuid(PREBUILDS),
            include_system: true,
        })
        .unwrap();
    assert!(prebuilds.is_system);
    assert_eq!(prebuilds.login_type, LoginType::None);

    // Soft-deleted users are returned by id, flagged.
    let dave = q
        .get_user(&GetUserParams {
            id: uuid(DAVE_DELETED),
            include_system: false,
        })
        .unwrap();
    assert!(dave.deleted);
    assert!(
        q.get_user(&GetUserParams {
            id: uuid(NOBODY),
            include_system: true,
        })
        .unwrap_err()
        .is_not_found()
    );
}

#[test]
fn get_user_by_username_is_case_insensitive_and_skips_deleted_and_system_users() {
    let db = fixtures_db();
    let mut q = session(&db);
    let by = |q: &mut Session<postgres::Client>, name: &str, include_system: bool| {
        q.get_user_by_username(&GetUserByUsernameParams {
            username: name.to_owned(),
            include_system,
        })
        .unwrap()
        .map(|u| u.id)
    };
    assert_eq!(by(&mut q, "ALICE", false), Some(uuid(ALICE)));
    // "dave" is taken by the soft-deleted dave and the live "Dave": only the live one.
    assert_eq!(by(&mut q, "dave", false), Some(uuid(DAVE)));
    assert_eq!(by(&mut q, "prebuilds", false), None);
    assert_eq!(by(&mut q, "prebuilds", true), Some(uuid(PREBUILDS)));
    assert_eq!(by(&mut q, "nobody", true), None);
}

#[test]
fn list_users_shows_live_users_and_system_users_only_when_asked() {
    let db = fixtures_db();
    let mut q = session(&db);
    let names = |users: Vec<db::models::Users>| -> Vec<String> {
        users.into_iter().map(|u| u.username).collect()
    };
    assert_eq!(
        names(q.list_users(false).unwrap()),
        ["alice", "bob", "carol", "Dave"]
    );
    assert_eq!(
        names(q.list_users(true).unwrap()),
        ["alice", "bob", "carol", "Dave", "prebuilds"]
    );
}

#[test]
fn create_user_with_enum_parameters_and_typed_unique_violation() {
    let db = fixtures_db();
    let mut q = session(&db);
    let params = CreateUserParams {
        id: uuid("0b0b0000-0000-4000-8000-0000000000aa"),
        email: "erin@example.com".to_owned(),
        username: "erin".to_owned(),
        name: "Erin".to_owned(),
        status: UserStatus::Suspended,
        login_type: LoginType::Oidc,
    };
    let erin = q.create_user(&params).unwrap();
    assert_eq!(
        (erin.id, erin.status, erin.login_type, erin.deleted),
        (params.id, UserStatus::Suspended, LoginType::Oidc, false)
    );
    assert_eq!(erin.hashed_password, Vec::<u8>::new(), "column default");

    let err = q
        .create_user(&CreateUserParams {
            id: uuid("0b0b0000-0000-4000-8000-0000000000ab"),
            username: "ERIN".to_owned(),
            email: "erin2@example.com".to_owned(),
            ..params
        })
        .unwrap_err();
    assert!(
        db::is_unique_violation(pg(&err), &[UniqueConstraint::UsersUsernameKey]),
        "{err}"
    );
    assert_eq!(err.query(), QueryId::CreateUser);
}

#[test]
fn soft_delete_user_counts_rows_and_refuses_system_users() {
    let db = fixtures_db();
    let mut q = session(&db);
    assert_eq!(q.soft_delete_user(uuid(BOB)).unwrap(), 1);
    assert_eq!(q.soft_delete_user(uuid(BOB)).unwrap(), 0, "already deleted");
    assert_eq!(q.soft_delete_user(uuid(NOBODY)).unwrap(), 0);
    // The trigger removed bob's skills and override.
    assert!(q.list_user_skills(uuid(BOB)).unwrap().is_empty());
    let err = q.soft_delete_user(uuid(PREBUILDS)).unwrap_err();
    assert!(
        db::is_check_violation(pg(&err), &[CheckConstraint::UsersSystemUserProtected]),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("query SoftDeleteUser (crates/db/queries/users.sql:"),
        "{err}"
    );
}
