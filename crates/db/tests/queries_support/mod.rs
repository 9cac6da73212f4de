//! Shared by the `queries_*` tests: a per-test clone of the migrated database with every
//! fixture (`migrations/fixtures/`), and the fixtures' ids.
#![allow(dead_code)]

use db::queries::{QueryError, Session};
use pgcluster::{Cluster, TestDatabase};
use std::path::{Path, PathBuf};

pub fn cluster() -> &'static Cluster {
    Cluster::shared().expect("embedded PostgreSQL cluster")
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh clone of the template: all migrations, each followed by its fixture.
pub fn fixtures_db() -> TestDatabase {
    let set = migrate::MigrationSet::discover(&root().join("migrations")).unwrap();
    cluster()
        .database_from_template(&format!("db_qfx_{}", set.hash()), |c| {
            migrate::Migrator::new(&set).with_fixtures(true).up(c)?;
            Ok(())
        })
        .unwrap()
}

/// A session on a new connection to `db`.
pub fn session(db: &TestDatabase) -> Session<postgres::Client> {
    Session::new(db.connect().unwrap())
}

pub fn uuid(text: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(text).unwrap()
}

pub fn at(rfc3339: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).unwrap()
}

/// `YYYY-MM-DD`.
pub fn day(iso: &str) -> time::Date {
    let parts: Vec<&str> = iso.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        panic!("not YYYY-MM-DD: {iso}")
    };
    let month = time::Month::try_from(m.parse::<u8>().unwrap()).unwrap();
    time::Date::from_calendar_date(y.parse().unwrap(), month, d.parse().unwrap()).unwrap()
}

/// The server error of a failed query (panics for any other failure).
pub fn pg(err: &QueryError) -> &postgres::Error {
    err.postgres()
        .unwrap_or_else(|| panic!("not a server error: {err}"))
}

// Fixture ids (migrations/fixtures/000001_core_identity.sql and later).
pub const ACME: &str = "0a0a0000-0000-4000-8000-000000000001";
pub const BETA: &str = "0a0a0000-0000-4000-8000-000000000002";
pub const GAMMA: &str = "0a0a0000-0000-4000-8000-000000000003";
pub const ALICE: &str = "0b0b0000-0000-4000-8000-000000000001";
pub const BOB: &str = "0b0b0000-0000-4000-8000-000000000002";
pub const CAROL: &str = "0b0b0000-0000-4000-8000-000000000003";
pub const DAVE_DELETED: &str = "0b0b0000-0000-4000-8000-000000000004";
pub const DAVE: &str = "0b0b0000-0000-4000-8000-000000000005";
pub const PREBUILDS: &str = "c42fdf75-3097-471c-8c33-fb52454d81c0";
pub const ENGINEERING: &str = "0c0c0000-0000-4000-8000-000000000001";
pub const DESIGN: &str = "0c0c0000-0000-4000-8000-000000000002";
pub const RESEARCH: &str = "0c0c0000-0000-4000-8000-000000000003";
pub const OPS: &str = "0c0c0000-0000-4000-8000-000000000004";
/// Unknown everywhere.
pub const NOBODY: &str = "0f0f0000-0000-4000-8000-00000000000f";

/// A multi-threaded tokio runtime for the async flavour's tests.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A `tokio_postgres` connection to `url`, its connection task spawned on the runtime.
pub async fn connect_async(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// Prepared statements of the connection, asked with the simple protocol (which prepares
/// nothing itself).
pub fn prepared_statements(client: &mut postgres::Client) -> i64 {
    client
        .simple_query("SELECT count(*) FROM pg_prepared_statements")
        .unwrap()
        .iter()
        .find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get(0).map(|v| v.parse().unwrap()),
            _ => None,
        })
        .unwrap()
}

