//! Reverting migrations: `down`, `down --to`, `down --all` and `redo` (refinery has no downs).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use postgres::{Client, GenericClient};

use crate::checksum;
use crate::engine::{self, Applied, Migrator};
use crate::error::{Error, Result, SqlFailure};
use crate::history;
use crate::pgerror;
use crate::set::Migration;
use crate::split;

/// Which migrations `down` reverts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownTarget {
    /// The newest applied migration only.
    Newest,
    /// Every applied migration with a version above this one (0: all of them).
    To(i64),
    /// Every applied migration.
    All,
}

/// A migration this run reverted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Reverted {
    /// Its version.
    pub version: i64,
    /// Its name.
    pub name: String,
    /// The down file that ran.
    pub path: PathBuf,
    /// Time spent on its down SQL.
    #[serde(skip)]
    pub duration: Duration,
}

impl Migrator<'_> {
    /// Revert applied migrations, newest first, each running its down script and deleting its
    /// history row in the same transaction (one transaction for all of them by default).
    pub fn down(&self, client: &mut Client, target: DownTarget) -> Result<Vec<Reverted>> {
        self.locked(client, |c| {
            if !history::exists(c)? {
                return Ok(Vec::new());
            }
            let applied = history::read(c)?;
            let applied = crate::reencode::apply(c, self.set, applied)?;
            engine::verify(self.set, &applied)?;
            let versions: Vec<i64> = match target {
                DownTarget::Newest => applied.last().map(|r| r.version).into_iter().collect(),
                DownTarget::All => applied.iter().rev().map(|r| r.version).collect(),
                DownTarget::To(to) => {
                    if to != 0 && !applied.iter().any(|r| r.version == to) {
                        return Err(Error::BadTarget {
                            version: to,
                            reason: format!(
                                "it is not applied; use 0 (or --all) to revert everything, or one of the applied versions: {}",
                                applied
                                    .iter()
                                    .map(|r| r.version.to_string())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        });
                    }
                    applied
                        .iter()
                        .rev()
                        .map(|r| r.version)
                        .filter(|v| *v > to)
                        .collect()
                }
            };
            let migrations: Vec<&Migration> = versions
                .iter()
                .map(|v| self.set.get(*v).expect("verified above"))
                .collect();
            for m in &migrations {
                down_script(self, m)?;
            }
            self.revert(c, &migrations)
        })
    }

    pub(crate) fn revert(
        &self,
        c: &mut Client,
        migrations: &[&Migration],
    ) -> Result<Vec<Reverted>> {
        let mut done: Vec<Reverted> = Vec::new();
        let mut i = 0;
        while i < migrations.len() {
            let m = migrations[i];
            if down_script(self, m)?.no_transaction {
                done.push(revert_no_transaction(c, m, &done)?);
                i += 1;
                continue;
            }
            let end = migrations[i..]
                .iter()
                .position(|m| m.down.as_ref().is_some_and(|d| d.no_transaction))
                .map_or(migrations.len(), |p| i + p);
            let groups: Vec<&[&Migration]> = if self.single_transaction {
                vec![&migrations[i..end]]
            } else {
                migrations[i..end].chunks(1).collect()
            };
            for group in groups {
                let reverted = revert_group(c, group, migrations, self.single_transaction, &done)?;
                done.extend(reverted);
            }
            i = end;
        }
        Ok(done)
    }

    /// Revert the newest applied migration and apply it again, in one transaction.
    pub fn redo(&self, client: &mut Client) -> Result<Option<(Reverted, Applied)>> {
        self.locked(client, |c| {
            if !history::exists(c)? {
                return Ok(None);
            }
            let applied = history::read(c)?;
            let applied = crate::reencode::apply(c, self.set, applied)?;
            engine::verify(self.set, &applied)?;
            let Some(newest) = applied.last() else {
                return Ok(None);
            };
            let m = self.set.get(newest.version).expect("verified above");
            let down = down_script(self, m)?;
            if down.no_transaction || m.up.no_transaction {
                let r = revert_no_transaction(c, m, &[])?;
                let a = self.apply(c, &[m])?;
                return Ok(Some((r, a.into_iter().next().expect("one applied"))));
            }
            let mut tx = c
                .transaction()
                .map_err(|e| Error::db("cannot begin a transaction", e))?;
            let mut reference = None;
            let reverted = match revert_in(&mut tx, m, true, &[], &mut reference)? {
                Ok(r) => r,
                Err((r, e)) => {
                    drop(tx);
                    return Err(down_ended(c, m, &[], &[m], r, e));
                }
            };
            let alone = std::collections::BTreeSet::new();
            let timings = match self.apply_in(&mut tx, &[m], &[m], &[], &alone, reference) {
                Ok(engine::Attempt::Done(t)) => t,
                // One migration travels alone: there is no message of several to replay.
                Ok(engine::Attempt::Replay(_)) => {
                    return Err(Error::History(format!(
                        "the redo of migration {} was asked to run again; it was rolled back",
                        m.label()
                    )));
                }
                Err(e) => {
                    drop(tx);
                    return Err(match self.finish_broken(c, &[m], &[]) {
                        Some(Error::TransactionEnded {
                            version,
                            shown,
                            name,
                            at,
                            outcome,
                        }) => Error::TransactionEnded {
                            version,
                            shown,
                            name,
                            at,
                            outcome: format!(
                                "This was a redo: its down ({}) and the removal of its history row ran in the runner's transaction before the up, and share that transaction's fate.\n{outcome}",
                                down.path.display()
                            ),
                        },
                        Some(other) => other,
                        None => e,
                    });
                }
            };
            tx.commit()
                .map_err(|e| Error::db("cannot commit the redo", e))?;
            Ok(Some((
                reverted,
                Applied {
                    version: m.version,
                    name: m.name.clone(),
                    path: m.up.path.clone(),
                    no_transaction: false,
                    duration: timings.iter().map(|(took, _)| *took).sum(),
                    batch: 1,
                },
            )))
        })
    }
}

