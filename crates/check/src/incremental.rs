//! A catalog [`Snapshot`] kept up to date by reading only what changed: what makes the
//! reversibility walk linear in the number of migrations.
//!
//! A whole snapshot deparses every object, so it costs as much as the schema is large; taken
//! twice per migration, the walk would grow with the square of the chain. A [`Tracker`] holds
//! one snapshot in memory and, on [`Tracker::refresh`], reads again only the objects whose
//! catalog rows changed since the last refresh:
//!
//! 1. **Rows written.** The refresh before remembers the next transaction id of the cluster;
//!    every catalog row of this database whose `xmin` is that id or later was written since
//!    (one connection works in a walker's database, so nothing else writes to its catalogs).
//!    Each row maps to its [`Owner`]: a column, default, constraint, index, trigger, rule or
//!    policy to its relation, an enum label or domain constraint to its type, a comment to its
//!    object's owner, an extension membership or a sequence's `OWNED BY` to the member or the
//!    sequence.
//! 2. **Rows deleted** leave no row to see. For each tracked catalog the tracker keeps the
//!    identities of its rows (oid, or `attrelid.attnum`, ...) with their owners; the catalog's
//!    row count, compared with the rows known plus the new ones, tells whether any row was
//!    deleted, exactly; only then are that catalog's identities listed to find which (and
//!    their owners, from memory).
//! 3. **Dependents.** An object's definition also prints the names of the objects it refers
//!    to (a view its table's columns, a foreign key the referenced table, a column its type, a
//!    trigger its function, anything its schema). The owners of every object that depends
//!    (`pg_depend`) on a changed table, column, type, function, schema, constraint, operator
//!    or collation are read again too.
//! 4. The changed owners' rows are deparsed with the same catalog query restricted to them
//!    ([`crate::snapshot::Scope::Owners`]), and replace the owners' old entries.
//!
//! A change to the roles (`pg_authid`, shared by the cluster: policies print role names), to
//! the session's `search_path` (the deparsers qualify names by it) or an unusable
//! transaction-id window makes the refresh read the whole snapshot instead. The result equals
//! a whole snapshot taken at the same moment (the tests compare the two after each of many
//! kinds of change).
//!
//! # Without scanning: the change log
//!
//! Steps 1 and 2 scan every tracked catalog, which costs as much as the schema is large. A
//! tracker made with [`Tracker::with_ddl_log`] (the reversibility walk's) reads instead the
//! log of [`crate::ddl_log`]: the objects each command since the last refresh created or
//! altered (mapped to their owners in the database) and dropped (mapped to their owners from
//! memory: each snapshot row carries the catalog object it prints). Their dependents and
//! step 4 follow as above. What event triggers do not report is covered as follows:
//!
//! - `CLUSTER`, `REINDEX` (they change `pg_index` only), commands on event triggers (a
//!   migration's own, or one disabling the log's), roles and `DETACH PARTITION` (reported for
//!   the parent only): the small catalogs `pg_index`, `pg_event_trigger`, `pg_authid` and
//!   `pg_inherits` are scanned at every refresh as in steps 1 and 2;
//! - `GRANT`, `REVOKE`, `ALTER DEFAULT PRIVILEGES`, owners and security labels: the snapshot
//!   prints none of them;
//! - `CREATE EXTENSION` and `ALTER EXTENSION` (members come and go without being reported one
//!   by one) and a disabled log trigger: that refresh scans every catalog too, and counts a
//!   fallback in [`Counters::fallbacks`];
//! - direct writes to the catalogs (`UPDATE pg_class ...`) leave no trace at all: the caller
//!   asks for a scan of every catalog with [`Tracker::refresh_scanning`] (the walk does for
//!   scripts that name a catalog, [`names_a_catalog`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use postgres::GenericClient;

use crate::ddl_log;
use crate::snapshot::{self, Entry, Kinds, Owner, SCOPED_KINDS, Scope, Snapshot};

/// One tracked catalog: its name, a filter for the rows that matter, the identity of a row,
/// and the owner (kind, oid) and referenced object (class, oid) of a row (`NULL`: none). `c`
/// is the row.
struct Catalog {
    name: &'static str,
    filter: &'static str,
    ident: &'static str,
    kind: String,
    owner: String,
    ref_class: &'static str,
    ref_obj: &'static str,
}

