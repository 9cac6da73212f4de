//! Printing errors for people: the whole cause chain, each cause once.

/// Print `err` and its causes to stderr.
pub fn error(err: &anyhow::Error) {
    let mut shown = String::new();
    for (i, cause) in err.chain().enumerate() {
        let text = cause.to_string();
        // Our library errors already include their source's text; do not repeat it.
        if i > 0 && shown.contains(text.trim()) {
            continue;
        }
        if i == 0 {
            eprintln!("error: {text}");
        } else {
            eprintln!("  caused by: {}", text.replace('\n', "\n  "));
        }
        shown.push_str(&text);
    }
}

/// A connection URL safe to print: the password, if any, replaced by `***` (the one
/// implementation the pipeline's errors use too).
pub use schema::dump::redact_url as redact;

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_print() {
        assert_eq!(
            redact("postgresql://app:s3cr%40t@db.example:5432/app"),
            "postgresql://app:***@db.example:5432/app"
        );
        assert_eq!(
            redact("postgres://app@db/app?sslmode=require&password=x"),
            "postgres://app@db/app?sslmode=require&password=***"
        );
        assert_eq!(
            redact("host=db user=app password=x dbname=app"),
            "host=db user=app password=*** dbname=app"
        );
        assert_eq!(redact("postgresql://db/app"), "postgresql://db/app");
    }
}
