//! Unified diffs of two texts.

/// A unified diff of `before` and `after` with 3 lines of context, or an empty string when
/// they are equal.
pub fn unified(before: &str, after: &str, before_label: &str, after_label: &str) -> String {
    if before == after {
        return String::new();
    }
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(before_label, after_label)
        .to_string()
}