fn catalogs() -> Vec<Catalog> {
    let simple =
        |name: &'static str, kind: char, owner: &'static str, filter: &'static str| Catalog {
            name,
            filter,
            ident: "c.oid::text",
            kind: format!("'{kind}'"),
            owner: owner.to_string(),
            ref_class: "NULL::oid",
            ref_obj: "NULL::oid",
        };
    let referenced = |mut c: Catalog, class: &'static str, obj: &'static str| {
        c.ref_class = class;
        c.ref_obj = obj;
        c
    };
    let keyed = |mut c: Catalog, ident: &'static str| {
        c.ident = ident;
        c
    };
    let (dep_kind, dep_owner) = snapshot::owner_sql("c.classid", "c.objid");
    let (com_kind, com_owner) = snapshot::owner_sql("c.classoid", "c.objoid");
    vec![
        referenced(
            simple("pg_namespace", 'n', "c.oid", "TRUE"),
            "'pg_namespace'::regclass::oid",
            "c.oid",
        ),
        referenced(
            simple("pg_extension", 'x', "c.oid", "TRUE"),
            "'pg_extension'::regclass::oid",
            "c.oid",
        ),
        referenced(
            simple("pg_type", 't', "c.oid", "c.oid >= 16384"),
            "'pg_type'::regclass::oid",
            "c.oid",
        ),
        // A label renamed changes the constants of that type in checks, defaults and views.
        referenced(
            simple("pg_enum", 't', "c.enumtypid", "c.oid >= 16384"),
            "'pg_type'::regclass::oid",
            "c.enumtypid",
        ),
        keyed(
            simple("pg_range", 't', "c.rngtypid", "c.rngtypid >= 16384"),
            "c.rngtypid::text",
        ),
        referenced(
            simple(
                "pg_class",
                'r',
                "CASE WHEN c.relkind IN ('i', 'I') THEN coalesce((SELECT x.indrelid FROM pg_index x WHERE x.indexrelid = c.oid), c.oid) ELSE c.oid END",
                "c.oid >= 16384",
            ),
            "'pg_class'::regclass::oid",
            "c.oid",
        ),
        referenced(
            keyed(
                simple(
                    "pg_attribute",
                    'r',
                    "c.attrelid",
                    "c.attrelid >= 16384 AND c.attnum > 0",
                ),
                "c.attrelid || '.' || c.attnum",
            ),
            "'pg_class'::regclass::oid",
            "c.attrelid",
        ),
        simple("pg_attrdef", 'r', "c.adrelid", "c.oid >= 16384"),
        referenced(
            Catalog {
                kind: "CASE WHEN c.contypid <> 0 THEN 't' ELSE 'r' END".into(),
                ..simple(
                    "pg_constraint",
                    'r',
                    "CASE WHEN c.contypid <> 0 THEN c.contypid ELSE c.conrelid END",
                    "c.oid >= 16384",
                )
            },
            "'pg_constraint'::regclass::oid",
            "c.oid",
        ),
        keyed(
            simple("pg_index", 'r', "c.indrelid", "c.indexrelid >= 16384"),
            "c.indexrelid::text",
        ),
        simple(
            "pg_trigger",
            'r',
            "c.tgrelid",
            "c.oid >= 16384 AND NOT c.tgisinternal",
        ),
        simple("pg_rewrite", 'r', "c.ev_class", "c.oid >= 16384"),
        simple("pg_policy", 'r', "c.polrelid", "c.oid >= 16384"),
        keyed(
            simple("pg_inherits", 'r', "c.inhrelid", "c.inhrelid >= 16384"),
            "c.inhrelid || '.' || c.inhseqno",
        ),
        keyed(
            simple("pg_sequence", 'r', "c.seqrelid", "c.seqrelid >= 16384"),
            "c.seqrelid::text",
        ),
        keyed(
            simple(
                "pg_partitioned_table",
                'r',
                "c.partrelid",
                "c.partrelid >= 16384",
            ),
            "c.partrelid::text",
        ),
        referenced(
            simple("pg_proc", 'p', "c.oid", "c.oid >= 16384"),
            "'pg_proc'::regclass::oid",
            "c.oid",
        ),
        keyed(
            simple("pg_aggregate", 'p', "c.aggfnoid", "c.aggfnoid >= 16384"),
            "c.aggfnoid::text",
        ),
        simple("pg_statistic_ext", 's', "c.oid", "c.oid >= 16384"),
        simple("pg_event_trigger", 'e', "c.oid", "c.oid >= 16384"),
        referenced(
            simple("pg_operator", 'o', "c.oid", "c.oid >= 16384"),
            "'pg_operator'::regclass::oid",
            "c.oid",
        ),
        simple("pg_cast", 'c', "c.oid", "c.oid >= 16384"),
        referenced(
            simple("pg_collation", 'l', "c.oid", "c.oid >= 16384"),
            "'pg_collation'::regclass::oid",
            "c.oid",
        ),
        Catalog {
            name: "pg_description",
            filter: "c.objoid >= 16384",
            ident: "c.objoid || '.' || c.classoid || '.' || c.objsubid",
            kind: com_kind,
            owner: com_owner,
            ref_class: "NULL::oid",
            ref_obj: "NULL::oid",
        },
        Catalog {
            // What the catalog query reads of pg_depend: extension membership and the
            // column a sequence (or an index) belongs to.
            name: "pg_depend",
            filter: "c.objid >= 16384 AND (c.deptype = 'e' OR (c.deptype IN ('a', 'i') \
                     AND c.classid = 'pg_class'::regclass AND c.refclassid = 'pg_class'::regclass \
                     AND c.refobjsubid > 0))",
            ident: "concat_ws('.', c.classid, c.objid, c.objsubid, c.refclassid, c.refobjid, c.refobjsubid, c.deptype)",
            kind: dep_kind.clone(),
            owner: dep_owner.clone(),
            ref_class: "NULL::oid",
            ref_obj: "NULL::oid",
        },
        // Objects of the classes no other owner covers: only their comments are printed,
        // under their names.
        simple("pg_am", 'D', "0::oid", "c.oid >= 16384"),
        simple("pg_conversion", 'D', "0::oid", "c.oid >= 16384"),
        simple("pg_opclass", 'D', "0::oid", "c.oid >= 16384"),
        simple("pg_opfamily", 'D', "0::oid", "c.oid >= 16384"),
        simple("pg_language", 'D', "0::oid", "c.oid >= 16384"),
        simple("pg_foreign_data_wrapper", 'D', "0::oid", "c.oid >= 16384"),
        simple("pg_foreign_server", 'D', "0::oid", "c.oid >= 16384"),
        simple("pg_publication", 'D', "0::oid", "c.oid >= 16384"),
        simple("pg_ts_config", 'D', "0::oid", "c.oid >= 16384"),
        simple("pg_ts_dict", 'D', "0::oid", "c.oid >= 16384"),
        simple("pg_ts_parser", 'D', "0::oid", "c.oid >= 16384"),
        simple("pg_ts_template", 'D', "0::oid", "c.oid >= 16384"),
        simple("pg_transform", 'D', "0::oid", "c.oid >= 16384"),
        simple("pg_largeobject_metadata", 'D', "0::oid", "c.oid >= 16384"),
        // Roles: shared by the cluster, so any change reads the whole snapshot again.
        simple("pg_authid", 'A', "0::oid", "TRUE"),
    ]
}

