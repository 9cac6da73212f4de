//! What a check found, and how it is printed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The parts of `check`, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    /// Names, versions, pairs and fixture files of the migration folder.
    Set,
    /// Every risky-DDL rule on every up migration.
    Lint,
    /// Each migration's down restores the schema exactly.
    Reversibility,
    /// Every table has rows after the full chain with fixtures.
    Fixtures,
    /// `generated/` is current.
    Drift,
}

impl Part {
    /// Every part, in running order.
    pub const ALL: [Part; 5] = [
        Part::Set,
        Part::Lint,
        Part::Reversibility,
        Part::Fixtures,
        Part::Drift,
    ];

    /// Its name on the command line and in the output.
    pub fn name(self) -> &'static str {
        match self {
            Part::Set => "set",
            Part::Lint => "lint",
            Part::Reversibility => "reversibility",
            Part::Fixtures => "fixtures",
            Part::Drift => "drift",
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Part {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Part::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown check `{s}`: expected one of {}",
                    Part::ALL.map(Part::name).join(", ")
                )
            })
    }
}

/// A place in a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
}

impl Location {
    /// `path` without a line.
    pub fn file(path: &Path) -> Self {
        Location {
            path: path.to_path_buf(),
            line: None,
        }
    }

    /// `path:line`.
    pub fn line(path: &Path, line: usize) -> Self {
        Location {
            path: path.to_path_buf(),
            line: Some(line),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        Ok(())
    }
}

/// One thing a check says: a failure, or a note shown without failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where, when it is about a file.
    pub location: Option<Location>,
    /// The lint rule (or other short code) it comes from.
    pub rule: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// A longer text shown indented below (a diff).
    pub detail: Option<String>,
}

impl Finding {
    /// A finding with a message only.
    pub fn new(message: impl Into<String>) -> Self {
        Finding {
            location: None,
            rule: None,
            message: message.into(),
            hint: None,
            detail: None,
        }
    }

    /// Set where.
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    /// Set the rule name.
    pub fn rule(mut self, rule: impl Into<String>) -> Self {
        self.rule = Some(rule.into());
        self
    }

    /// Set the hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Set the detail.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    fn write(&self, f: &mut fmt::Formatter<'_>, label: &str, part: Part) -> fmt::Result {
        write!(f, "  {label}")?;
        match &self.rule {
            Some(rule) => write!(f, "[{part}:{rule}]")?,
            None => write!(f, "[{part}]")?,
        }
        write!(f, ": ")?;
        if let Some(loc) = &self.location {
            write!(f, "{loc}: ")?;
        }
        writeln!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            writeln!(f, "    hint: {}", hint.replace('\n', "\n          "))?;
        }
        if let Some(detail) = &self.detail {
            for line in detail.lines() {
                writeln!(f, "    | {line}")?;
            }
        }
        Ok(())
    }
}

/// How a part ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Ran and found nothing wrong.
    Passed,
    /// Ran and found failures (listed in [`PartReport::failures`]).
    Failed,
    /// Could not run here (with why). Not a pass: printed as such.
    NotAvailable(String),
    /// Did not run because an earlier part failed (with why).
    NotRun(String),
}

/// One part's outcome.
#[derive(Debug, Clone)]
pub struct PartReport {
    /// Which part.
    pub part: Part,
    /// How it ended.
    pub status: Status,
    /// One line on what was checked (`12 migrations reverted exactly`).
    pub summary: String,
    /// What is wrong; non-empty exactly when the status is [`Status::Failed`].
    pub failures: Vec<Finding>,
    /// Shown, never failing: accepted exceptions, statements sqlparser could not parse,
    /// exempt tables, allows that silence nothing.
    pub notes: Vec<Finding>,
    /// Wall time.
    pub elapsed: Duration,
}

