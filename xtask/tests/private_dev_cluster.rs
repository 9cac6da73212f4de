//! `cargo xtask migrate` on the embedded dev cluster from a checkout in a private folder
//! (a clone under `/root`, mode 0700), and nobody else can connect to that cluster.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn migrate(checkout: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["migrate", "--dir"])
        .arg(checkout.join("migrations"))
        .env("XTASK_DEV_CLUSTER_DIR", checkout.join(".pgdata"))
        .env_remove("DATABASE_URL")
        .current_dir(checkout)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn os_user(name: &str) -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id").args([flag, name]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (id("-u"), id("-g"))
}

fn psql(as_user: Option<&str>, socket_dir: &Path, sql: &str) -> Output {
    let mut cmd = Command::new("psql");
    cmd.args([
        "-X", "-w", "-At", "-U", "postgres", "-d", "dev", "-c", sql, "-h",
    ])
    .arg(socket_dir)
    .current_dir("/")
    .env("PGCONNECT_TIMEOUT", "5")
    .stdin(Stdio::null());
    if let Some(user) = as_user {
        let (uid, gid) = os_user(user);
        cmd.uid(uid).gid(gid).env("HOME", "/nonexistent");
    }
    cmd.output().unwrap()
}

/// Stops the dev cluster (fast shutdown) and removes its relocated files, when dropped.
struct Cleanup {
    home: Option<PathBuf>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let Some(home) = &self.home else { return };
        if let Some(pid) = std::fs::read_to_string(home.join("data/postmaster.pid"))
            .ok()
            .and_then(|t| t.lines().next()?.trim().parse::<u32>().ok())
        {
            let _ = Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if home.starts_with("/var/tmp") || home.starts_with("/tmp") {
            let _ = std::fs::remove_dir_all(home);
        }
    }
}

#[test]
fn migrate_from_a_private_checkout_and_nobody_else_connects() {
    let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    let private = tempfile::Builder::new()
        .prefix("xtask-private")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let checkout = private.path().join("spend-db");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    copy_dir(&workspace.join("migrations"), &checkout.join("migrations"));
    let pgdata = checkout.join(".pgdata");
    let mut cleanup = Cleanup {
        home: Some(pgdata.clone()),
    };

    let first = migrate(&checkout);
    let record = pgdata.join("RELOCATED");
    let home = match std::fs::read_to_string(&record) {
        Ok(text) => PathBuf::from(text.lines().next().unwrap()),
        Err(_) => pgdata.clone(),
    };
    cleanup.home = Some(home.clone());
    assert!(first.status.success(), "{}", text(&first));
    if root {
        assert!(record.is_file(), "no RELOCATED record: {}", text(&first));
        assert!(
            text(&first).contains(&format!("lives in {}", home.display())),
            "where the cluster is, is not said: {}",
            text(&first)
        );
    }

    let second = migrate(&checkout);
    assert!(second.status.success(), "{}", text(&second));
    assert!(
        text(&second).contains("nothing to apply"),
        "{}",
        text(&second)
    );

    let socket_dir = home.join("run");
    let me = psql(
        None,
        &socket_dir,
        "SELECT count(*) FROM refinery_schema_history",
    );
    assert!(me.status.success(), "{}", text(&me));
    let applied: u32 = String::from_utf8_lossy(&me.stdout).trim().parse().unwrap();
    assert!(applied > 0, "{}", text(&me));
    if root {
        let nobody = psql(Some("nobody"), &socket_dir, "SELECT 1");
        assert!(
            !nobody.status.success(),
            "nobody connected: {}",
            text(&nobody)
        );
        assert!(
            text(&nobody).contains("Permission denied"),
            "{}",
            text(&nobody)
        );
    }
}