/// The catalogs whose changes event triggers do not report, scanned at every refresh even
/// with a change log: `CLUSTER` and `REINDEX` change `pg_index` only, commands on event
/// triggers are not reported, roles are shared by the cluster, and `DETACH PARTITION` is
/// reported for the parent only (the partition, which prints its parent, no longer depends on
/// it). All are small.
const UNREPORTED: [&str; 4] = ["pg_index", "pg_event_trigger", "pg_authid", "pg_inherits"];

/// The owner of the comments on objects of the classes no other owner covers (a text search
/// configuration, a foreign server, ...).
const MISC: Owner = (b'D', 0);

/// The tracked catalogs shared by the cluster (not this database's to vacuum).
const SHARED: [&str; 1] = ["pg_authid"];

/// Whether `sql` names one of the catalogs a snapshot is read from (`pg_class`,
/// `pg_attribute`, ...; case-insensitive): a script writing to one directly leaves no trace
/// in the change log, so [`Tracker::refresh_scanning`] must bring the snapshot up to date.
pub fn names_a_catalog(sql: &str) -> bool {
    let sql = sql.to_ascii_lowercase();
    sql.contains("pg_catalog") || catalogs().iter().any(|c| sql.contains(c.name))
}

/// The next transaction id, the `search_path` and how many of the change log's triggers are
/// enabled.
fn mark_query() -> String {
    format!(
        "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint, current_setting('search_path'),
             (SELECT count(*) FROM pg_event_trigger WHERE evtname IN ('{}', '{}') AND evtenabled <> 'D')::int8",
        ddl_log::TRIGGERS[0],
        ddl_log::TRIGGERS[1]
    )
}

/// Whether the `xmin` of `c` is `$1` (the low 32 bits of a transaction id, never one of the
/// special ids 0 to 2) or later, as PostgreSQL compares them (modulo 2^32: `age` counts back
/// from the next transaction id, and a frozen row is infinitely old), or `$2` (every row).
/// Comparing ages costs a fraction of converting each `xmin` to a number.
const WRITTEN_SINCE: &str = "($2 OR age(c.xmin) <= (SELECT age($1::int8::text::xid)))";

/// The rows query: per catalog (only those in `$3`, when not `NULL`), its row count and the
/// identity, owner and referenced object of each row written since `$1` (every row with `$2`).
fn rows_query(only: Option<&[&str]>) -> String {
    catalogs()
        .iter()
        .filter(|c| only.is_none_or(|o| o.contains(&c.name)))
        .map(|c| {
            let agg = |e: &str, ty: &str| {
                format!("coalesce(array_agg({e}) FILTER (WHERE w.w), '{{}}'::{ty}[])")
            };
            format!(
                "SELECT '{name}'::text, count(*), {ident}, {kind}, {owner}, {rc}, {ro}\n\
                 FROM {name} c CROSS JOIN LATERAL (SELECT {WRITTEN_SINCE} AS w) AS w\n\
                 WHERE {filter} AND ($3::text[] IS NULL OR '{name}' = ANY($3))",
                name = c.name,
                filter = c.filter,
                ident = agg(c.ident, "text"),
                kind = agg(&format!("({})::text", c.kind), "text"),
                owner = agg(&format!("({})::oid", c.owner), "oid"),
                rc = agg(&format!("({})::oid", c.ref_class), "oid"),
                ro = agg(&format!("({})::oid", c.ref_obj), "oid"),
            )
        })
        .collect::<Vec<_>>()
        .join("\nUNION ALL\n")
}

