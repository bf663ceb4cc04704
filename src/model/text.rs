//! Small pure text helpers every message shares: untrusted text made fit for one line,
//! durations, timestamps and short commit ids. One definition each.

/// Text from AWS or git (commit messages, error messages) made fit for one line: the first
/// line only, every control character (ESC included) replaced by a space.
pub fn one_line(s: &str) -> String {
    let first = s.trim().lines().next().unwrap_or("");
    first
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// "12s", "3m05s", "1h02m".
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// RFC 3339 UTC, to the second.
pub fn timestamp(epoch_seconds: f64) -> String {
    aws_smithy_types::DateTime::from_secs(epoch_seconds.floor() as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| format!("{epoch_seconds:.0}"))
}

/// The first 12 characters of a git commit id; any other revision (a build id, an S3
/// version) is shown whole, since a prefix of it identifies nothing.
pub fn short_commit(commit: &str) -> &str {
    let is_commit = commit.len() > 12 && commit.bytes().all(|b| b.is_ascii_hexdigit());
    if is_commit { &commit[..12] } else { commit }
}

/// "1 change", "3 changes".
pub fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_commit_ids_are_shortened() {
        let sha = "da0bf5f728bc8c435ab4e38257bbac382923084b";
        assert_eq!(short_commit(sha), "da0bf5f728bc");
        let build = "xpipeline-demo-build:16bff7d0-acd0-491f-aca2-80f6edc10821";
        assert_eq!(short_commit(build), build);
        assert_eq!(short_commit("abc"), "abc");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(0.4), "0s");
        assert_eq!(duration(59.0), "59s");
        assert_eq!(duration(65.0), "1m05s");
        assert_eq!(duration(3720.0), "1h02m");
    }

    #[test]
    fn one_line_keeps_the_first_line_without_control_characters() {
        assert_eq!(one_line("  Fix it\n\nbody"), "Fix it");
        assert_eq!(one_line("\u{1b}[31mred\u{1b}[0m\ttab"), "[31mred [0m tab");
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(timestamp(1000.7), "1970-01-01T00:16:40Z");
    }

    #[test]
    fn counts_agree_in_number() {
        assert_eq!(count(1, "change", "changes"), "1 change");
        assert_eq!(count(2, "change", "changes"), "2 changes");
    }
}
