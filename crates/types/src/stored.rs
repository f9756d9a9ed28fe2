//! Chain values as the read model stores them: the indexer writes them so, the CLI's audit
//! compares them so. Text: anyone who pays a fee chooses what an artist's name, a title or
//! a description holds; PostgreSQL's `text` refuses NUL, and other control characters (a
//! right-to-left override, an escape) would mislead whoever reads the pages. Such
//! characters become U+FFFD; the original bytes are kept beside the row
//! (`sanitized_text`), so nothing the chain says is lost. Times: see [`millis`].

/// The character that stands in for one that cannot be stored or shown.
pub const REPLACEMENT: char = '\u{FFFD}';

/// Whether `c` is stored as it is: anything but control characters, bidirectional
/// overrides and isolates, except the line breaks and tabs a description may hold.
fn storable(c: char) -> bool {
    matches!(c, '\n' | '\t')
        || !(c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
}

/// `text` cleaned, and whether anything was replaced.
pub fn clean(text: &str) -> (String, bool) {
    if text.chars().all(storable) {
        return (text.to_string(), false);
    }
    let cleaned = text
        .chars()
        .map(|c| if storable(c) { c } else { REPLACEMENT })
        .collect();
    (cleaned, true)
}

/// A chain timestamp or duration (u64 milliseconds) as a BIGINT. Beyond i64::MAX (the
/// year 292 million) it saturates: every comparison the read model makes with a real
/// clock gives what the chain's value gives, where a plain cast would turn `u64::MAX`
/// into -1 — "long past" instead of "never".
pub fn millis(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_controls_become_replacements() {
        assert_eq!(clean("Nova Lights"), ("Nova Lights".into(), false));
        assert_eq!(clean("line\nand\ttab"), ("line\nand\ttab".into(), false));
        assert_eq!(clean("a\0b"), ("a\u{FFFD}b".into(), true));
        assert_eq!(clean("\u{1b}[31mred"), ("\u{FFFD}[31mred".into(), true));
        assert_eq!(
            clean("evil\u{202E}gnp.exe"),
            ("evil\u{FFFD}gnp.exe".into(), true)
        );
        assert_eq!(clean("émoji 🎧"), ("émoji 🎧".into(), false));
    }

    #[test]
    fn times_saturate_instead_of_wrapping() {
        assert_eq!(millis(0), 0);
        assert_eq!(millis(1_700_000_000_000), 1_700_000_000_000);
        assert_eq!(millis(u64::MAX), i64::MAX);
        assert_eq!(millis(i64::MAX as u64 + 1), i64::MAX);
    }
}
