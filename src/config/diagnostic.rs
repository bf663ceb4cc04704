//! Problems found in xpipeline.toml, each tied to a byte span of the file, and their rendering
//! as `FILE:LINE:COL: message` followed by the offending line with a caret under the text.

use std::fmt;
use std::ops::Range;

use crate::model::text::{clip, safe};

/// One problem at one place of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub span: Range<usize>,
    pub message: String,
}

/// Every problem found in one file, with what is needed to show where they are.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    /// The file's name as the user should see it.
    pub file: String,
    pub source: String,
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub(crate) fn new(file: impl Into<String>, source: impl Into<String>) -> Self {
        Diagnostics {
            file: file.into(),
            source: source.into(),
            items: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.items.push(Diagnostic {
            span,
            message: message.into(),
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(&self.source, offset)
    }

    /// The diagnostics in file order.
    pub(crate) fn sorted(&self) -> Vec<&Diagnostic> {
        let mut items: Vec<&Diagnostic> = self.items.iter().collect();
        items.sort_by_key(|d| (d.span.start, d.span.end));
        items
    }
}

pub(crate) fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = source[line_start..offset].chars().count() + 1;
    (line, col)
}

/// The most characters of a source line shown: one screen line of a wide
/// terminal, so that a 1 MiB value prints a line, not a megabyte of carets.
const MAX_WIDTH: usize = 120;
/// The most characters of a message: the tool's own are shorter; a long value quoted in one
/// is cut in the middle.
const MAX_MESSAGE: usize = 300;
/// Characters kept before the caret when a long line is cut.
const BEFORE_CARET: usize = 40;

/// The line `line` shown around the 0-based character `col` with a caret `width` wide: every
/// character made safe (a tab a space, other control characters `^[`), cut to `MAX_WIDTH`
/// around the caret with `…` where text was left out. Returns the text, the caret's offset
/// and its width, in shown characters.
fn excerpt(line: &str, col: usize, width: usize) -> (String, usize, usize) {
    let shown: Vec<String> = line
        .chars()
        .map(|c| match c {
            '\t' => " ".to_owned(),
            c => safe(&c.to_string()),
        })
        .collect();
    let w = |range: &[String]| range.iter().map(|s| s.chars().count()).sum::<usize>();
    let col = col.min(shown.len());
    let end_caret = (col + width.max(1)).min(shown.len());
    let (mut from, mut to) = (0, shown.len());
    if w(&shown) > MAX_WIDTH {
        from = col.saturating_sub(BEFORE_CARET);
        to = from;
        while to < shown.len() && w(&shown[from..=to]) <= MAX_WIDTH - 2 {
            to += 1;
        }
        to = to.max((col + 1).min(shown.len()));
    }
    let lead = usize::from(from > 0);
    let mut text = String::new();
    if from > 0 {
        text.push('…');
    }
    text.push_str(&shown[from..to].concat());
    if to < shown.len() {
        text.push('…');
    }
    let offset = lead + w(&shown[from..col]);
    let caret = w(&shown[col..end_caret.min(to).max(col)]).max(1);
    (text, offset, caret)
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items = self.sorted();
        for (n, d) in items.iter().enumerate() {
            if n > 0 {
                writeln!(f)?;
            }
            let (line, col) = self.line_col(d.span.start);
            let message = clip(&safe(&d.message), MAX_MESSAGE);
            writeln!(f, "{}:{line}:{col}: {message}", safe(&self.file))?;
            let line_text = self.source.lines().nth(line - 1).unwrap_or("");
            let gutter = " ".repeat(line.to_string().len());
            let width = self.source
                [d.span.start.min(self.source.len())..d.span.end.min(self.source.len())]
                .split('\n')
                .next()
                .map_or(1, |s| s.chars().count().max(1));
            let (text, offset, caret) = excerpt(line_text, col - 1, width);
            writeln!(f, "{gutter} |")?;
            writeln!(f, "{line} | {text}")?;
            write!(f, "{gutter} | {}{}", " ".repeat(offset), "^".repeat(caret))?;
        }
        if items.len() > 1 {
            write!(
                f,
                "\n{}: {} problems; nothing was done",
                safe(&self.file),
                items.len()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let src = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        assert_eq!(line_col(src, src.find('=').unwrap()), (1, 3));
        let second_eq = src.rfind('=').unwrap();
        assert_eq!(line_col(src, second_eq), (2, 4));
    }

    #[test]
    fn rendering_shows_position_text_and_caret() {
        let src = "[pipeline]\naccount = \"12345\"\n";
        let mut d = Diagnostics::new("xpipeline.toml", src);
        let start = src.find("\"12345\"").unwrap();
        d.push(start..start + 7, "pipeline.account must be 12 digits");
        let shown = d.to_string();
        assert_eq!(
            shown,
            "xpipeline.toml:2:11: pipeline.account must be 12 digits\n  |\n2 | account = \"12345\"\n  |           ^^^^^^^"
        );
    }

    #[test]
    fn several_problems_are_sorted_and_counted() {
        let src = "x = 1\ny = 2\n";
        let mut d = Diagnostics::new("f.toml", src);
        d.push(6..7, "second");
        d.push(0..1, "first");
        let shown = d.to_string();
        assert!(shown.find("first").unwrap() < shown.find("second").unwrap());
        assert!(shown.ends_with("f.toml: 2 problems; nothing was done"));
    }

    #[test]
    fn a_long_line_is_cut_around_the_caret_and_control_characters_are_shown() {
        let value = "x".repeat(1_000_000);
        let src = format!("[build]\nproject = \"{value}\"\n");
        let mut d = Diagnostics::new("f.toml", src.as_str());
        let start = src.find('"').unwrap();
        d.push(
            start..start + value.len() + 2,
            format!("build.project is wrong, found {value:?}"),
        );
        let shown = d.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 4, "{shown}");
        assert!(lines[0].chars().count() <= MAX_MESSAGE + 20, "{shown}");
        assert!(
            lines[1..]
                .iter()
                .all(|l| l.chars().count() <= MAX_WIDTH + 10),
            "{shown}"
        );
        assert!(lines[0].starts_with("f.toml:2:11: build.project is wrong, found \"xxx"));
        assert!(lines[2].starts_with("2 | project = \"xxxx") && lines[2].ends_with('…'));
        assert_eq!(lines[3].find('^'), Some(4 + 10));

        let src = "[x]\n\u{1b}]0;pwned\u{7}\u{1b}[2J = 1\n";
        let mut d = Diagnostics::new("f.toml", src);
        d.push(4..5, "unknown key `\u{1b}]0;pwned\u{7}\u{1b}[2J` in [x]");
        let shown = d.to_string();
        assert!(
            !shown.chars().any(|c| c.is_control() && c != '\n'),
            "{shown:?}"
        );
        assert!(
            shown.contains("unknown key `^[]0;pwned^G^[[2J` in [x]"),
            "{shown}"
        );
        assert!(
            shown.contains("2 | ^[]0;pwned^G^[[2J = 1\n  | ^^"),
            "{shown}"
        );
    }

    #[test]
    fn the_caret_stays_under_its_text_far_into_a_long_line() {
        let src = format!("k = \"{}\" # {}\n", "a".repeat(300), "b".repeat(300));
        let mut d = Diagnostics::new("f.toml", src.as_str());
        let at = src.find('#').unwrap();
        d.push(at..at + 1, "here");
        let shown = d.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        let caret = lines[3].find('^').unwrap() - 4;
        let text: Vec<char> = lines[2][4..].chars().collect();
        assert_eq!(text[caret], '#', "{shown}");
        assert!(text[0] == '…' && text.len() <= MAX_WIDTH, "{shown}");
    }
}
