//! A fast, normalised snapshot of a database's schema, read from the catalog in one query.
//!
//! `pg_dump` costs a process and 100+ ms per call; the reversibility walk takes two snapshots
//! per migration, so it compares these catalog snapshots instead and runs `pg_dump` only to
//! show a difference (see [`crate::reversibility`]). A snapshot is a sorted map from an
//! object's identity (`index public.users_email_key`) to its definition, as PostgreSQL's own
//! deparsers print it (`pg_get_indexdef`, `pg_get_functiondef`, `pg_get_viewdef`,
//! `pg_get_constraintdef`, `pg_get_triggerdef`, ...). No OIDs, no sequence values, no owners,
//! no privileges: what `pg_dump --schema-only --no-owner --no-privileges` would show.
//!
//! Covered: schemas, extensions, enum types (labels in order), domains and their constraints,
//! composite and range types, tables (persistence, options, partitioning, inheritance, row
//! security, replica identity), views and materialized views (their definition), sequences
//! (parameters, owner column), columns (type, NOT NULL, default, identity, generated, collation,
//! position), constraints, indexes (validity, clustering), triggers (enabled state), functions,
//! procedures and aggregates, rules, policies, extended statistics, event triggers, operators,
//! casts, collations and comments on any of them. Objects that belong to an extension are left
//! to the extension.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use postgres::GenericClient;

/// The catalog query's text, [`PRELUDE`] then the union of [`BRANCHES`], with `{NAME}`
/// placeholders for the scope (see [`query`]). `$1`: names of tables to leave out (bare `name` or `schema.name`). Every row is
/// `(key, value, order, owner kind, owner oid, object class, object oid)`; `order` sorts enum
/// labels, the owner is the object the row belongs to (see [`Owner`]), and the object is the
/// catalog row it prints (a column with a default: the default; a comment: none), by which
/// [`crate::incremental`] finds the owner of a dropped object. The change log of
/// [`crate::ddl_log`] (its schema and event triggers) is left out.
const PRELUDE: &str = r#"
WITH nsp AS (
    SELECT oid, nspname FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      AND nspname NOT LIKE 'pg\_temp\_%' AND nspname NOT LIKE 'pg\_toast\_temp\_%'
      AND nspname <> 'check_ddl_log'
),
rel AS (
    SELECT c.oid, c.relname, c.relkind, n.nspname, c.relpersistence, c.reloptions,
           c.relrowsecurity, c.relforcerowsecurity, c.relreplident, c.relispartition, c.relpartbound
    FROM pg_class c JOIN nsp n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
      AND NOT (c.relname = ANY($1) OR (n.nspname || '.' || c.relname) = ANY($1))
      AND NOT EXISTS (SELECT 1 FROM pg_depend ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid AND ext.deptype = 'e')
      AND {REL}
)
"#;

/// The first branch of the union, returning no row: it fixes the columns' types whichever
/// branches follow.
const HEADER: &str = "SELECT NULL::text, NULL::text, NULL::float8, NULL::text, NULL::oid, NULL::oid, NULL::oid WHERE false";

