//! Template databases and their clones: isolation, build-once, failures, concurrency across
//! threads and processes.

mod common;

use std::io::{BufReader, Read as _};
use std::str::FromStr as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pgcluster::{Cluster, ClusterOptions, Error};

type BuildResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn schema(client: &mut postgres::Client) -> BuildResult {
    client.batch_execute(
        "CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL);
         INSERT INTO item VALUES (1, 'seed');",
    )?;
    Ok(())
}

fn count_items(client: &mut postgres::Client) -> i64 {
    client
        .query_one("SELECT count(*) FROM item", &[])
        .unwrap()
        .get(0)
}

fn database_exists(cluster: &Cluster, name: &str) -> bool {
    cluster
        .connect("postgres")
        .unwrap()
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .unwrap()
        .is_some()
}

#[test]
fn helper() {
    if common::helper_mode().as_deref() != Some("xproc_clone") {
        return;
    }
    let dir = std::env::var("XPROC_DIR").unwrap();
    let cluster = Cluster::persistent(dir.as_ref(), &ClusterOptions::default()).unwrap();
    let db = cluster
        .database_from_template("xproc", |client| {
            // Record the build in the postgres database, and take long enough for the
            // other processes to pile up on the advisory lock.
            cluster
                .connect("postgres")?
                .batch_execute("INSERT INTO builds DEFAULT VALUES")?;
            std::thread::sleep(Duration::from_millis(300));
            schema(client)
        })
        .unwrap();
    let mut client = db.connect().unwrap();
    client
        .execute("INSERT INTO item VALUES (2, 'mine')", &[])
        .unwrap();
    assert_eq!(count_items(&mut client), 2);
    println!(); // libtest printed "test helper ... " without a newline
    println!("DB={}", db.name());
}

#[test]
fn clones_are_isolated_and_dropped() {
    let cluster = Cluster::shared().unwrap();
    let a = cluster.database_from_template("isolation", schema).unwrap();
    let b = cluster.database_from_template("isolation", schema).unwrap();
    assert_ne!(a.name(), b.name());

    let mut ca = a.connect().unwrap();
    let mut cb = b.connect().unwrap();
    ca.execute("INSERT INTO item VALUES (2, 'only in a')", &[])
        .unwrap();
    cb.batch_execute("DROP TABLE item; CREATE TABLE other (x int)")
        .unwrap();
    assert_eq!(count_items(&mut ca), 2);
    assert!(cb.query_one("SELECT count(*) FROM item", &[]).is_err());

    // A later clone still sees the pristine template.
    let c = cluster.database_from_template("isolation", schema).unwrap();
    assert_eq!(count_items(&mut c.connect().unwrap()), 1);

    let name = a.name().to_string();
    assert!(database_exists(cluster, &name));
    drop(a); // with `ca` still open: WITH (FORCE)
    assert!(!database_exists(cluster, &name));
    assert!(ca.query_one("SELECT 1", &[]).is_err());
}

#[test]
fn template_is_built_once_and_marked() {
    let cluster = Cluster::shared().unwrap();
    let builds = AtomicUsize::new(0);
    let build = |client: &mut postgres::Client| {
        builds.fetch_add(1, Ordering::SeqCst);
        schema(client)
    };
    let dbs: Vec<_> = (0..3)
        .map(|_| cluster.database_from_template("once", build).unwrap())
        .collect();
    assert_eq!(builds.load(Ordering::SeqCst), 1);
    assert_eq!(dbs.len(), 3);

    let row = cluster
        .connect("postgres")
        .unwrap()
        .query_one(
            "SELECT datistemplate, datallowconn FROM pg_database WHERE datname = 'tpl_once'",
            &[],
        )
        .unwrap();
    assert!(row.get::<_, bool>(0), "IS_TEMPLATE");
    assert!(!row.get::<_, bool>(1), "no connections to the template");
}

#[test]
fn clone_url_connects() {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.database_from_template("url", schema).unwrap();
    assert_eq!(db.url(), cluster.url(db.name()));
    let mut client = postgres::Config::from_str(db.url())
        .unwrap()
        .connect(postgres::NoTls)
        .unwrap();
    assert_eq!(count_items(&mut client), 1);
}