pub(crate) fn down_script<'m>(
    mig: &Migrator<'_>,
    m: &'m Migration,
) -> Result<&'m crate::set::Script> {
    m.down.as_ref().ok_or_else(|| Error::Irreversible {
        version: m.version,
        reason: if mig.set.layout.has_downs() {
            format!("{} has no down script", m.label())
        } else {
            format!(
                "the {} layout has no down migrations ({})",
                mig.set.layout,
                m.up.path.display()
            )
        },
    })
}

/// Revert `group` (transactional downs, newest first) in one transaction, in as few round
/// trips as the guard allows: `BEGIN` travels with the first down, each down's history
/// `DELETE` in front of the next down, and the last `DELETE` with `COMMIT`: one round trip per
/// migration and one more (instead of two per migration and two more).
///
/// Every down is sent guarded ([`crate::guard`]) and the next message goes only once the
/// guard's ids showed that the runner's transaction survived, so a down that ends it is caught
/// before its history row is removed or anything is committed. A failing down is located in
/// its file as when it was sent alone (the characters in front of it are counted). The
/// `DELETE` in front of a down removes a row the run just read (`down`) or that the caller
/// knows is there (`revert_next`), by its primary key: should it fail all the same, its error
/// is reported at the down it travelled with.
fn revert_group(
    c: &mut Client,
    group: &[&Migration],
    all: &[&Migration],
    single: bool,
    done: &[Reverted],
) -> Result<Vec<Reverted>> {
    let mut reverted = Vec::with_capacity(group.len());
    let mut reference = None;
    let mut held_delete: Option<String> = None;
    for (k, m) in group.iter().enumerate() {
        let down = m.down.as_ref().expect("checked by down_script");
        let sql = checksum::normalise(&down.sql);
        let mut prefix = String::new();
        if k == 0 {
            prefix.push_str("BEGIN;\n");
        }
        if let Some(delete) = held_delete.take() {
            prefix.push_str(&delete);
        }
        prefix.push_str(crate::guard::GUARD_BEFORE);
        let start = Instant::now();
        let messages = match c.simple_query(&format!("{prefix}{sql}{}", crate::guard::GUARD_AFTER))
        {
            Ok(messages) => messages,
            Err(e) => {
                let _ = c.batch_execute("ROLLBACK");
                let failure =
                    pgerror::locate_prefixed(&e, &down.path, &sql, 0, prefix.chars().count());
                return Err(down_failed(m, Box::new(failure), single, done));
            }
        };
        if let Some((first, last)) = crate::guard::xids(&messages)
            && let Some((r, e)) = crate::guard::check(&mut reference, first, last)
        {
            return Err(down_ended(c, m, &group[..k], all, r, e));
        }
        held_delete = Some(format!(
            "DELETE FROM {} WHERE version = {};\n",
            history::HISTORY_TABLE,
            m.version
        ));
        reverted.push(Reverted {
            version: m.version,
            name: m.name.clone(),
            path: down.path.clone(),
            duration: start.elapsed(),
        });
    }
    if let Some(delete) = held_delete
        && let Err(e) = c.batch_execute(&format!("{delete}COMMIT"))
    {
        let _ = c.batch_execute("ROLLBACK");
        let last = group.last().map_or(0, |m| m.version);
        return Err(Error::db(
            format!(
                "cannot remove migration {last} from history and commit the reverts; the transaction was rolled back: none of the {} migration(s) it held is reverted.{}",
                group.len(),
                reverted_list(done)
            ),
            e,
        ));
    }
    Ok(reverted)
}