/// The branches of the union, each with the owner kind whose objects it prints (`*`: comments,
/// on objects of any kind). [`Scope::Owners`] leaves out the kinds it is not given.
const BRANCHES: [(u8, &str); 19] = [
    (
        b'n',
        r#"
SELECT 'schema ' || quote_ident(nspname), '', 0, 'n', oid, 'pg_namespace'::regclass::oid, oid FROM nsp WHERE {NSP}
"#,
    ),
    (
        b'x',
        r#"
SELECT 'extension ' || quote_ident(e.extname), 'schema ' || quote_ident(n.nspname), 0, 'x', e.oid, 'pg_extension'::regclass::oid, e.oid
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE {EXT}
"#,
    ),
    (
        b't',
        r#"
SELECT 'type ' || format('%I.%I', n.nspname, t.typname),
    CASE t.typtype
        WHEN 'e' THEN 'enum'
        WHEN 'd' THEN 'domain ' || format_type(t.typbasetype, t.typtypmod)
            || coalesce(' default ' || t.typdefault, '')
            || CASE WHEN t.typnotnull THEN ' not null' ELSE '' END
            || CASE WHEN t.typcollation <> 0 AND t.typcollation <> bt.typcollation
                    THEN ' collate ' || t.typcollation::regcollation::text ELSE '' END
        WHEN 'c' THEN 'composite'
        WHEN 'r' THEN 'range subtype ' || format_type(r.rngsubtype, NULL)
            || coalesce(' opclass ' || r.rngsubopc::regclass::text, '')
            || CASE WHEN r.rngcollation <> 0 THEN ' collate ' || r.rngcollation::regcollation::text ELSE '' END
            || CASE WHEN r.rngcanonical <> 0 THEN ' canonical ' || r.rngcanonical::regproc::text ELSE '' END
            || CASE WHEN r.rngsubdiff <> 0 THEN ' subdiff ' || r.rngsubdiff::regproc::text ELSE '' END
        ELSE 'base input ' || t.typinput::regproc::text || ' output ' || t.typoutput::regproc::text
            || ' length ' || t.typlen || ' align ' || t.typalign::text || ' storage ' || t.typstorage::text
    END, 0, 't', t.oid, 'pg_type'::regclass::oid, t.oid
FROM pg_type t
JOIN nsp n ON n.oid = t.typnamespace
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_range r ON r.rngtypid = t.oid
WHERE t.typtype IN ('b', 'c', 'd', 'e', 'r') AND {TYPE}
  AND (t.typtype <> 'c' OR EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))
  -- Not an array type (of the element type it names: an index lookup, not a scan).
  AND NOT (t.typelem <> 0 AND EXISTS (SELECT 1 FROM pg_type a WHERE a.oid = t.typelem AND a.typarray = t.oid))
  AND NOT EXISTS (SELECT 1 FROM pg_depend ext WHERE ext.classid = 'pg_type'::regclass AND ext.objid = t.oid AND ext.deptype = 'e')
"#,
    ),
    (
        b't',
        r#"
SELECT 'enum-label ' || format('%I.%I', n.nspname, t.typname), e.enumlabel, e.enumsortorder, 't', t.oid, 'pg_type'::regclass::oid, t.oid
FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN nsp n ON n.oid = t.typnamespace
WHERE {TYPE} AND NOT EXISTS (SELECT 1 FROM pg_depend ext WHERE ext.classid = 'pg_type'::regclass AND ext.objid = t.oid AND ext.deptype = 'e')
"#,
    ),
    (
        b'r',
        r#"
SELECT CASE rel.relkind
        WHEN 'r' THEN 'table ' WHEN 'p' THEN 'table ' WHEN 'v' THEN 'view '
        WHEN 'm' THEN 'materialized-view ' WHEN 'S' THEN 'sequence ' WHEN 'f' THEN 'foreign-table '
        ELSE 'composite ' END || format('%I.%I', rel.nspname, rel.relname),
    concat_ws(' ',
        CASE rel.relkind WHEN 'p' THEN 'partitioned by ' || pg_get_partkeydef(rel.oid) END,
        CASE WHEN rel.relpersistence = 'u' THEN 'unlogged' END,
        CASE WHEN rel.reloptions IS NOT NULL THEN 'with (' || array_to_string(rel.reloptions, ', ') || ')' END,
        CASE WHEN rel.relispartition THEN 'partition ' || pg_get_expr(rel.relpartbound, rel.oid) END,
        (SELECT 'inherits ' || string_agg(format('%I.%I', pn.nspname, pc.relname), ', ' ORDER BY i.inhseqno)
         FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace
         WHERE i.inhrelid = rel.oid),
        CASE WHEN rel.relrowsecurity THEN 'row level security' END,
        CASE WHEN rel.relforcerowsecurity THEN 'force row level security' END,
        CASE WHEN rel.relkind IN ('r', 'p', 'm') AND rel.relreplident <> 'd' THEN 'replica identity ' || rel.relreplident::text END,
        CASE WHEN rel.relkind = 'S' THEN (
            SELECT format('as %s start %s increment %s min %s max %s cache %s%s',
                format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
                CASE WHEN s.seqcycle THEN ' cycle' ELSE '' END)
            FROM pg_sequence s WHERE s.seqrelid = rel.oid)
            || coalesce((SELECT ' owned by ' || format('%I.%I.%I', on_.nspname, oc.relname, oa.attname)
                || CASE d.deptype WHEN 'i' THEN ' (identity)' ELSE '' END
                FROM pg_depend d
                JOIN pg_class oc ON oc.oid = d.refobjid
                JOIN pg_namespace on_ ON on_.oid = oc.relnamespace
                JOIN pg_attribute oa ON oa.attrelid = d.refobjid AND oa.attnum = d.refobjsubid
                WHERE d.classid = 'pg_class'::regclass AND d.objid = rel.oid
                  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                LIMIT 1), '') END,
        CASE WHEN rel.relkind IN ('v', 'm') THEN E'as\n' || pg_get_viewdef(rel.oid) END
    ), 0, 'r', rel.oid, 'pg_class'::regclass::oid, rel.oid
FROM rel
"#,
    ),
    (
        b'r',
        r#"
SELECT 'column ' || format('%I.%I.%I', rel.nspname, rel.relname, a.attname),
    concat_ws(' ',
        'position ' || row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
        format_type(a.atttypid, a.atttypmod),
        CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
             THEN 'collate ' || a.attcollation::regcollation::text END,
        CASE WHEN a.attnotnull THEN 'not null' END,
        CASE WHEN a.attgenerated = 's' THEN 'generated always as (' || pg_get_expr(d.adbin, d.adrelid) || ') stored'
             WHEN d.adbin IS NOT NULL THEN 'default ' || pg_get_expr(d.adbin, d.adrelid) END,
        CASE a.attidentity WHEN 'a' THEN 'generated always as identity' WHEN 'd' THEN 'generated by default as identity' END,
        CASE WHEN a.attstorage <> t.typstorage THEN 'storage ' || a.attstorage::text END,
        CASE WHEN NOT a.attislocal THEN 'inherited' END), 0, 'r', rel.oid,
    CASE WHEN d.oid IS NULL THEN 'pg_class'::regclass::oid ELSE 'pg_attrdef'::regclass::oid END, coalesce(d.oid, rel.oid)
FROM pg_attribute a
JOIN rel ON rel.oid = a.attrelid
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND rel.relkind <> 'S'
"#,
    ),
    (
        b'r',
        r#"
SELECT 'constraint ' || format('%I.%I.%I', rel.nspname, rel.relname, con.conname),
    pg_get_constraintdef(con.oid)
    || CASE WHEN NOT con.conislocal THEN ' inherited' ELSE '' END
    || CASE WHEN con.connoinherit THEN ' no inherit' ELSE '' END, 0, 'r', rel.oid, 'pg_constraint'::regclass::oid, con.oid
FROM pg_constraint con JOIN rel ON rel.oid = con.conrelid
"#,
    ),
    (
        b't',
        r#"
SELECT 'domain-constraint ' || format('%I.%I.%I', n.nspname, t.typname, con.conname),
    pg_get_constraintdef(con.oid), 0, 't', t.oid, 'pg_constraint'::regclass::oid, con.oid
FROM pg_constraint con JOIN pg_type t ON t.oid = con.contypid JOIN nsp n ON n.oid = t.typnamespace
WHERE {DOMCON}
"#,
    ),
    (
        b'r',
        r#"
SELECT 'index ' || format('%I.%I', n.nspname, ic.relname),
    pg_get_indexdef(i.indexrelid)
    || CASE WHEN i.indisclustered THEN ' clustered' ELSE '' END
    || CASE WHEN NOT i.indisvalid THEN ' INVALID' ELSE '' END
    || CASE WHEN i.indisreplident THEN ' replica identity' ELSE '' END, 0, 'r', rel.oid, 'pg_class'::regclass::oid, i.indexrelid
FROM pg_index i
JOIN rel ON rel.oid = i.indrelid
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN nsp n ON n.oid = ic.relnamespace
"#,
    ),
    (
        b'r',
        r#"
SELECT 'trigger ' || format('%I.%I.%I', rel.nspname, rel.relname, tg.tgname),
    pg_get_triggerdef(tg.oid) || CASE tg.tgenabled WHEN 'O' THEN '' ELSE ' enabled ' || tg.tgenabled::text END, 0, 'r', rel.oid, 'pg_trigger'::regclass::oid, tg.oid
FROM pg_trigger tg JOIN rel ON rel.oid = tg.tgrelid
WHERE NOT tg.tgisinternal
"#,
    ),
    (
        b'p',
        r#"
SELECT CASE p.prokind WHEN 'p' THEN 'procedure ' WHEN 'a' THEN 'aggregate ' ELSE 'function ' END
        || format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
    CASE WHEN p.prokind = 'a' THEN (
        SELECT format('sfunc %s stype %s finalfunc %s combinefunc %s initcond %s sortop %s',
            ag.aggtransfn::regproc, format_type(ag.aggtranstype, NULL), ag.aggfinalfn::regproc,
            ag.aggcombinefn::regproc, coalesce(ag.agginitval, 'null'), ag.aggsortop::regoperator)
        FROM pg_aggregate ag WHERE ag.aggfnoid = p.oid)
    ELSE pg_get_functiondef(p.oid) END, 0, 'p', p.oid, 'pg_proc'::regclass::oid, p.oid
FROM pg_proc p JOIN nsp n ON n.oid = p.pronamespace
WHERE {PROC} AND NOT EXISTS (SELECT 1 FROM pg_depend ext WHERE ext.classid = 'pg_proc'::regclass AND ext.objid = p.oid AND ext.deptype = 'e')
"#,
    ),
    (
        b'r',
        r#"
SELECT 'rule ' || format('%I.%I.%I', rel.nspname, rel.relname, r.rulename),
    pg_get_ruledef(r.oid) || CASE r.ev_enabled WHEN 'O' THEN '' ELSE ' enabled ' || r.ev_enabled::text END, 0, 'r', rel.oid, 'pg_rewrite'::regclass::oid, r.oid
FROM pg_rewrite r JOIN rel ON rel.oid = r.ev_class
WHERE r.rulename <> '_RETURN'
"#,
    ),
    (
        b'r',
        r#"
SELECT 'policy ' || format('%I.%I.%I', rel.nspname, rel.relname, pol.polname),
    concat_ws(' ',
        CASE WHEN pol.polpermissive THEN 'permissive' ELSE 'restrictive' END,
        'for ' || pol.polcmd::text,
        'to ' || (SELECT string_agg(CASE WHEN r = 0 THEN 'public' ELSE r::regrole::text END, ', ' ORDER BY 1)
                  FROM unnest(pol.polroles) AS r),
        'using (' || pg_get_expr(pol.polqual, pol.polrelid) || ')',
        'with check (' || pg_get_expr(pol.polwithcheck, pol.polrelid) || ')'), 0, 'r', rel.oid, 'pg_policy'::regclass::oid, pol.oid
FROM pg_policy pol JOIN rel ON rel.oid = pol.polrelid
"#,
    ),
    (
        b's',
        r#"
SELECT 'statistics ' || format('%I.%I', n.nspname, s.stxname), pg_get_statisticsobjdef(s.oid), 0, 's', s.oid, 'pg_statistic_ext'::regclass::oid, s.oid
FROM pg_statistic_ext s JOIN nsp n ON n.oid = s.stxnamespace
WHERE {STAT}
"#,
    ),
    (
        b'e',
        r#"
SELECT 'event-trigger ' || quote_ident(e.evtname),
    format('on %s execute %s enabled %s tags %s', e.evtevent, e.evtfoid::regproc, e.evtenabled::text,
        coalesce(array_to_string(e.evttags, ', '), '')), 0, 'e', e.oid, 'pg_event_trigger'::regclass::oid, e.oid
FROM pg_event_trigger e
WHERE {EVT} AND e.evtname NOT IN ('check_ddl_log_end', 'check_ddl_log_drop')
"#,
    ),
    (
        b'o',
        r#"
SELECT 'operator ' || format('%I.%s(%s, %s)', n.nspname, o.oprname,
        format_type(nullif(o.oprleft, 0), NULL), format_type(nullif(o.oprright, 0), NULL)),
    format('function %s commutator %s negator %s', o.oprcode::regproc, o.oprcom::regoperator, o.oprnegate::regoperator), 0, 'o', o.oid, 'pg_operator'::regclass::oid, o.oid
FROM pg_operator o JOIN nsp n ON n.oid = o.oprnamespace
WHERE {OPR} AND NOT EXISTS (SELECT 1 FROM pg_depend ext WHERE ext.classid = 'pg_operator'::regclass AND ext.objid = o.oid AND ext.deptype = 'e')
"#,
    ),
    (
        b'c',
        r#"
SELECT 'cast ' || format('(%s as %s)', format_type(c.castsource, NULL), format_type(c.casttarget, NULL)),
    format('function %s context %s method %s',
        CASE WHEN c.castfunc = 0 THEN '-' ELSE c.castfunc::regprocedure::text END, c.castcontext::text, c.castmethod::text), 0, 'c', c.oid, 'pg_cast'::regclass::oid, c.oid
FROM pg_cast c
WHERE c.oid >= 16384 AND {CAST}
  AND NOT EXISTS (SELECT 1 FROM pg_depend ext WHERE ext.classid = 'pg_cast'::regclass AND ext.objid = c.oid AND ext.deptype = 'e')
"#,
    ),
    (
        b'l',
        r#"
SELECT 'collation ' || format('%I.%I', n.nspname, c.collname),
    format('provider %s deterministic %s', c.collprovider::text, c.collisdeterministic), 0, 'l', c.oid, 'pg_collation'::regclass::oid, c.oid
FROM pg_collation c JOIN nsp n ON n.oid = c.collnamespace
WHERE {COLL} AND NOT EXISTS (SELECT 1 FROM pg_depend ext WHERE ext.classid = 'pg_collation'::regclass AND ext.objid = c.oid AND ext.deptype = 'e')
"#,
    ),
    (
        b'*',
        r#"
SELECT 'comment ' || o.type || ' ' || o.identity, d.description, 0, own.kind, own.oid, NULL::oid, NULL::oid
FROM pg_description d
CROSS JOIN LATERAL (SELECT {OWNER_KIND} AS kind, {OWNER_OID} AS oid) AS own
CROSS JOIN LATERAL pg_identify_object(d.classoid, d.objoid, d.objsubid) AS o
WHERE d.objoid >= 16384 AND {COMMENT}
  AND NOT EXISTS (SELECT 1 FROM pg_depend ext WHERE ext.classid = d.classoid AND ext.objid = d.objoid AND ext.deptype = 'e')
  AND NOT (d.classoid = 'pg_class'::regclass AND EXISTS (
      SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = d.objoid AND (c.relname = ANY($1) OR (n.nspname || '.' || c.relname) = ANY($1))))
"#,
    ),
];