/// The owners of the objects that depend on the objects `($1[i], $2[i])` (class, oid).
///
/// An object's parts (internal dependencies: a table's row type, a type's array type, a
/// composite type's relation) carry its name, so they count as changed with it, and so do
/// the objects that depend on any of them (a column of the table's row type, or of an array
/// of a renamed enum). Likewise the parts of a dependent: a composite type's relation prints
/// the schema its type depends on.
fn dependents_query() -> String {
    let (kind, owner) = snapshot::owner_sql("d.classid", "d.objid");
    format!(
        "WITH RECURSIVE changed(classid, objid) AS (
             SELECT refclass, refobj FROM unnest($1::oid[], $2::oid[]) AS r(refclass, refobj)
             UNION
             SELECT x.classid, x.objid
             FROM changed JOIN pg_depend x ON x.refclassid = changed.classid AND x.refobjid = changed.objid
             WHERE x.deptype = 'i'
         ), dependent(classid, objid) AS (
             SELECT x.classid, x.objid
             FROM changed JOIN pg_depend x ON x.refclassid = changed.classid AND x.refobjid = changed.objid
             WHERE x.deptype <> 'e'
             UNION
             SELECT x.classid, x.objid
             FROM dependent JOIN pg_depend x ON x.refclassid = dependent.classid AND x.refobjid = dependent.objid
             WHERE x.deptype = 'i'
         )
         SELECT DISTINCT ({kind})::text, ({owner})::oid
         FROM (SELECT * FROM changed UNION SELECT * FROM dependent) AS d"
    )
}

/// A value before and after a change (`None`: absent).
pub type Change<T> = (Option<T>, Option<T>);

/// What a refresh changed: each changed key with its value before and after.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Changed objects.
    pub objects: BTreeMap<String, Change<String>>,
    /// Changed enum types' labels.
    pub enums: BTreeMap<String, Change<Vec<String>>>,
}

impl Changes {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty() && self.enums.is_empty()
    }

    /// The snapshot before the changes, given the one after them.
    pub fn revert(&self, after: &Snapshot) -> Snapshot {
        let mut before = after.clone();
        for (k, (old, _)) in &self.objects {
            match old {
                Some(v) => before.objects.insert(k.clone(), v.clone()),
                None => before.objects.remove(k),
            };
        }
        for (k, (old, _)) in &self.enums {
            match old {
                Some(v) => before.enums.insert(k.clone(), v.clone()),
                None => before.enums.remove(k),
            };
        }
        before
    }

    /// Two partial snapshots, before and after, holding the changed entries and every enum
    /// type of `after` (unchanged ones on both sides): equal exactly when the whole
    /// snapshots are, and enough for [`crate::reversibility::compare`] to judge declared enum
    /// values.
    pub fn sides(&self, after: &Snapshot) -> (Snapshot, Snapshot) {
        let mut b = Snapshot {
            objects: BTreeMap::new(),
            enums: after.enums.clone(),
        };
        let mut a = b.clone();
        for (k, (old, new)) in &self.objects {
            if let Some(v) = old {
                b.objects.insert(k.clone(), v.clone());
            }
            if let Some(v) = new {
                a.objects.insert(k.clone(), v.clone());
            }
        }
        for (k, (old, _)) in &self.enums {
            match old {
                Some(v) => b.enums.insert(k.clone(), v.clone()),
                None => b.enums.remove(k),
            };
        }
        (b, a)
    }
}

/// Statistics of the refreshes (for the bench and the tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Refreshes done.
    pub refreshes: usize,
    /// Refreshes that read the whole snapshot.
    pub whole: usize,
    /// Owners read again, in all.
    pub owners: usize,
    /// Catalogs listed whole to find deleted rows.
    pub listed: usize,
    /// Refreshes that read the change log ([`Tracker::with_ddl_log`]) instead of scanning.
    pub logged: usize,
    /// Of those, refreshes where the log could not tell what changed, so every catalog was
    /// scanned too (a command event triggers do not report in full, or
    /// [`Tracker::refresh_scanning`]).
    pub fallbacks: usize,
}

