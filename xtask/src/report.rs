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

/// A connection URL safe to print: the password, if any, replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        // key=value form: hide password=...
        return url
            .split_whitespace()
            .map(|kv| {
                if kv.to_ascii_lowercase().starts_with("password=") {
                    "password=***".to_string()
                } else {
                    kv.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return redact_query(url);
    };
    let userinfo = &authority[..at];
    let masked = match userinfo.find(':') {
        Some(colon) => format!("{}:***", &userinfo[..colon]),
        None => userinfo.to_string(),
    };
    redact_query(&format!(
        "{}{}{}",
        &url[..scheme_end + 3],
        masked,
        &rest[at..]
    ))
}

fn redact_query(url: &str) -> String {
    let Some(q) = url.find('?') else {
        return url.to_string();
    };
    let params = url[q + 1..]
        .split('&')
        .map(|p| {
            if p.to_ascii_lowercase().starts_with("password=") {
                "password=***".to_string()
            } else {
                p.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    format!("{}?{}", &url[..q], params)
}

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
