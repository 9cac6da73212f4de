//! Turning driver errors into readable, located failures.

use std::path::Path;

use postgres::error::{DbError, ErrorPosition};

use crate::error::SqlFailure;

/// Locate `err` in the script at `path`, whose text from character offset `char_offset` on is
/// what was sent to the server (0 when the whole file was sent as one query).
pub(crate) fn locate(
    err: &postgres::Error,
    path: &Path,
    file_text: &str,
    char_offset: usize,
) -> SqlFailure {
    locate_prefixed(err, path, file_text, char_offset, 0)
}

/// As [`locate`], when `prefix_chars` characters were sent before the script's text.
pub(crate) fn locate_prefixed(
    err: &postgres::Error,
    path: &Path,
    file_text: &str,
    char_offset: usize,
    prefix_chars: usize,
) -> SqlFailure {
    let Some(db) = err.as_db_error() else {
        return SqlFailure {
            path: path.to_path_buf(),
            line: None,
            column: None,
            source_line: None,
            code: err.code().map(|c| c.code().to_string()).unwrap_or_default(),
            severity: "ERROR".into(),
            message: ::pgerror::describe(err).to_string(),
            detail: None,
            hint: None,
            context: None,
            constraint: None,
        };
    };
    let (line, column, source_line) = match db.position() {
        Some(ErrorPosition::Original(pos)) if *pos as usize > prefix_chars => {
            let (l, c, text) = line_col(file_text, char_offset + *pos as usize - prefix_chars);
            (Some(l), Some(c), Some(text))
        }
        _ => (None, None, None),
    };
    SqlFailure {
        path: path.to_path_buf(),
        line,
        column,
        source_line,
        code: db.code().code().to_string(),
        severity: db.severity().to_string(),
        message: db.message().to_string(),
        detail: db.detail().map(str::to_string),
        hint: db.hint().map(str::to_string),
        context: context_of(db),
        constraint: db.constraint().map(str::to_string),
    }
}

fn context_of(db: &DbError) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(ErrorPosition::Internal { position, query }) = db.position() {
        parts.push(format!(
            "in internal query at character {position}: {query}"
        ));
    }
    if let Some(w) = db.where_() {
        parts.push(w.to_string());
    }
    (!parts.is_empty()).then(|| parts.join("\n"))
}

/// 1-based line and column of the 1-based character position `pos` in `text`, and that line.
pub(crate) fn line_col(text: &str, pos: usize) -> (usize, usize, String) {
    let mut line = 1;
    let mut col = 1;
    let mut line_start = 0;
    for (i, (byte, ch)) in text.char_indices().enumerate() {
        if i + 1 == pos {
            break;
        }
        if ch == '\n' {
            line += 1;
            col = 1;
            line_start = byte + 1;
        } else {
            col += 1;
        }
    }
    let rest = &text[line_start.min(text.len())..];
    let source_line = rest
        .split('\n')
        .next()
        .unwrap_or("")
        .trim_end_matches('\r')
        .to_string();
    (line, col, source_line)
}

#[cfg(test)]
mod tests {
    use super::line_col;

    #[test]
    fn positions_map_to_lines_and_columns() {
        let text = "SELECT 1;\nSELECT é FROM nowhere;\n";
        assert_eq!(line_col(text, 1), (1, 1, "SELECT 1;".into()));
        // 'n' of nowhere: 10 chars on line 1 + "SELECT é FROM " (14 chars) + 1
        assert_eq!(line_col(text, 25), (2, 15, "SELECT é FROM nowhere;".into()));
    }

    #[test]
    fn crlf_is_trimmed_from_the_shown_line() {
        let (l, c, t) = line_col("A;\r\nB;\r\n", 5);
        assert_eq!((l, c, t.as_str()), (2, 1, "B;"));
    }
}
