//! Problems found in xpipeline.toml, each tied to a byte span of the file, and their rendering
//! as `FILE:LINE:COL: message` followed by the offending line with a caret under the text.

use std::fmt;
use std::ops::Range;

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

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items = self.sorted();
        for (n, d) in items.iter().enumerate() {
            if n > 0 {
                writeln!(f)?;
            }
            let (line, col) = self.line_col(d.span.start);
            writeln!(f, "{}:{line}:{col}: {}", self.file, d.message)?;
            let line_text = self.source.lines().nth(line - 1).unwrap_or("");
            let gutter = " ".repeat(line.to_string().len());
            let line_chars = line_text.chars().count();
            let width = self.source
                [d.span.start.min(self.source.len())..d.span.end.min(self.source.len())]
                .split('\n')
                .next()
                .map_or(1, |s| s.chars().count().max(1))
                .min(line_chars.saturating_sub(col - 1).max(1));
            writeln!(f, "{gutter} |")?;
            writeln!(f, "{line} | {line_text}")?;
            write!(f, "{gutter} | {}{}", " ".repeat(col - 1), "^".repeat(width))?;
        }
        if items.len() > 1 {
            write!(
                f,
                "\n{}: {} problems; nothing was done",
                self.file,
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
}
