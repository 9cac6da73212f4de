//! `pg_dump --schema-only`, normalised to be deterministic and diffable.
//!
//! Normalisation works on statements found by the tokenizer, never on raw lines, so a
//! function body is copied byte for byte whatever it contains. It:
//! - drops psql meta-commands (`\restrict KEY` / `\unrestrict KEY`, written with a random key
//!   by pg_dump 15.14+ and 16.10+);
//! - drops pg_dump's header and trailer comments (server and pg_dump versions) and its
//!   session `SET`s, replacing them by [`PREAMBLE`], a fixed set that loads the dump anywhere;
//!   `SET default_table_access_method = heap` and `SET default_tablespace = ''` (defaults) go
//!   too, any other `SET` in the body stays;
//! - drops every statement about an excluded table (the migration history table), with the
//!   comment block pg_dump writes above it;
//! - collapses runs of blank lines between statements to one.

use crate::split::{SplitError, Statement, split, tokenize};
use sqlparser::tokenizer::Token;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The session settings a normalised dump starts with (pg_dump's own vary between versions).
pub const PREAMBLE: &str = "SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET client_min_messages = warning;";

/// Running pg_dump failed.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("cannot run {program}: {source}; pass the PostgreSQL bin directory that holds pg_dump")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("pg_dump of {url} failed ({status}): {stderr}")]
    Failed {
        url: String,
        status: String,
        stderr: String,
    },
    #[error("pg_dump wrote output that is not UTF-8; dump a UTF8-encoded database")]
    NotUtf8,
    #[error("cannot normalise the pg_dump output: {0}")]
    Split(#[from] SplitError),
}

/// Replace the password of a `postgres://user:password@host` URL (or a `password=...`
/// keyword) with `***`, so a URL can go into an error message.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if let Some((userinfo, host)) = authority.rsplit_once('@')
            && let Some((user, _)) = userinfo.split_once(':')
        {
            return redact_params(&format!("{scheme}://{user}:***@{host}{tail}"));
        }
        return redact_params(url);
    }
    redact_params(url)
}