/// A snapshot kept up to date on one connection (see the module documentation).
pub struct Tracker {
    whole: postgres::Statement,
    /// The catalog query for the owners of each set of kinds met so far, prepared when first
    /// needed.
    scoped: HashMap<Kinds, postgres::Statement>,
    rows: postgres::Statement,
    /// The rows query over [`UNREPORTED`] only.
    rows_unreported: postgres::Statement,
    dependents: postgres::Statement,
    mark: postgres::Statement,
    /// The change log's query, when the tracker reads one ([`Tracker::with_ddl_log`]).
    log: Option<postgres::Statement>,
    exclude: Vec<String>,
    /// Each catalog object a snapshot row prints → its owner: the owner of a dropped object
    /// (its rows are gone when the log reports it).
    objects: HashMap<(u32, u32), Owner>,
    /// `search_path` when the snapshot was read: the deparsers qualify names by it.
    search_path: String,
    snap: Snapshot,
    entries: HashMap<Owner, Vec<Entry>>,
    /// Per catalog: row identity → owner (`None`: a row with no owner, e.g. a comment on an
    /// object that no longer exists).
    known: HashMap<String, HashMap<String, Option<Owner>>>,
    /// The next transaction id when the snapshot was read.
    since: i64,
    /// Whether `known` missed changes (the log was read instead): the next scan of every
    /// catalog lists them whole.
    known_stale: bool,
    counters: Counters,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("objects", &self.snap.objects.len())
            .field("since", &self.since)
            .field("counters", &self.counters)
            .finish()
    }
}

/// What a look at the catalogs found: the owners to read again, and the objects (class, oid)
/// whose dependents must be read again too.
type Found = (HashSet<Owner>, Vec<(u32, u32)>);

type Listing = Vec<(
    String,
    i64,
    Vec<String>,
    Vec<Option<Owner>>,
    Vec<(u32, u32)>,
)>;

impl Tracker {
    /// Prepare the queries on `client` and read the whole snapshot, leaving out the tables in
    /// `exclude` (as [`crate::snapshot::Snapshotter::new`]).
    pub fn new(
        client: &mut impl GenericClient,
        exclude: &[String],
    ) -> Result<Self, postgres::Error> {
        let mut t = Tracker {
            whole: client.prepare(&snapshot::query(Scope::All))?,
            scoped: HashMap::new(),
            rows: client.prepare(&rows_query(None))?,
            rows_unreported: client.prepare(&rows_query(Some(&UNREPORTED)))?,
            dependents: client.prepare(&dependents_query())?,
            mark: client.prepare(&mark_query())?,
            log: None,
            exclude: exclude.to_vec(),
            objects: HashMap::new(),
            search_path: String::new(),
            snap: Snapshot::default(),
            entries: HashMap::new(),
            known: HashMap::new(),
            since: 0,
            known_stale: false,
            counters: Counters::default(),
        };
        t.read_whole(client)?;
        Ok(t)
    }