/// The object a snapshot row belongs to: when anything about it changes, all its rows are read
/// again (see [`crate::incremental`]). `kind` is one of `n` (schema), `x` (extension), `t`
/// (type: its enum labels and domain constraints too), `r` (relation: its columns,
/// constraints, indexes, triggers, rules and policies too), `p` (function), `s` (statistics),
/// `e` (event trigger), `o` (operator), `c` (cast), `l` (collation), `D` (comments on objects of
/// any other class, oid 0); comments belong to their object's owner.
pub type Owner = (u8, u32);

/// The SQL expressions (kind, oid) of the [`Owner`] of the object `(class, obj)` (catalog oid
/// and object oid columns): a relation for its indexes, constraints, triggers, rules,
/// policies and defaults, a domain for its constraints. Used by the catalog query for comments
/// and by the incremental walk for dependents.
pub fn owner_sql(class: &str, obj: &str) -> (String, String) {
    let kind = format!(
        "CASE {class}
            WHEN 'pg_class'::regclass::oid THEN 'r' WHEN 'pg_attrdef'::regclass::oid THEN 'r'
            WHEN 'pg_trigger'::regclass::oid THEN 'r' WHEN 'pg_rewrite'::regclass::oid THEN 'r'
            WHEN 'pg_policy'::regclass::oid THEN 'r'
            WHEN 'pg_constraint'::regclass::oid THEN
                (SELECT CASE WHEN x.contypid <> 0 THEN 't' ELSE 'r' END FROM pg_constraint x WHERE x.oid = {obj})
            WHEN 'pg_type'::regclass::oid THEN 't' WHEN 'pg_proc'::regclass::oid THEN 'p'
            WHEN 'pg_namespace'::regclass::oid THEN 'n' WHEN 'pg_extension'::regclass::oid THEN 'x'
            WHEN 'pg_statistic_ext'::regclass::oid THEN 's' WHEN 'pg_event_trigger'::regclass::oid THEN 'e'
            WHEN 'pg_operator'::regclass::oid THEN 'o' WHEN 'pg_cast'::regclass::oid THEN 'c'
            WHEN 'pg_collation'::regclass::oid THEN 'l'
            ELSE 'D' END"
    );
    let oid = format!(
        "CASE {class}
            WHEN 'pg_class'::regclass::oid THEN coalesce((SELECT x.indrelid FROM pg_index x WHERE x.indexrelid = {obj}), {obj})
            WHEN 'pg_attrdef'::regclass::oid THEN (SELECT x.adrelid FROM pg_attrdef x WHERE x.oid = {obj})
            WHEN 'pg_trigger'::regclass::oid THEN (SELECT x.tgrelid FROM pg_trigger x WHERE x.oid = {obj})
            WHEN 'pg_rewrite'::regclass::oid THEN (SELECT x.ev_class FROM pg_rewrite x WHERE x.oid = {obj})
            WHEN 'pg_policy'::regclass::oid THEN (SELECT x.polrelid FROM pg_policy x WHERE x.oid = {obj})
            WHEN 'pg_constraint'::regclass::oid THEN
                (SELECT CASE WHEN x.contypid <> 0 THEN x.contypid ELSE x.conrelid END FROM pg_constraint x WHERE x.oid = {obj})
            WHEN 'pg_type'::regclass::oid THEN {obj} WHEN 'pg_proc'::regclass::oid THEN {obj}
            WHEN 'pg_namespace'::regclass::oid THEN {obj} WHEN 'pg_extension'::regclass::oid THEN {obj}
            WHEN 'pg_statistic_ext'::regclass::oid THEN {obj} WHEN 'pg_event_trigger'::regclass::oid THEN {obj}
            WHEN 'pg_operator'::regclass::oid THEN {obj} WHEN 'pg_cast'::regclass::oid THEN {obj}
            WHEN 'pg_collation'::regclass::oid THEN {obj}
            ELSE 0::oid END"
    );
    (kind, oid)
}

