//! Small pure text helpers every message shares: untrusted text made safe (`safe`) or fit
//! for one line (`one_line`), clipped (`clip`),
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

/// RFC 3339 UTC to the millisecond (a log event's time), trailing zeros dropped.
pub fn timestamp_millis(millis: i64) -> String {
    aws_smithy_types::DateTime::from_millis(millis)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| format!("{millis}"))
}

/// How untrusted log text (a build's output) may reach a screen or a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogText {
    /// A terminal: SGR colour sequences (`ESC [ ... m`) kept when `colour`, dropped
    /// otherwise; every other control character shown escaped (`^[`, `^G`, `<U+009B>`),
    /// so that no title change, cursor move or screen clear takes effect.
    Terminal { colour: bool },
    /// A pipe or a file: every escape sequence removed whole, other control characters
    /// (tab, carriage return, bell) made spaces.
    Plain,
}

/// One log line made safe for `mode` (see `LogText`), without its line end. On a terminal
/// with colour, a line that set a colour ends with a reset so that nothing bleeds into
/// the next line.
pub fn log_text(s: &str, mode: LogText) -> String {
    let s = s.trim_end_matches(['\n', '\r']);
    let mut out = String::with_capacity(s.len());
    let mut coloured = false;
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\u{1b}' {
            // The sequence: CSI (ESC [ params final), OSC (ESC ] ... BEL or ESC \\), or
            // ESC and one character.
            let mut seq = String::from(c);
            match it.peek() {
                Some('[') => {
                    seq.push(it.next().unwrap_or('['));
                    while let Some(&n) = it.peek() {
                        seq.push(n);
                        it.next();
                        if ('\u{40}'..='\u{7e}').contains(&n) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    for n in it.by_ref() {
                        seq.push(n);
                        if n == '\u{7}' || (n == '\\' && seq.ends_with("\u{1b}\\")) {
                            break;
                        }
                    }
                }
                Some(_) => seq.push(it.next().unwrap_or(' ')),
                None => {}
            }
            let sgr = seq.len() >= 3
                && seq.starts_with("\u{1b}[")
                && seq.ends_with('m')
                && seq[2..seq.len() - 1]
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == ';');
            match mode {
                LogText::Plain => {}
                LogText::Terminal { colour } if sgr => {
                    if colour {
                        out.push_str(&seq);
                        coloured = true;
                    }
                }
                LogText::Terminal { .. } => out.push_str(&escape_controls(&seq)),
            }
        } else if c.is_control() {
            match mode {
                LogText::Plain => out.push(' '),
                LogText::Terminal { .. } => out.push_str(&escape_controls(&c.to_string())),
            }
        } else {
            out.push(c);
        }
    }
    if coloured {
        out.push_str("\u{1b}[0m");
    }
    out
}

/// The one terminal-safety function: untrusted text (config keys, values and source lines,
/// AWS error messages, commit messages, git remote messages) with every control character
/// shown, not obeyed: C0 and DEL in caret notation (ESC is `^[`, a newline `^J`), C1 as
/// `<U+009B>`. Apply it where such text is formatted, never to the tool's own text.
pub fn safe(s: &str) -> String {
    escape_controls(s)
}

/// `s` (already safe) cut to at most `max` characters, the middle replaced by `…` so that
/// its start and end (a key, a hint) stay.
pub fn clip(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_owned();
    }
    let head = max.saturating_sub(1) * 2 / 3;
    let tail = max.saturating_sub(1) - head;
    let start: String = s.chars().take(head).collect();
    let end: String = s.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

/// Control characters shown, not obeyed: C0 and DEL in caret notation, C1 as `<U+00XX>`.
fn escape_controls(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c as u32 {
            0x00..=0x1f => {
                out.push('^');
                out.push(char::from_u32(c as u32 + 0x40).unwrap_or('?'));
            }
            0x7f => out.push_str("^?"),
            0x80..=0x9f => out.push_str(&format!("<U+{:04X}>", c as u32)),
            _ => out.push(c),
        }
    }
    out
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
    fn safe_shows_every_control_character_and_clip_keeps_both_ends() {
        assert_eq!(safe("a\u{1b}[2Jb\nc\u{7f}\u{9b}é"), "a^[[2Jb^Jc^?<U+009B>é");
        assert!(!safe("\u{1b}]0;x\u{7}").contains('\u{1b}'));
        assert_eq!(clip("abcdefghij", 10), "abcdefghij");
        assert_eq!(clip("abcdefghijk", 7), "abcd…jk");
    }

    #[test]
    fn log_text_keeps_colours_on_a_terminal_only_and_obeys_no_other_sequence() {
        let line = "\u{1b}[1m\u{1b}[31merror\u{1b}[0m: x\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[H\tok\u{9b}31m\n";
        let tty = log_text(line, LogText::Terminal { colour: true });
        assert_eq!(
            tty,
            "\u{1b}[1m\u{1b}[31merror\u{1b}[0m: x^[]0;pwned^G^[[2J^[[H^Iok<U+009B>31m\u{1b}[0m"
        );
        let mono = log_text(line, LogText::Terminal { colour: false });
        assert_eq!(mono, "error: x^[]0;pwned^G^[[2J^[[H^Iok<U+009B>31m");
        let plain = log_text(line, LogText::Plain);
        assert_eq!(plain, "error: x ok 31m");
        assert!(!plain.chars().any(char::is_control), "{plain:?}");
        // Only SGR is kept: ESC and every other sequence are shown escaped.
        for s in [&tty, &mono] {
            let escs = s.matches('\u{1b}').count();
            let sgrs = s.matches("\u{1b}[").count();
            assert_eq!(escs, sgrs, "{s:?}");
            assert!(!s.contains("\u{1b}]") && !s.contains("\u{1b}[2J") && !s.contains('\u{7}'));
        }
        assert_eq!(
            log_text("   Compiling x\r\n", LogText::Plain),
            "   Compiling x"
        );
        assert_eq!(log_text("\u{1b}", LogText::Plain), "");
    }

    #[test]
    fn millisecond_timestamps_for_log_lines() {
        assert_eq!(timestamp_millis(1_000_123), "1970-01-01T00:16:40.123Z");
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