impl PartReport {
    /// A report for `part` with the status derived from `failures`.
    pub fn from_findings(
        part: Part,
        summary: impl Into<String>,
        failures: Vec<Finding>,
        notes: Vec<Finding>,
        elapsed: Duration,
    ) -> Self {
        PartReport {
            part,
            status: if failures.is_empty() {
                Status::Passed
            } else {
                Status::Failed
            },
            summary: summary.into(),
            failures,
            notes,
            elapsed,
        }
    }

    /// A part that could not run.
    pub fn not_available(part: Part, why: impl Into<String>) -> Self {
        let why = why.into();
        PartReport {
            part,
            status: Status::NotAvailable(why.clone()),
            summary: why,
            failures: Vec::new(),
            notes: Vec::new(),
            elapsed: Duration::ZERO,
        }
    }

    /// A part that did not run because of an earlier failure.
    pub fn not_run(part: Part, why: impl Into<String>) -> Self {
        let why = why.into();
        PartReport {
            part,
            status: Status::NotRun(why.clone()),
            summary: why,
            failures: Vec::new(),
            notes: Vec::new(),
            elapsed: Duration::ZERO,
        }
    }

    /// A part that failed with one finding.
    pub fn failed(part: Part, finding: Finding, elapsed: Duration) -> Self {
        PartReport {
            part,
            status: Status::Failed,
            summary: finding.message.lines().next().unwrap_or("").to_string(),
            failures: vec![finding],
            notes: Vec::new(),
            elapsed,
        }
    }
}

/// Everything one `check` run found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The folder checked.
    pub dir: PathBuf,
    /// Each part that was asked for, in running order.
    pub parts: Vec<PartReport>,
    /// Parts asked for explicitly (`--only`): for those, "not available" fails the run.
    pub explicit: bool,
}

impl Report {
    /// Whether the run passes: no part failed, none was left unrun by a failure, and a part
    /// asked for explicitly was available.
    pub fn passed(&self) -> bool {
        self.parts.iter().all(|p| match &p.status {
            Status::Passed => true,
            Status::Failed | Status::NotRun(_) => false,
            Status::NotAvailable(_) => !self.explicit,
        })
    }

    /// The report of one part, if it ran.
    pub fn part(&self, part: Part) -> Option<&PartReport> {
        self.parts.iter().find(|p| p.part == part)
    }

    /// Every failure of every part.
    pub fn failures(&self) -> impl Iterator<Item = (Part, &Finding)> {
        self.parts
            .iter()
            .flat_map(|p| p.failures.iter().map(move |f| (p.part, f)))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "check {}", self.dir.display())?;
        for p in &self.parts {
            let status = match &p.status {
                Status::Passed => "ok",
                Status::Failed => "FAILED",
                Status::NotAvailable(_) => "NOT AVAILABLE",
                Status::NotRun(_) => "NOT RUN",
            };
            writeln!(
                f,
                "{:<14} {:<13} {} ({})",
                p.part.name(),
                status,
                p.summary,
                human(p.elapsed)
            )?;
            for n in &p.notes {
                n.write(f, "note", p.part)?;
            }
            for e in &p.failures {
                e.write(f, "error", p.part)?;
            }
        }
        let count =
            |pred: fn(&Status) -> bool| self.parts.iter().filter(|p| pred(&p.status)).count();
        let failed = count(|s| matches!(s, Status::Failed));
        let unavailable = count(|s| matches!(s, Status::NotAvailable(_)));
        let not_run = count(|s| matches!(s, Status::NotRun(_)));
        let passed = count(|s| matches!(s, Status::Passed));
        let errors = self.failures().count();
        let mut tail = vec![format!("{passed} passed")];
        if failed > 0 {
            tail.push(format!("{failed} failed ({errors} error(s))"));
        }
        if not_run > 0 {
            tail.push(format!("{not_run} not run"));
        }
        if unavailable > 0 {
            tail.push(format!("{unavailable} not available"));
        }
        writeln!(
            f,
            "check {}: {}",
            if self.passed() { "passed" } else { "FAILED" },
            tail.join(", ")
        )
    }
}

/// `12 ms`, `1.4 s`.
pub fn human(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}
