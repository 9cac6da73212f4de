//! The watchdog: a tiny `sh` child that removes a throwaway cluster when this process dies.
//!
//! The watchdog blocks reading its stdin, a pipe whose write end only this process holds
//! (std opens pipes close-on-exec, so no other child inherits it). When the pipe reaches EOF,
//! because the cluster was dropped *or* because this process died in any way (SIGKILL, exit
//! with a static never dropped, panic=abort), it stops the postmaster with SIGQUIT (immediate
//! shutdown), waits for it to go away, and `rm -rf`s the cluster directory.
//!
//! Protocol on stdin, one line each: `pid N` (the postmaster to stop), `stopped` (the
//! server was stopped and reaped by us: do not signal anything, a pid may be reused).
//! Without any line it falls back to the pid in `DIR/data/postmaster.pid`.
//!
//! The watchdog runs in its own process group with stdin a pipe and stdout/stderr on
//! /dev/null, so terminal signals do not reach it and test runners never wait on it.

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::error::{Error, Result};

/// `$1` is the cluster directory.
const SCRIPT: &str = r#"
trap '' INT HUP TERM QUIT PIPE
dir=$1
pid=
state=unknown
while IFS= read -r line; do
  case $line in
    "pid "*) pid=${line#pid }; state=running ;;
    stopped) pid=; state=stopped ;;
  esac
done
if [ "$state" = unknown ] && [ -r "$dir/data/postmaster.pid" ]; then
  IFS= read -r pid < "$dir/data/postmaster.pid" || pid=
fi
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/status" ] || return 0
  while read -r key value rest; do
    if [ "$key" = "State:" ]; then
      [ "$value" != Z ]
      return
    fi
  done < "/proc/$1/status"
  return 0
}
is_postgres() {
  [ -r "/proc/$1/comm" ] || return 0
  IFS= read -r comm < "/proc/$1/comm" || return 0
  [ "$comm" = postgres ] || [ "$comm" = postmaster ]
}
case $pid in
  ''|*[!0-9]*) pid= ;;
esac
if [ -n "$pid" ] && alive "$pid" && is_postgres "$pid"; then
  kill -QUIT "$pid" 2>/dev/null
  i=0
  while alive "$pid"; do
    i=$((i + 1))
    if [ "$i" -eq 500 ]; then kill -KILL "$pid" 2>/dev/null; fi
    if [ "$i" -gt 1000 ]; then break; fi
    sleep 0.01
  done
fi
rm -rf "$dir"
"#;

/// Handle on a running watchdog; see the module docs.
#[derive(Debug)]
pub(crate) struct Watchdog {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Watchdog {
    /// Starts a watchdog that will remove `dir` (absolute) once this handle is finished or
    /// this process dies.
    pub(crate) fn spawn(dir: &Path) -> Result<Watchdog> {
        assert!(dir.is_absolute(), "watchdog dir must be absolute");
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("pgcluster-watchdog")
            .arg(dir)
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| {
                Error::command_spawn(
                    "/bin/sh -c <pgcluster watchdog>".to_string(),
                    &e,
                    "a POSIX shell at /bin/sh is required for throwaway clusters",
                )
            })?;
        let stdin = child.stdin.take();
        Ok(Watchdog { child, stdin })
    }

    /// Tells the watchdog which postmaster to stop if this process dies.
    pub(crate) fn watch_pid(&mut self, pid: u32) {
        self.send(&format!("pid {pid}\n"));
    }

    /// Tells the watchdog the server is gone (stopped and reaped by us).
    pub(crate) fn server_stopped(&mut self) {
        self.send("stopped\n");
    }

    fn send(&mut self, line: &str) {
        if let Some(stdin) = &mut self.stdin {
            // A dead watchdog cannot be helped here; the cluster still works.
            let _ = stdin.write_all(line.as_bytes());
            let _ = stdin.flush();
        }
    }

    /// Closes the pipe (the watchdog then cleans up) and waits for it to exit.
    pub(crate) fn finish(mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