/// Which objects the catalog query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every object.
    All,
    /// The objects of the owners given as parameters `$2`..`$11` (one `oid[]` per kind, in
    /// the order of [`SCOPED_KINDS`]) and, when `$12` is true, the comments of kind `D`. The
    /// query holds only the parts for the kinds in the set: the parts for other kinds would
    /// find nothing, but the server would still prepare and start them at every call.
    Owners(Kinds),
}

/// The owner kinds of [`Scope::Owners`]'s parameters `$2`.., in order (`D`, comments on
/// objects of other classes, last: its parameter is a `bool`).
pub const SCOPED_KINDS: [u8; 11] = [
    b'r', b't', b'p', b'n', b'x', b's', b'e', b'o', b'c', b'l', b'D',
];

/// A set of [`SCOPED_KINDS`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Kinds(u16);

impl Kinds {
    /// The kinds of `owners` (kinds that are not in [`SCOPED_KINDS`] left out).
    pub fn of(owners: impl IntoIterator<Item = u8>) -> Self {
        Kinds(owners.into_iter().fold(0, |set, k| {
            set | SCOPED_KINDS
                .iter()
                .position(|s| *s == k)
                .map_or(0, |i| 1 << i)
        }))
    }

    /// Whether `kind` is in the set.
    pub fn contains(self, kind: u8) -> bool {
        SCOPED_KINDS
            .iter()
            .position(|s| *s == kind)
            .is_some_and(|i| self.0 & (1 << i) != 0)
    }
}