    /// The snapshot as of the last refresh.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snap
    }

    /// What the refreshes did so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// [`Tracker::new`], reading the changes from a log written by event triggers
    /// ([`crate::ddl_log`], installed here: a scratch database's superuser connection) instead
    /// of scanning the catalogs: a refresh then costs what changed, whatever the size of the
    /// schema. Call [`Tracker::uninstall`] before the database is dumped or handed on.
    pub fn with_ddl_log(
        client: &mut impl GenericClient,
        exclude: &[String],
    ) -> Result<Self, postgres::Error> {
        ddl_log::install(client)?;
        // The catalog queries' estimates (an unlogged log has no statistics) pass
        // jit_above_cost: compiling them would cost more than running them, every time.
        // Planning the catalog query for the owners at hand costs several times running it:
        // its generic plan serves every refresh. A generic plan does not know how few owners
        // it gets, and would scan small catalogs whole and hash them: the index lookups it
        // should make are the only plans left to it (reading a whole snapshot this way costs
        // about a tenth more). These settings belong to this session: the walk gives the
        // tracker a connection of its own.
        client.batch_execute(
            "SET jit = off; SET plan_cache_mode = force_generic_plan;
             SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off",
        )?;
        let mut t = Tracker::new(client, exclude)?;
        t.log = Some(client.prepare(&ddl_log::take_query())?);
        client.batch_execute("DELETE FROM check_ddl_log.log")?;
        Ok(t)
    }

    /// Vacuum the tracked catalogs of this database (and the change log): reclaim the dead
    /// rows that creating and dropping the same objects again and again leaves behind. A
    /// walk of a thousand migrations leaves tens of thousands of them, and every catalog scan
    /// and index lookup of the refreshes, the migrations' own DDL too, would otherwise slow
    /// down with every step walked. Cheap when run every few dozen steps: vacuum skips the
    /// pages no step touched.
    pub fn vacuum(&self, client: &mut impl GenericClient) -> Result<(), postgres::Error> {
        let mut tables: Vec<String> = catalogs()
            .iter()
            .filter(|c| !SHARED.contains(&c.name))
            .map(|c| c.name.to_string())
            .collect();
        if self.log.is_some() {
            tables.push(format!("{}.log", ddl_log::SCHEMA));
        }
        client.batch_execute(&format!("VACUUM {}", tables.join(", ")))
    }

    /// Remove the change log from the database; later refreshes scan the catalogs.
    pub fn uninstall(&mut self, client: &mut impl GenericClient) -> Result<(), postgres::Error> {
        if self.log.take().is_some() {
            ddl_log::uninstall(client)?;
        }
        Ok(())
    }

    /// The next transaction id, the `search_path` and how many of the log's triggers are
    /// enabled.
    fn mark(&self, client: &mut impl GenericClient) -> Result<(i64, String, i64), postgres::Error> {
        let row = client.query_one(&self.mark, &[])?;
        Ok((row.get(0), row.get(1), row.get(2)))
    }

    fn list(
        &self,
        client: &mut impl GenericClient,
        all: bool,
        only: Option<Vec<String>>,
    ) -> Result<Listing, postgres::Error> {
        let low = self.since.rem_euclid(1 << 32);
        let unreported = only
            .as_ref()
            .is_some_and(|o| o.iter().all(|n| UNREPORTED.contains(&n.as_str())));
        let statement = if unreported {
            &self.rows_unreported
        } else {
            &self.rows
        };
        let rows = client.query(statement, &[&low, &all, &only])?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let kinds: Vec<Option<String>> = r.get(3);
                let owners: Vec<Option<u32>> = r.get(4);
                let rc: Vec<Option<u32>> = r.get(5);
                let ro: Vec<Option<u32>> = r.get(6);
                let owners = kinds
                    .into_iter()
                    .zip(owners)
                    .map(|(k, o)| Some((k?.bytes().next()?, o?)))
                    .collect();
                let refs = rc
                    .into_iter()
                    .zip(ro)
                    .filter_map(|(c, o)| Some((c?, o?)))
                    .collect();
                (r.get(0), r.get(1), r.get(2), owners, refs)
            })
            .collect())
    }

    fn read_whole(&mut self, client: &mut impl GenericClient) -> Result<(), postgres::Error> {
        let (since, search_path, _) = self.mark(client)?;
        let rows = client.query(&self.whole, &[&self.exclude])?;
        self.objects = snapshot::objects(&rows).into_iter().collect();
        let (snap, entries) = snapshot::fold(rows);
        self.snap = snap;
        self.entries = entries;
        self.known_stale = false;
        self.known = self
            .list(client, true, None)?
            .into_iter()
            .map(|(name, _, idents, owners, _)| (name, idents.into_iter().zip(owners).collect()))
            .collect();
        self.since = since;
        self.search_path = search_path;
        self.counters.whole += 1;
        Ok(())
    }

    /// Bring the snapshot up to date with the database, reading only what changed since the
    /// last refresh (or [`Tracker::new`]); returns what changed.
    pub fn refresh(&mut self, client: &mut impl GenericClient) -> Result<Changes, postgres::Error> {
        self.refresh_with(client, false)
    }

    /// [`Tracker::refresh`], scanning every catalog even when a change log is read: for
    /// changes no event trigger reports (a script writing to the catalogs directly).
    pub fn refresh_scanning(
        &mut self,
        client: &mut impl GenericClient,
    ) -> Result<Changes, postgres::Error> {
        self.refresh_with(client, true)
    }

    fn refresh_with(
        &mut self,
        client: &mut impl GenericClient,
        force_scan: bool,
    ) -> Result<Changes, postgres::Error> {
        self.counters.refreshes += 1;
        let (now, search_path, triggers) = self.mark(client)?;
        if now - self.since >= 1 << 31 || search_path != self.search_path {
            return self.refresh_whole(client);
        }
        let (mut dirty, refs) = match &self.log {
            None if self.known_stale => self.rescan(client)?,
            None => self.scan(client, None)?,
            Some(_) => {
                // Both triggers must have been there and enabled all along; a migration that
                // disabled one shows in pg_event_trigger, scanned below.
                self.logged(
                    client,
                    force_scan || triggers != ddl_log::TRIGGERS.len() as i64,
                )?
            }
        };
        if dirty.iter().any(|(k, _)| *k == b'A') {
            return self.refresh_whole(client);
        }
        if !refs.is_empty() {
            let (classes, objs): (Vec<u32>, Vec<u32>) = refs.into_iter().unzip();
            for row in client.query(&self.dependents, &[&classes, &objs])? {
                let kind: Option<String> = row.get(0);
                let oid: Option<u32> = row.get(1);
                if let (Some(k), Some(o)) = (kind.and_then(|k| k.bytes().next()), oid) {
                    dirty.insert((k, o));
                }
            }
        }
        let mut changes = Changes::default();
        if !dirty.is_empty() {
            // A scan cannot tell which comments on objects of other classes (`D`) changed
            // names: they are read again whenever anything changed. The log names those
            // objects, and `logged` marks `D` itself.
            if self.log.is_none() {
                dirty.insert(MISC);
            }
            self.counters.owners += dirty.len();
            self.reread(client, &dirty, &mut changes)?;
        }
        self.since = now;
        Ok(changes)
    }

    /// The owners whose rows were written or deleted since the last refresh in the catalogs
    /// `only` (all: `None`), found by scanning them, and the objects whose dependents must be
    /// read again.
    fn scan(
        &mut self,
        client: &mut impl GenericClient,
        only: Option<Vec<String>>,
    ) -> Result<Found, postgres::Error> {
        let written = self.list(client, false, only.clone())?;
        let mut dirty: HashSet<Owner> = HashSet::new();
        let mut refs: Vec<(u32, u32)> = Vec::new();
        let mut deleted_in = Vec::new();
        // The query answers a row (count 0) for the catalogs left out too.
        let asked = |name: &String| only.as_ref().is_none_or(|o| o.contains(name));
        for (name, count, idents, owners, r) in written.into_iter().filter(|w| asked(&w.0)) {
            let known = self.known.entry(name.clone()).or_default();
            let mut new = 0i64;
            for (ident, owner) in idents.iter().zip(&owners) {
                match known.get(ident) {
                    Some(old) => dirty.extend(*old),
                    None => new += 1,
                }
                dirty.extend(*owner);
            }
            refs.extend(r);
            if known.len() as i64 + new != count {
                deleted_in.push(name);
            } else {
                known.extend(idents.into_iter().zip(owners));
            }
        }
        if !deleted_in.is_empty() {
            self.counters.listed += deleted_in.len();
            let listed = self.list(client, true, Some(deleted_in.clone()))?;
            for (name, _, idents, owners, _) in listed {
                if !deleted_in.contains(&name) {
                    continue;
                }
                let now: HashMap<String, Option<Owner>> = idents.into_iter().zip(owners).collect();
                let known = self.known.entry(name).or_default();
                for (ident, owner) in known.iter() {
                    if !now.contains_key(ident) {
                        dirty.extend(*owner);
                    }
                }
                *known = now;
            }
        }
        Ok((dirty, refs))
    }

    /// The owners to read again according to the change log, plus a scan of the catalogs
    /// whose changes no event trigger reports; every catalog is scanned too when the log
    /// cannot tell (or `scan_all`).
    fn logged(
        &mut self,
        client: &mut impl GenericClient,
        mut scan_all: bool,
    ) -> Result<Found, postgres::Error> {
        self.counters.logged += 1;
        self.known_stale = true;
        let take = self.log.as_ref().expect("called with a log");
        let rows = client.query(take, &[])?;
        let mut dirty: HashSet<Owner> = HashSet::new();
        let mut refs: Vec<(u32, u32)> = Vec::new();
        // Whole objects dropped since the last refresh: an entry creating or altering one
        // of them names nothing that exists now.
        let gone: HashSet<(u32, u32)> = rows
            .iter()
            .filter(|row| row.get::<_, bool>(3) && row.get::<_, Option<i32>>(6) == Some(0))
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        for row in rows {
            let object: (u32, u32) = (row.get(0), row.get(1));
            let tag: Option<String> = row.get(2);
            let dropped: bool = row.get(3);
            // Extension members come and go without being reported one by one.
            if tag.is_some_and(|t| t.contains("EXTENSION")) {
                scan_all = true;
            }
            // The owner known from the snapshot (a dropped object's only trace).
            dirty.extend(self.objects.get(&object).copied());
            let kind: Option<String> = row.get(4);
            if dropped {
                // An object of another class: its comment, if any, is gone.
                if kind.as_deref() == Some("D") {
                    dirty.insert(MISC);
                }
                continue;
            }
            let owner: Option<u32> = row.get(5);
            if !gone.contains(&object)
                && let (Some(k), Some(o)) = (kind.and_then(|k| k.bytes().next()), owner)
            {
                dirty.insert((k, o));
                refs.push(object);
            }
        }
        // Not reported by event triggers (see UNREPORTED).
        let (more, more_refs) = self.scan(client, Some(UNREPORTED.map(str::to_string).to_vec()))?;
        dirty.extend(more);
        refs.extend(more_refs);
        if scan_all {
            self.counters.fallbacks += 1;
            dirty.insert(MISC);
            let (more, more_refs) = self.rescan(client)?;
            dirty.extend(more);
            refs.extend(more_refs);
        }
        Ok((dirty, refs))
    }

    /// Scan every catalog and rebuild the row identities known (reading the log leaves them
    /// behind): the owners of rows written since the last refresh, and of rows that appeared
    /// or disappeared since they were last listed.
    fn rescan(&mut self, client: &mut impl GenericClient) -> Result<Found, postgres::Error> {
        let mut dirty: HashSet<Owner> = HashSet::new();
        let mut refs: Vec<(u32, u32)> = Vec::new();
        for (name, _, idents, owners, r) in self.list(client, false, None)? {
            let known = self.known.entry(name).or_default();
            for (ident, owner) in idents.iter().zip(&owners) {
                dirty.extend(known.get(ident).copied().flatten());
                dirty.extend(*owner);
            }
            refs.extend(r);
        }
        for (name, _, idents, owners, _) in self.list(client, true, None)? {
            let now: HashMap<String, Option<Owner>> = idents.into_iter().zip(owners).collect();
            let known = self.known.entry(name).or_default();
            for (ident, owner) in known.iter() {
                if now.get(ident) != Some(owner) {
                    dirty.extend(*owner);
                }
            }
            for (ident, owner) in &now {
                if known.get(ident) != Some(owner) {
                    dirty.extend(*owner);
                }
            }
            *known = now;
        }
        self.counters.listed += self.known.len();
        self.known_stale = false;
        Ok((dirty, refs))
    }

    fn refresh_whole(
        &mut self,
        client: &mut impl GenericClient,
    ) -> Result<Changes, postgres::Error> {
        let before = std::mem::take(&mut self.snap);
        self.read_whole(client)?;
        let mut changes = Changes::default();
        for (k, v) in &before.objects {
            if self.snap.objects.get(k) != Some(v) {
                changes.objects.insert(
                    k.clone(),
                    (Some(v.clone()), self.snap.objects.get(k).cloned()),
                );
            }
        }
        for (k, v) in &self.snap.objects {
            if !before.objects.contains_key(k) {
                changes.objects.insert(k.clone(), (None, Some(v.clone())));
            }
        }
        for (k, v) in &before.enums {
            if self.snap.enums.get(k) != Some(v) {
                changes.enums.insert(
                    k.clone(),
                    (Some(v.clone()), self.snap.enums.get(k).cloned()),
                );
            }
        }
        for (k, v) in &self.snap.enums {
            if !before.enums.contains_key(k) {
                changes.enums.insert(k.clone(), (None, Some(v.clone())));
            }
        }
        Ok(changes)
    }

    /// Read the entries of `dirty` again and put them in place of their old ones.
    fn reread(
        &mut self,
        client: &mut impl GenericClient,
        dirty: &HashSet<Owner>,
        changes: &mut Changes,
    ) -> Result<(), postgres::Error> {
        let mut by_kind: Vec<Vec<u32>> = vec![Vec::new(); SCOPED_KINDS.len()];
        for (k, o) in dirty {
            if let Some(i) = SCOPED_KINDS.iter().position(|s| s == k) {
                by_kind[i].push(*o);
            }
        }
        let with_misc = dirty.contains(&MISC);
        let kinds = Kinds::of(dirty.iter().map(|(k, _)| *k));
        let statement = match self.scoped.get(&kinds) {
            Some(s) => s.clone(),
            None => {
                let s = client.prepare_typed(
                    &snapshot::query(Scope::Owners(kinds)),
                    &snapshot::owners_param_types(),
                )?;
                self.scoped.insert(kinds, s.clone());
                s
            }
        };
        let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![&self.exclude];
        for ids in &by_kind[..SCOPED_KINDS.len() - 1] {
            params.push(ids);
        }
        params.push(&with_misc);
        let rows = client.query(&statement, &params)?;
        self.objects.extend(snapshot::objects(&rows));
        let (fresh, entries) = snapshot::fold(rows);
        let snap = &mut self.snap;
        for owner in dirty {
            for e in self.entries.remove(owner).unwrap_or_default() {
                match e {
                    Entry::Object(k) => {
                        if let Some(v) = snap.objects.remove(&k) {
                            changes.objects.entry(k).or_insert((Some(v), None));
                        }
                    }
                    Entry::Enum(k) => {
                        if let Some(v) = snap.enums.remove(&k) {
                            changes.enums.entry(k).or_insert((Some(v), None));
                        }
                    }
                }
            }
        }
        for (owner, es) in entries {
            for e in &es {
                match e {
                    Entry::Object(k) => {
                        let v = fresh.objects[k].clone();
                        let old = snap.objects.insert(k.clone(), v.clone());
                        let c = changes.objects.entry(k.clone()).or_insert((old, None));
                        c.1 = Some(v);
                    }
                    Entry::Enum(k) => {
                        let v = fresh.enums[k].clone();
                        let old = snap.enums.insert(k.clone(), v.clone());
                        let c = changes.enums.entry(k.clone()).or_insert((old, None));
                        c.1 = Some(v);
                    }
                }
            }
            self.entries.insert(owner, es);
        }
        changes.objects.retain(|_, (a, b)| a != b);
        changes.enums.retain(|_, (a, b)| a != b);
        Ok(())
    }
}