fn redact_params(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find("password=") {
        let (before, after) = rest.split_at(pos + "password=".len());
        out.push_str(before);
        out.push_str("***");
        let end = after.find(['&', ' ']).unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// pg_dump's `--exclude-table` pattern for a bare or schema-qualified table name.
fn exclude_pattern(table: &str) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    match table.split_once('.') {
        Some((schema, name)) => format!("{}.{}", quote(schema), quote(name)),
        None => format!("*.{}", quote(table)),
    }
}

/// Run `pg_dump --schema-only --no-owner --no-privileges --no-tablespaces` from `bindir`
/// against `url` and return its raw output.
pub fn pg_dump_raw(
    url: &str,
    bindir: &Path,
    exclude_tables: &[String],
) -> Result<String, DumpError> {
    let program = bindir.join("pg_dump");
    let mut cmd = Command::new(&program);
    cmd.args([
        "--schema-only",
        "--no-owner",
        "--no-privileges",
        "--no-tablespaces",
        "--encoding=UTF8",
    ]);
    for table in exclude_tables {
        cmd.arg(format!("--exclude-table={}", exclude_pattern(table)));
    }
    cmd.arg(format!("--dbname={url}"));
    let output = cmd.output().map_err(|source| DumpError::Spawn {
        program: program.clone(),
        source,
    })?;
    if !output.status.success() {
        return Err(DumpError::Failed {
            url: redact_url(url),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    String::from_utf8(output.stdout).map_err(|_| DumpError::NotUtf8)
}

/// [`pg_dump_raw`] followed by [`normalize`].
pub fn dump(url: &str, bindir: &Path, exclude_tables: &[String]) -> Result<String, DumpError> {
    let raw = pg_dump_raw(url, bindir, exclude_tables)?;
    Ok(normalize(&raw, exclude_tables)?)
}

/// Comment lines pg_dump writes that vary between servers and versions, or frame the dump.
fn is_noise_comment(line: &str) -> bool {
    let l = line.trim_end();
    l == "-- PostgreSQL database dump"
        || l == "-- PostgreSQL database dump complete"
        || l.starts_with("-- Dumped from database version")
        || l.starts_with("-- Dumped by pg_dump version")
}

/// The comment block between two statements, cleaned: noise lines dropped, blank runs
/// collapsed, outer blank lines trimmed. Empty when nothing but `--` framing is left.
fn clean_gap(gap: &str) -> String {
    let mut lines: Vec<&str> = Vec::new();
    for line in gap.lines().map(str::trim_end) {
        if is_noise_comment(line) {
            continue;
        }
        if line.is_empty() && lines.last().is_none_or(|l: &&str| l.is_empty()) {
            continue;
        }
        lines.push(line);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    // A block that is only `--` framing lines (left from the dropped header) says nothing.
    let meaningful = lines.iter().any(|l| !l.is_empty() && *l != "--");
    if meaningful {
        lines.join("\n")
    } else {
        String::new()
    }
}

fn words(sql: &str) -> Vec<Token> {
    tokenize(sql)
        .map(|t| {
            t.into_iter()
                .map(|(t, _)| t)
                .filter(|t| !matches!(t, Token::Whitespace(_)))
                .collect()
        })
        .unwrap_or_default()
}

fn is_word(t: Option<&Token>, w: &str) -> bool {
    matches!(t, Some(Token::Word(x)) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w))
}

/// The session `SET`s pg_dump writes (the preamble, and defaults in the body).
fn is_session_noise(stmt: &Statement, in_preamble: bool) -> bool {
    let w = words(&stmt.sql);
    if is_word(w.first(), "SET") {
        if in_preamble {
            return true;
        }
        let s = stmt.sql.split_whitespace().collect::<Vec<_>>().join(" ");
        return s == "SET default_table_access_method = heap" || s == "SET default_tablespace = ''";
    }
    is_word(w.first(), "SELECT")
        && stmt
            .sql
            .starts_with("SELECT pg_catalog.set_config('search_path'")
}

/// Qualified names (`schema.name` pairs of identifiers) a statement's tokens mention.
fn mentions_table(sql: &str, exclude_tables: &[String]) -> bool {
    if exclude_tables.is_empty() {
        return false;
    }
    let w = words(sql);
    let ident = |t: &Token| match t {
        Token::Word(x) if x.quote_style == Some('"') => Some(x.value.clone()),
        Token::Word(x) if x.quote_style.is_none() => Some(x.value.to_lowercase()),
        _ => None,
    };
    w.windows(3).any(|win| {
        let (Some(schema), Token::Period, Some(name)) = (ident(&win[0]), &win[1], ident(&win[2]))
        else {
            return false;
        };
        exclude_tables.iter().any(|t| match t.split_once('.') {
            Some((s, n)) => s == schema && n == name,
            None => *t == name,
        })
    })
}

/// Normalise raw pg_dump output (see the module documentation). Idempotent.
pub fn normalize(raw: &str, exclude_tables: &[String]) -> Result<String, SplitError> {
    let statements = split(raw)?;
    let mut pieces: Vec<String> = vec![PREAMBLE.to_owned()];
    let mut previous_end = 0;
    let mut in_preamble = true;
    for stmt in &statements {
        let gap = &raw[previous_end..stmt.start];
        previous_end = stmt.end;
        if stmt.meta {
            continue;
        }
        if is_session_noise(stmt, in_preamble) {
            continue;
        }
        in_preamble = false;
        if mentions_table(&stmt.sql, exclude_tables) {
            continue;
        }
        let gap = clean_gap(gap);
        if !gap.is_empty() {
            pieces.push(gap);
        }
        pieces.push(format!("{};", stmt.sql));
    }
    let mut out = pieces.join("\n\n");
    out.push('\n');
    Ok(out)
}

/// Where pg_dump lives when the caller has no cluster to ask: `PG_BINDIR`, then `PATH`.
pub fn default_bindir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BINDIR") {
        return Some(PathBuf::from(dir));
    }
    std::env::split_paths(&std::env::var_os("PATH")?).find(|d| d.join("pg_dump").is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = "--
-- PostgreSQL database dump
--

\\restrict Jrcvr9Npxg3RLMI9dv

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SELECT pg_catalog.set_config('search_path', '', false);
SET row_security = off;

--
-- Name: f(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.f() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'public'
    AS $_$
\\restrict inside a body stays
SET x = 1;


  RETURN '$$';
$_$;


SET default_table_access_method = heap;

--
-- Name: refinery_schema_history; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.refinery_schema_history (
    version integer NOT NULL
);


--
-- Name: t; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.t (
    a integer
);


--
-- Name: refinery_schema_history refinery_schema_history_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.refinery_schema_history
    ADD CONSTRAINT refinery_schema_history_pkey PRIMARY KEY (version);


--
-- PostgreSQL database dump complete
--

\\unrestrict Jrcvr9Npxg3RLMI9dv

";

    #[test]
    fn normalises_pg_dump_output() {
        let out = normalize(RAW, &["refinery_schema_history".to_owned()]).unwrap();
        let expected = format!(
            "{PREAMBLE}

--
-- Name: f(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.f() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'public'
    AS $_$
\\restrict inside a body stays
SET x = 1;


  RETURN '$$';
$_$;

--
-- Name: t; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.t (
    a integer
);
"
        );
        assert_eq!(out, expected);
        assert_eq!(
            normalize(&out, &["refinery_schema_history".to_owned()]).unwrap(),
            out,
            "idempotent"
        );
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact_url("postgresql://u@h/db?password=secret&x=1"),
            "postgresql://u@h/db?password=***&x=1"
        );
        assert_eq!(
            redact_url("host=h password=secret dbname=x"),
            "host=h password=*** dbname=x"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn exclude_patterns_quote_names() {
        assert_eq!(
            exclude_pattern("refinery_schema_history"),
            "*.\"refinery_schema_history\""
        );
        assert_eq!(exclude_pattern("a.B\"c"), "\"a\".\"B\"\"c\"");
    }
}