/// Every query of `crates/db/queries`, once, on `$q` (a `Querier`, or an `AsyncQuerier`
/// with `tour!(q, await)`), in the caller's transaction; evaluates to what the reads of
/// the fixtures returned (`Debug` text), equal for every flavour and execution mode.
#[macro_export]
macro_rules! tour {
    ($q:ident $(, $aw:tt)?) => {{
        use db::enums::{AiBudgetPeriod, LoginType, UserStatus};
        let mut seen: Vec<String> = Vec::new();
        let new_user = uuid("0b0b0000-0000-4000-8000-0000000000dd");
        $q.create_user(&CreateUserParams {
            id: new_user,
            email: "tour@example.com".to_owned(),
            username: "tour".to_owned(),
            name: "Tour".to_owned(),
            status: UserStatus::Active,
            login_type: LoginType::Password,
        })
        $(.$aw)?.unwrap();
        let user = $q.get_user(&GetUserParams { id: new_user, include_system: false })
            $(.$aw)?.unwrap();
        seen.push(format!("{:?}", (user.status, user.login_type, user.username)));
        $q.get_user_by_username(&GetUserByUsernameParams {
            username: "tour".to_owned(),
            include_system: false,
        })
        $(.$aw)?.unwrap()
        .unwrap();
        seen.push(format!("{}", $q.list_users(true)$(.$aw)?.unwrap().len()));
        $q.upsert_group_ai_budget(&UpsertGroupAiBudgetParams {
            group_id: uuid(DESIGN),
            spend_limit_micros: 1,
        })
        $(.$aw)?.unwrap();
        seen.push(format!("{:?}", $q.get_group_ai_budget(uuid(ENGINEERING))$(.$aw)?.unwrap()));
        seen.push(format!("{:?}", $q.list_group_ai_budgets(uuid(ACME))$(.$aw)?.unwrap().len()));
        seen.push(format!("{:?}", $q.delete_group_ai_budget(uuid(DESIGN))$(.$aw)?.unwrap()));
        seen.push(format!(
            "{:?}",
            $q.get_organization_ai_budget_caps(uuid(BETA))$(.$aw)?.unwrap().unwrap()
        ));
        let caps = $q.upsert_organization_ai_budget_caps(&UpsertOrganizationAiBudgetCapsParams {
            organization_id: uuid(BETA),
            budget_period: AiBudgetPeriod::Month,
            subscription_cap_micros: Some(5),
            subscription_cap_enabled: false,
            flat_user_cap_micros: None,
            flat_user_cap_enabled: false,
        })
        $(.$aw)?.unwrap();
        seen.push(format!("{:?}", (caps.budget_period, caps.subscription_cap_micros)));
        seen.push(format!("{:?}", $q.get_user_ai_budget_override(uuid(BOB))$(.$aw)?.unwrap().unwrap()));
        seen.push(format!(
            "{:?}",
            $q.list_user_ai_budget_overrides_by_organization(uuid(ACME))$(.$aw)?.unwrap()
        ));
        $q.upsert_user_ai_budget_override(&UpsertUserAiBudgetOverrideParams {
            user_id: uuid(DAVE),
            group_id: uuid(ACME),
            spend_limit_micros: 1,
            enabled: true,
        })
        $(.$aw)?.unwrap();
        seen.push(format!("{:?}", $q.set_user_ai_budget_override_enabled(&SetUserAiBudgetOverrideEnabledParams {
            enabled: false,
            user_id: uuid(DAVE),
        })
        $(.$aw)?.unwrap()));
        seen.push(format!("{}", $q.upsert_user_ai_budget_overrides(&UpsertUserAiBudgetOverridesParams {
            user_ids: vec![uuid(DAVE)],
            group_ids: vec![uuid(ACME)],
            spend_limit_micros: vec![2],
            enabled: vec![true],
        })
        $(.$aw)?.unwrap().len()));
        seen.push(format!("{:?}", $q.delete_user_ai_budget_override(uuid(DAVE))$(.$aw)?.unwrap()));
        $q.record_ai_spend(&RecordAiSpendParams {
            user_id: uuid(BOB),
            group_id: uuid(DESIGN),
            at: None,
            spend_micros: 1,
        })
        $(.$aw)?.unwrap();
        seen.push(format!("{}", $q.list_user_ai_daily_spend(&ListUserAiDailySpendParams {
            user_id: uuid(BOB),
            first_day: day("2024-01-01"),
            last_day: day("2024-12-31"),
        })
        $(.$aw)?.unwrap().len()));
        seen.push(format!("{:?}", $q.get_effective_ai_budget(&GetEffectiveAiBudgetParams {
            user_id: uuid(BOB),
            at: at("2024-01-23T12:00:00Z"),
        })
        $(.$aw)?.unwrap()));
        $q.create_user_skill(&CreateUserSkillParams {
            id: uuid("0d0d0000-0000-4000-8000-0000000000dd"),
            user_id: new_user,
            name: "tour".to_owned(),
            description: String::new(),
            content: String::new(),
        })
        $(.$aw)?.unwrap();
        $q.get_user_skill(&GetUserSkillParams {
            user_id: new_user,
            name: "tour".to_owned(),
        })
        $(.$aw)?.unwrap()
        .unwrap();
        seen.push(format!("{}", $q.list_user_skills(new_user)$(.$aw)?.unwrap().len()));
        seen.push(format!("{}", $q.count_user_skills(new_user)$(.$aw)?.unwrap()));
        $q.update_user_skill(&UpdateUserSkillParams {
            description: "d".to_owned(),
            content: "c".to_owned(),
            user_id: new_user,
            name: "tour".to_owned(),
        })
        $(.$aw)?.unwrap();
        seen.push(format!("{:?}", $q.delete_user_skill(&DeleteUserSkillParams {
            user_id: new_user,
            name: "tour".to_owned(),
        })
        $(.$aw)?.unwrap()));
        // sqlc.embed, :copyfrom and :batch*.
        let members: Vec<(String, Option<String>)> = $q
            .list_users_with_organizations(true)
            $(.$aw)?.unwrap()
            .into_iter()
            .map(|r| (r.users.username, r.organizations.map(|o| o.name)))
            .collect();
        seen.push(format!("{members:?}"));
        let imported: Vec<CopyUsersParams> = [(UserStatus::Active, LoginType::Github), (UserStatus::Suspended, LoginType::Oidc)]
            .into_iter()
            .enumerate()
            .map(|(i, (status, login_type))| CopyUsersParams {
                id: uuid(&format!("0b0b0000-0000-4000-8000-0000000000c{i}")),
                email: format!("imported{i}@example.com"),
                username: format!("imported{i}"),
                name: format!("Imported {i}"),
                status,
                login_type,
            })
            .collect();
        seen.push(format!("{}", $q.copy_users(&imported)$(.$aw)?.unwrap()));
        let back = $q.get_user(&GetUserParams { id: imported[1].id, include_system: false })
            $(.$aw)?.unwrap();
        seen.push(format!("{:?}", (back.status, back.login_type, back.username)));
        let spend: Vec<CopyUserAiDailySpendParams> = (1..=3)
            .map(|d| CopyUserAiDailySpendParams {
                user_id: uuid(BOB),
                group_id: uuid(DESIGN),
                day: day(&format!("2031-01-0{d}")),
                spend_micros: d,
            })
            .collect();
        seen.push(format!("{}", $q.copy_user_ai_daily_spend(&spend)$(.$aw)?.unwrap()));
        $q.insert_user_ai_daily_spend(&InsertUserAiDailySpendParams {
            user_id: uuid(BOB),
            group_id: uuid(DESIGN),
            day: day("2031-02-01"),
            spend_micros: 7,
        })
        $(.$aw)?.unwrap();
        $q.insert_user_ai_daily_spends(&[InsertUserAiDailySpendsParams {
            user_id: uuid(BOB),
            group_id: uuid(DESIGN),
            day: day("2031-02-02"),
            spend_micros: 8,
        }])
        $(.$aw)?.unwrap();
        let totals = $q.record_ai_spends(&[
            RecordAiSpendsParams {
                user_id: uuid(BOB),
                group_id: uuid(DESIGN),
                at: Some(at("2031-01-01T10:00:00Z")),
                spend_micros: 10,
            },
            RecordAiSpendsParams {
                user_id: uuid(BOB),
                group_id: uuid(DESIGN),
                at: Some(at("2031-01-01T11:00:00Z")),
                spend_micros: 100,
            },
        ])
        $(.$aw)?.unwrap();
        seen.push(format!("{totals:?}"));
        let skills: Vec<CopyUserSkillsParams> = ["copied-a", "copied-b"]
            .iter()
            .enumerate()
            .map(|(i, name)| CopyUserSkillsParams {
                id: uuid(&format!("0d0d0000-0000-4000-8000-0000000000e{i}")),
                user_id: new_user,
                name: (*name).to_owned(),
                description: String::new(),
                content: format!("content {i}"),
            })
            .collect();
        seen.push(format!("{}", $q.copy_user_skills(&skills)$(.$aw)?.unwrap()));
        let lists = $q.list_user_skills_of_users(&[new_user, uuid(NOBODY)])$(.$aw)?.unwrap();
        seen.push(format!("{:?}", lists.iter().map(|l| l.iter().map(|s| s.name.clone()).collect::<Vec<_>>()).collect::<Vec<_>>()));
        $q.delete_user_skills(&[DeleteUserSkillsParams {
            user_id: new_user,
            name: "copied-a".to_owned(),
        }])
        $(.$aw)?.unwrap();
        seen.push(format!("{}", $q.count_user_skills(new_user)$(.$aw)?.unwrap()));
        seen.push(format!("{:?}", $q.delete_organization_ai_budget_caps(uuid(BETA))$(.$aw)?.unwrap()));
        seen.push(format!("{:?}", $q.soft_delete_user(new_user)$(.$aw)?.unwrap()));
        seen
    }};
}