#[test]
fn failed_build_is_reported_and_retried() {
    let cluster = Cluster::shared().unwrap();
    let err = cluster
        .database_from_template("flaky", |client| {
            client.batch_execute("CREATE TABLE half_done (x int)")?;
            client.batch_execute("CREATE TABLE broken (x no_such_type)")?;
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, Error::TemplateBuild { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("tpl_flaky"), "{message}");
    assert!(
        !database_exists(cluster, "tpl_flaky"),
        "half-built template dropped"
    );

    let db = cluster.database_from_template("flaky", schema).unwrap();
    let mut client = db.connect().unwrap();
    assert_eq!(count_items(&mut client), 1);
    let half_done = client
        .query_opt("SELECT 1 FROM pg_class WHERE relname = 'half_done'", &[])
        .unwrap();
    assert!(half_done.is_none(), "rebuilt from scratch");
}

#[test]
fn panicking_build_leaves_nothing_locked() {
    let cluster = Cluster::shared().unwrap();
    let panicked = std::thread::scope(|s| {
        s.spawn(|| cluster.database_from_template("panicky", |_| panic!("build blew up")))
            .join()
            .is_err()
    });
    assert!(panicked);
    // The advisory lock died with the connection; the half-built template is rebuilt.
    let db = cluster.database_from_template("panicky", schema).unwrap();
    assert_eq!(count_items(&mut db.connect().unwrap()), 1);
}

#[test]
fn invalid_keys_are_rejected() {
    let cluster = Cluster::shared().unwrap();
    for key in ["", "Upper", "has-dash", "x;drop", &"k".repeat(41)] {
        let err = cluster.database_from_template(key, schema).unwrap_err();
        assert!(matches!(err, Error::InvalidName { .. }), "{key}: {err:?}");
    }
    assert!(
        cluster
            .database_from_template(&"k".repeat(40), schema)
            .is_ok()
    );
}

#[test]
fn concurrent_clones_from_8_threads() {
    let cluster = Cluster::shared().unwrap();
    let builds = AtomicUsize::new(0);
    let names: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let builds = &builds;
                s.spawn(move || {
                    let mut names = Vec::new();
                    for round in 0..3 {
                        let db = cluster
                            .database_from_template("concurrent", |client| {
                                builds.fetch_add(1, Ordering::SeqCst);
                                std::thread::sleep(Duration::from_millis(100));
                                schema(client)
                            })
                            .unwrap();
                        let mut client = db.connect().unwrap();
                        let id = 100 + i * 10 + round;
                        client
                            .execute("INSERT INTO item VALUES ($1, 'thread')", &[&id])
                            .unwrap();
                        assert_eq!(count_items(&mut client), 2);
                        names.push(db.name().to_string());
                    }
                    names
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(builds.load(Ordering::SeqCst), 1, "template built once");
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 24, "unique clone names");
    for name in &names {
        assert!(!database_exists(cluster, name), "{name} dropped");
    }
}

#[test]
fn concurrent_clones_from_several_processes() {
    let root = common::reachable_tempdir();
    let dir = root.path().join("xproc");
    let cluster = Cluster::persistent(&dir, &ClusterOptions::default()).unwrap();
    cluster
        .connect("postgres")
        .unwrap()
        .batch_execute("CREATE TABLE builds (at timestamptz DEFAULT now())")
        .unwrap();

    let dir_str = dir.to_str().unwrap();
    let children: Vec<_> = (0..3)
        .map(|_| common::spawn_helper("xproc_clone", &[("XPROC_DIR", dir_str)]))
        .collect();
    let mut names = Vec::new();
    for mut child in children {
        let mut out = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_to_string(&mut out)
            .unwrap();
        let ok = child.wait().unwrap().success();
        assert!(ok, "helper failed: {out}");
        names.extend(
            out.lines()
                .filter_map(|l| l.strip_prefix("DB="))
                .map(str::to_string),
        );
    }
    let builds: i64 = cluster
        .connect("postgres")
        .unwrap()
        .query_one("SELECT count(*) FROM builds", &[])
        .unwrap()
        .get(0);
    cluster.stop().unwrap();
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(builds, 1, "template built by exactly one process");
}