/// The parameter types of the [`Scope::Owners`] query (`$1`, the tables left out, then one
/// per [`SCOPED_KINDS`]), declared since a query without some kinds' parts does not use all.
pub fn owners_param_types() -> Vec<postgres::types::Type> {
    use postgres::types::Type;
    let mut types = vec![Type::TEXT_ARRAY];
    types.extend(SCOPED_KINDS.iter().map(|k| {
        if *k == b'D' {
            Type::BOOL
        } else {
            Type::OID_ARRAY
        }
    }));
    types
}

/// The comments a [`Scope::Owners`] query reads: those on the owners given (`kinds`) or on
/// their parts (a relation's constraints, triggers, rules, policies, indexes and defaults, a domain's
/// constraints: the comment names the part, the part belongs to the owner). Looked up by
/// object id, so their cost does not grow with the number of comments in the database.
fn owned_comments(kinds: Kinds) -> String {
    let param = |k: u8| SCOPED_KINDS.iter().position(|s| *s == k).unwrap() + 2;
    let (r, t) = (param(b'r'), param(b't'));
    let mut ids: Vec<String> = SCOPED_KINDS
        .iter()
        .filter(|k| **k != b'D' && kinds.contains(**k))
        .map(|k| format!("${}::oid[]", param(*k)))
        .collect();
    if kinds.contains(b'r') {
        ids.extend([
            format!("ARRAY(SELECT x.oid FROM pg_constraint x WHERE x.conrelid = ANY(${r}::oid[]))"),
            format!("ARRAY(SELECT x.oid FROM pg_trigger x WHERE x.tgrelid = ANY(${r}::oid[]))"),
            format!("ARRAY(SELECT x.oid FROM pg_rewrite x WHERE x.ev_class = ANY(${r}::oid[]))"),
            format!("ARRAY(SELECT x.oid FROM pg_policy x WHERE x.polrelid = ANY(${r}::oid[]))"),
            format!(
                "ARRAY(SELECT x.indexrelid FROM pg_index x WHERE x.indrelid = ANY(${r}::oid[]))"
            ),
            format!("ARRAY(SELECT x.oid FROM pg_attrdef x WHERE x.adrelid = ANY(${r}::oid[]))"),
        ]);
    }
    if kinds.contains(b't') {
        ids.push(format!(
            "ARRAY(SELECT x.oid FROM pg_constraint x WHERE x.contypid = ANY(${t}::oid[]))"
        ));
    }
    let ids = if ids.is_empty() {
        "'{}'::oid[]".to_string()
    } else {
        ids.join(" || ")
    };
    let owned = SCOPED_KINDS
        .iter()
        .filter(|k| **k != b'D' && kinds.contains(**k))
        .map(|k| {
            format!(
                "(own.kind = '{}' AND own.oid = ANY(${}::oid[]))",
                *k as char,
                param(*k)
            )
        })
        .collect::<Vec<_>>();
    let owned = if owned.is_empty() {
        "FALSE".to_string()
    } else {
        owned.join(" OR ")
    };
    let mut cond = format!("(d.objoid = ANY({ids}) AND ({owned}))");
    if kinds.contains(b'D') {
        cond = format!("({cond} OR (own.kind = 'D' AND ${}::bool))", param(b'D'));
    }
    cond
}