/// The error when `m`'s down failed and its transaction was rolled back.
fn down_failed(m: &Migration, failure: Box<SqlFailure>, single: bool, done: &[Reverted]) -> Error {
    Error::MigrationFailed {
        version: m.version,
        shown: m.version_text.clone(),
        name: m.name.clone(),
        failure,
        outcome: if single {
            "the transaction was rolled back: no migration of this run was reverted.".to_string()
        } else {
            format!(
                "its transaction was rolled back; it stays applied.{}",
                reverted_list(done)
            )
        },
    }
}

/// Run `m`'s down and delete its history row in the runner's transaction (for `redo`, whose
/// up follows in the same transaction). `Ok(Err((reference, end)))`: the guard found that the
/// down ended the transaction (see [`crate::guard`]).
type Ended = (i64, i64);

fn revert_in(
    tx: &mut impl GenericClient,
    m: &Migration,
    single: bool,
    done: &[Reverted],
    reference: &mut Option<i64>,
) -> Result<std::result::Result<Reverted, Ended>> {
    let down = m.down.as_ref().expect("checked by down_script");
    let start = Instant::now();
    let failure = match crate::guard::run_script(tx, down, reference) {
        Ok(()) => None,
        Err(crate::guard::Guarded::Ended(r, e)) => return Ok(Err((r, e))),
        Err(crate::guard::Guarded::Failed(f)) => Some(f),
    };
    failure
        .map_or(Ok(()), Err)
        .map_err(|failure| down_failed(m, failure, single, done))?;
    history::delete(tx, m.version)?;
    Ok(Ok(Reverted {
        version: m.version,
        name: m.name.clone(),
        path: down.path.clone(),
        duration: start.elapsed(),
    }))
}

/// The report when `m`'s down ended the runner's transaction. `before`: the migrations reverted
/// earlier in the same transaction; `all`: every migration the run set out to revert.
fn down_ended(
    c: &mut Client,
    m: &Migration,
    before: &[&Migration],
    all: &[&Migration],
    reference: i64,
    end: i64,
) -> Error {
    let down = m.down.as_ref().expect("checked by down_script");
    let held = (!before.is_empty()).then(|| {
        format!(
            "the reverts (down script and removal of the history row) of {}",
            before
                .iter()
                .map(|p| p.version_text.clone())
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    let (at, mut outcome) = crate::guard::describe(c, down, reference, end, held);
    outcome.push(match crate::guard::recorded_now(c) {
        Ok(rows) => {
            let (still, gone): (Vec<&&Migration>, Vec<&&Migration>) =
                all.iter().partition(|p| rows.contains(&p.version));
            let list = |v: &[&&Migration]| {
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.iter()
                        .map(|p| p.version_text.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            format!(
                "Of the migrations this run set out to revert, the history table now records as applied: {}; as reverted: {}. Nothing after it ran.",
                list(&still),
                list(&gone)
            )
        }
        Err(why) => format!("{why}. Nothing after it ran."),
    });
    outcome.push(crate::guard::advice(down));
    Error::TransactionEnded {
        version: m.version,
        shown: m.version_text.clone(),
        name: m.name.clone(),
        at,
        outcome: outcome.join("\n"),
    }
}

fn revert_no_transaction(c: &mut Client, m: &Migration, done: &[Reverted]) -> Result<Reverted> {
    let down = m.down.as_ref().expect("checked by down_script");
    let start = Instant::now();
    let sql = checksum::normalise(&down.sql);
    let statements = split::statements(&sql);
    for (n, st) in statements.iter().enumerate() {
        if let Err(e) = c.batch_execute(st.text) {
            return Err(Error::MigrationFailed {
                version: m.version,
                shown: m.version_text.clone(),
                name: m.name.clone(),
                failure: Box::new(pgerror::locate(&e, &down.path, &sql, st.char_offset)),
                outcome: format!(
                    "this down runs outside a transaction: {n} of its {} statement(s) stay committed and the migration is still recorded as applied; fix it and run again.{}",
                    statements.len(),
                    reverted_list(done)
                ),
            });
        }
    }
    history::delete(c, m.version)?;
    Ok(Reverted {
        version: m.version,
        name: m.name.clone(),
        path: down.path.clone(),
        duration: start.elapsed(),
    })
}

fn reverted_list(done: &[Reverted]) -> String {
    engine::version_list(done.iter().map(|d| d.version)).map_or(String::new(), |v| {
        format!(" Reverted and committed earlier in this run: {v}.")
    })
}
