//! `find_bindir`: explicit path, `PG_BINDIR`, `PATH`, the fallbacks, and the error.
//!
//! Environment-dependent cases run in a child process (this test binary re-executed with
//! its environment set), since changing this process's environment is unsafe.

mod common;

use std::io::{BufReader, Read as _};
use std::path::{Path, PathBuf};

use pgcluster::{Error, find_bindir};

/// Runs `find_bindir(None)` in a helper process with `envs` set (and `PG_BINDIR` removed
/// unless given); returns `Ok(dir)` or `Err(message)`.
fn find_in_child(envs: &[(&str, &str)]) -> Result<PathBuf, String> {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["helper", "--exact", "--nocapture", "--test-threads=1"])
        .env(common::HELPER_ENV, "find_bindir")
        .env_remove("PG_BINDIR")
        .stdout(std::process::Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut out = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_to_string(&mut out)
        .unwrap();
    assert!(child.wait().unwrap().success(), "helper failed: {out}");
    for line in out.lines() {
        if let Some(dir) = line.strip_prefix("BINDIR=") {
            return Ok(PathBuf::from(dir));
        }
        if let Some(err) = line.strip_prefix("ERROR=") {
            return Err(err.replace("\\n", "\n"));
        }
    }
    panic!("helper printed no result: {out}");
}

#[test]
fn helper() {
    if common::helper_mode().as_deref() != Some("find_bindir") {
        return;
    }
    println!(); // libtest printed "test helper ... " without a newline
    match find_bindir(None) {
        Ok(dir) => println!("BINDIR={}", dir.display()),
        Err(e) => println!("ERROR={}", e.to_string().replace('\n', "\\n")),
    }
}

fn real_bindir() -> PathBuf {
    find_bindir(None).expect("these tests need PostgreSQL server binaries installed")
}

fn assert_says_what_to_do(message: &str) {
    for needed in [
        "apt-get install postgresql",
        "PG_BINDIR",
        "DATABASE_URL",
        "initdb",
    ] {
        assert!(
            message.contains(needed),
            "{needed:?} missing from: {message}"
        );
    }
}

#[test]
fn explicit_dir_is_used() {
    let real = real_bindir();
    assert_eq!(find_bindir(Some(&real)).unwrap(), real);
}

#[test]
fn explicit_dir_without_binaries_is_a_clear_error() {
    let empty = tempfile::tempdir().unwrap();
    let err = find_bindir(Some(empty.path())).unwrap_err();
    assert!(matches!(err, Error::BinariesNotFound { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&empty.path().display().to_string()),
        "{message}"
    );
    assert_says_what_to_do(&message);
}

#[test]
fn pg_bindir_env_is_used() {
    let real = real_bindir();
    let found = find_in_child(&[("PG_BINDIR", real.to_str().unwrap()), ("PATH", "")]);
    assert_eq!(found, Ok(real));
}

#[test]
fn pg_bindir_env_without_binaries_is_a_clear_error() {
    let empty = tempfile::tempdir().unwrap();
    let message = find_in_child(&[("PG_BINDIR", empty.path().to_str().unwrap())]).unwrap_err();
    assert!(
        message.contains(&format!("PG_BINDIR={}", empty.path().display())),
        "{message}"
    );
    assert_says_what_to_do(&message);
}

#[test]
fn path_dir_of_symlinks_resolves_to_the_real_bindir() {
    let real = real_bindir();
    let links = tempfile::tempdir().unwrap();
    for name in ["initdb", "pg_ctl", "postgres"] {
        std::os::unix::fs::symlink(real.join(name), links.path().join(name)).unwrap();
    }
    let path = format!("/nonexistent:{}", links.path().display());
    let found = find_in_child(&[("PATH", &path)]).unwrap();
    assert_eq!(found.canonicalize().unwrap(), real.canonicalize().unwrap());
}

#[test]
fn path_dir_of_plain_files_is_used_as_is() {
    let fake = tempfile::tempdir().unwrap();
    for name in ["initdb", "pg_ctl", "postgres"] {
        std::fs::write(fake.path().join(name), "#!/bin/sh\n").unwrap();
    }
    let found = find_in_child(&[("PATH", fake.path().to_str().unwrap())]).unwrap();
    assert_eq!(found, fake.path());
}

#[test]
fn falls_back_to_usr_lib_postgresql() {
    let result = find_in_child(&[("PATH", "")]);
    let root = Path::new("/usr/lib/postgresql");
    let has_debian_layout = std::fs::read_dir(root)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.path().join("bin").join("initdb").is_file())
        })
        .unwrap_or(false);
    if has_debian_layout {
        let dir = result.unwrap();
        assert!(dir.starts_with(root), "{}", dir.display());
        assert!(dir.join("postgres").is_file());
    } else {
        assert_says_what_to_do(&result.unwrap_err());
    }
}