/// The catalog query for `scope`: `$1`, the tables left out, and for [`Scope::Owners`] the
/// owners' parameters (see [`owners_param_types`]).
pub fn query(scope: Scope) -> String {
    let (kind, oid) = owner_sql("d.classoid", "d.objoid");
    let kinds = match scope {
        Scope::All => None,
        Scope::Owners(k) => Some(k),
    };
    let filter = |column: &str, param: usize| match kinds {
        None => "TRUE".to_string(),
        Some(_) => format!("{column} = ANY(${param}::oid[])"),
    };
    let (comment, domain_constraints) = match kinds {
        None => ("TRUE".to_string(), "con.contypid <> 0".to_string()),
        Some(k) => (owned_comments(k), filter("con.contypid", 3)),
    };
    let mut sql = format!("{PRELUDE}\n{HEADER}");
    for (kind, branch) in BRANCHES {
        if kinds.is_none_or(|k| kind == b'*' || k.contains(kind)) {
            sql.push_str("\nUNION ALL\n");
            sql.push_str(branch);
        }
    }
    sql.replace("{REL}", &filter("c.oid", 2))
        .replace("{TYPE}", &filter("t.oid", 3))
        .replace("{DOMCON}", &domain_constraints)
        .replace("{PROC}", &filter("p.oid", 4))
        .replace("{NSP}", &filter("oid", 5))
        .replace("{EXT}", &filter("e.oid", 6))
        .replace("{STAT}", &filter("s.oid", 7))
        .replace("{EVT}", &filter("e.oid", 8))
        .replace("{OPR}", &filter("o.oid", 9))
        .replace("{CAST}", &filter("c.oid", 10))
        .replace("{COLL}", &filter("c.oid", 11))
        .replace("{COMMENT}", &comment)
        .replace("{OWNER_KIND}", &kind)
        .replace("{OWNER_OID}", &oid)
}

