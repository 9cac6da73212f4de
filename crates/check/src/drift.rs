//! Drift: `generated/` is what `cargo xtask gen` would write now.
//!
//! The generator lives elsewhere (`cargo xtask gen --check`); this crate does not depend on it.
//! The caller hands in the check as a function; without one the part is reported as not
//! available, never as passed.

use std::path::Path;
use std::time::Instant;

use crate::report::{Finding, Part, PartReport, Status};

/// What a drift check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriftOutcome {
    /// `generated/` is current (with a one-line summary).
    Current(String),
    /// `generated/` is stale: the unified diff of what would change.
    Stale(String),
    /// The check cannot run here (why).
    NotAvailable(String),
    /// The check itself failed (why).
    Failed(String),
}

/// A drift check: given the migrations folder, regenerate in memory and compare.
pub type DriftCheck<'a> = &'a dyn Fn(&Path) -> DriftOutcome;

/// Run `check` (if any) and report.
pub fn run(check: Option<DriftCheck<'_>>, dir: &Path) -> PartReport {
    let started = Instant::now();
    let Some(check) = check else {
        return PartReport::not_available(Part::Drift, "no generator is wired in");
    };
    let outcome = check(dir);
    let elapsed = started.elapsed();
    match outcome {
        DriftOutcome::Current(summary) => {
            PartReport::from_findings(Part::Drift, summary, Vec::new(), Vec::new(), elapsed)
        }
        DriftOutcome::Stale(diff) => PartReport::failed(
            Part::Drift,
            Finding::new("generated/ is stale: it differs from what `cargo xtask gen` writes now")
                .hint("run `cargo xtask gen` and commit generated/")
                .detail(diff),
            elapsed,
        ),
        DriftOutcome::NotAvailable(why) => {
            let mut r = PartReport::not_available(Part::Drift, why.clone());
            r.status = Status::NotAvailable(why);
            r.elapsed = elapsed;
            r
        }
        DriftOutcome::Failed(why) => PartReport::failed(
            Part::Drift,
            Finding::new(format!("the drift check could not run: {why}")),
            elapsed,
        ),
    }
}