/// A schema snapshot: object identity → definition, plus every enum's labels in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// `kind schema.name[.sub]` → definition (multi-line for functions and views).
    pub objects: BTreeMap<String, String>,
    /// `schema.type` → its labels, in sort order.
    pub enums: BTreeMap<String, Vec<String>>,
}

/// One entry of a [`Snapshot`]: an object (its key in `objects`) or an enum's labels (its
/// key in `enums`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Entry {
    /// A key of [`Snapshot::objects`].
    Object(String),
    /// A key of [`Snapshot::enums`].
    Enum(String),
}

/// The rows of the catalog query as a snapshot, and which entries each owner has.
pub fn fold(rows: Vec<postgres::Row>) -> (Snapshot, HashMap<Owner, Vec<Entry>>) {
    let mut snap = Snapshot::default();
    let mut owners: HashMap<Owner, Vec<Entry>> = HashMap::new();
    // Per enum type: its owner and its (sort order, label) pairs.
    type Labels = (Option<Owner>, Vec<(f64, String)>);
    let mut labels: BTreeMap<String, Labels> = BTreeMap::new();
    for row in rows {
        let key: String = row.get(0);
        let value: Option<String> = row.get(1);
        let order: f64 = row.get(2);
        let owner = match (
            row.get::<_, Option<String>>(3),
            row.get::<_, Option<u32>>(4),
        ) {
            (Some(k), Some(o)) => k.bytes().next().map(|k| (k, o)),
            _ => None,
        };
        let value = value.unwrap_or_default();
        if let Some(ty) = key.strip_prefix("enum-label ") {
            let e = labels.entry(ty.to_string()).or_default();
            e.0 = e.0.or(owner);
            e.1.push((order, value));
        } else {
            if let Some(o) = owner {
                owners
                    .entry(o)
                    .or_default()
                    .push(Entry::Object(key.clone()));
            }
            snap.objects.insert(key, value);
        }
    }
    for (ty, (owner, mut l)) in labels {
        l.sort_by(|a, b| a.0.total_cmp(&b.0));
        if let Some(o) = owner {
            owners.entry(o).or_default().push(Entry::Enum(ty.clone()));
        }
        snap.enums
            .insert(ty, l.into_iter().map(|(_, label)| label).collect());
    }
    (snap, owners)
}

/// The catalog object `(class, oid)` each row of the catalog query prints, with its owner
/// (rows printing no object left out).
pub fn objects(rows: &[postgres::Row]) -> Vec<((u32, u32), Owner)> {
    rows.iter()
        .filter_map(|row| {
            let kind: Option<String> = row.get(3);
            let owner: Option<u32> = row.get(4);
            let class: Option<u32> = row.get(5);
            let obj: Option<u32> = row.get(6);
            Some(((class?, obj?), (kind?.bytes().next()?, owner?)))
        })
        .collect()
}

/// Takes snapshots on one connection, with the catalog query prepared once (planning it costs
/// about a quarter of running it).
///
/// The reversibility walk does not take whole snapshots per migration: it keeps one up to
/// date with [`crate::incremental::Tracker`], which reads only the objects whose catalog rows
/// changed.
#[derive(Debug)]
pub struct Snapshotter {
    statement: postgres::Statement,
    exclude: Vec<String>,
}

impl Snapshotter {
    /// Prepare the catalog query on `client`, leaving out the tables in `exclude` (bare or
    /// schema-qualified names: the migration history table).
    pub fn new(
        client: &mut impl GenericClient,
        exclude: &[String],
    ) -> Result<Self, postgres::Error> {
        Ok(Snapshotter {
            statement: client.prepare(&query(Scope::All))?,
            exclude: exclude.to_vec(),
        })
    }

    /// Take a snapshot through `client` (the connection it was prepared on).
    pub fn take(&self, client: &mut impl GenericClient) -> Result<Snapshot, postgres::Error> {
        Ok(self.take_owned(client)?.0)
    }

    /// [`Snapshotter::take`], with the entries of each owner.
    pub fn take_owned(
        &self,
        client: &mut impl GenericClient,
    ) -> Result<(Snapshot, HashMap<Owner, Vec<Entry>>), postgres::Error> {
        let rows = client.query(&self.statement, &[&self.exclude])?;
        Ok(fold(rows))
    }
}

/// Take one snapshot through `client` (see [`Snapshotter`] for many).
pub fn take(
    client: &mut impl GenericClient,
    exclude: &[String],
) -> Result<Snapshot, postgres::Error> {
    Snapshotter::new(client, exclude)?.take(client)
}

impl Snapshot {
    /// The snapshot as text, one object per entry (definitions indented below their key),
    /// sorted: what a diff of two snapshots is taken of.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (key, value) in &self.objects {
            let value = match key.strip_prefix("type ") {
                Some(ty) if value == "enum" => match self.enums.get(ty) {
                    Some(labels) => format!(
                        "enum ({})",
                        labels
                            .iter()
                            .map(|l| format!("'{}'", l.replace('\'', "''")))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    None => value.clone(),
                },
                _ => value.clone(),
            };
            let value = value.trim_end();
            if value.is_empty() {
                let _ = writeln!(out, "{key}");
            } else if value.contains('\n') {
                let _ = writeln!(out, "{key}:");
                for line in value.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            } else {
                let _ = writeln!(out, "{key}: {value}");
            }
        }
        out
    }

    /// Enum types, qualified, whose unqualified or qualified name is `name`.
    pub fn enum_types_named(&self, name: &str) -> Vec<&str> {
        self.enums
            .keys()
            .filter(|k| {
                k.as_str() == name || k.rsplit_once('.').is_some_and(|(_, bare)| bare == name)
            })
            .map(String::as_str)
            .collect()
    }
}
