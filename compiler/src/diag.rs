//! Diagnostics: every stage reports all the errors it finds, each with a
//! source [`Span`], and [`Diagnostics::render`] prints them the way rustc
//! does: the message, the file and line, the source line and a caret
//! underline with an optional label, then an optional help line.

use std::fmt;

/// A byte range `start..end` in the source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// The span `start..end`.
    pub fn new(start: usize, end: usize) -> Self {
        let start = u32::try_from(start).unwrap_or(u32::MAX);
        let end = u32::try_from(end).unwrap_or(u32::MAX).max(start);
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    /// The 1-based line of the span's start in `source`.
    pub fn line(self, source: &str) -> u32 {
        let end = (self.start as usize).min(source.len());
        let prefix = source.as_bytes().get(..end).unwrap_or_default();
        1 + prefix.iter().filter(|&&b| b == b'\n').count() as u32
    }
}

/// One error: what is wrong, where, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where the error is.
    pub span: Span,
    /// What is wrong (one sentence, no trailing period).
    pub message: String,
    /// A short note printed under the caret underline.
    pub label: Option<String>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Diagnostic { span, message: message.into(), label: None, help: None }
    }

    /// Adds the note printed under the underline.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// All the errors a stage found, in source order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics {
    /// The errors.
    pub errors: Vec<Diagnostic>,
}

impl Diagnostics {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A single error.
    pub fn single(d: Diagnostic) -> Self {
        Diagnostics { errors: vec![d] }
    }

    /// Records an error.
    pub fn push(&mut self, d: Diagnostic) {
        self.errors.push(d);
    }

    /// True when no error was recorded.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Number of errors.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// The errors, rendered as plain text (no ANSI colours): for each, the
    /// message, `--> file:line:column`, the source line and a caret
    /// underline, then the help line if any.
    pub fn render_plain(&self, source: &str, file_name: &str) -> String {
        self.render_with(source, file_name, false)
    }

    /// Same as [`Diagnostics::render_plain`] with ANSI colours (for a terminal).
    pub fn render(&self, source: &str, file_name: &str) -> String {
        self.render_with(source, file_name, true)
    }

    fn render_with(&self, source: &str, file_name: &str, colour: bool) -> String {
        let mut out = String::new();
        for d in &self.errors {
            render_one(&mut out, d, source, file_name, colour);
        }
        out
    }
}

impl fmt::Display for Diagnostics {
    /// The messages only, one per line (no source needed).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.errors {
            writeln!(f, "error: {}", d.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

fn render_one(out: &mut String, d: &Diagnostic, source: &str, file_name: &str, colour: bool) {
    let (red, blue, bold, reset) =
        if colour { ("\x1b[31;1m", "\x1b[34;1m", "\x1b[1m", "\x1b[0m") } else { ("", "", "", "") };
    let start = floor_char(source, d.span.start as usize);
    let end = floor_char(source, d.span.end as usize).max(start);
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[start..].find('\n').map_or(source.len(), |i| start + i);
    let line_no = d.span.line(source);
    let line = &source[line_start..line_end];
    let col = source[line_start..start].chars().count() + 1;
    let underline_len = source[start..end.min(line_end)].chars().count().max(1);
    let gutter = " ".repeat(line_no.to_string().len());
    out.push_str(&format!("{red}error{reset}{bold}: {}{reset}\n", d.message));
    out.push_str(&format!("{gutter}{blue}-->{reset} {file_name}:{line_no}:{col}\n"));
    out.push_str(&format!("{gutter} {blue}|{reset}\n"));
    out.push_str(&format!("{blue}{line_no} |{reset} {}\n", line.replace('\t', " ")));
    let pad = " ".repeat(col - 1);
    let carets = "^".repeat(underline_len);
    match &d.label {
        Some(l) => out.push_str(&format!("{gutter} {blue}|{reset} {pad}{red}{carets} {l}{reset}\n")),
        None => out.push_str(&format!("{gutter} {blue}|{reset} {pad}{red}{carets}{reset}\n")),
    }
    if let Some(h) = &d.help {
        out.push_str(&format!("{gutter} {blue}= help:{reset} {h}\n"));
    }
    out.push('\n');
}

/// The largest char boundary at or below `i`.
fn floor_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_the_span() {
        let src = "fn main() {\n    let x = 1 +;\n}\n";
        let start = src.find('+').unwrap();
        let d = Diagnostic::new(Span::new(start, start + 1), "expected an expression")
            .with_label("after this")
            .with_help("write the right operand");
        let text = Diagnostics::single(d).render_plain(src, "a.gbl");
        assert_eq!(
            text,
            "error: expected an expression\n --> a.gbl:2:15\n  |\n2 |     let x = 1 +;\n  |               ^ after this\n  = help: write the right operand\n\n"
        );
    }

    #[test]
    fn spans_past_the_end_do_not_panic() {
        let d = Diagnostic::new(Span::new(100, 200), "x");
        let _ = Diagnostics::single(d).render_plain("ab\u{e9}", "f");
        let d = Diagnostic::new(Span::new(3, 4), "x");
        let _ = Diagnostics::single(d).render_plain("ab\u{e9}", "f");
    }
}
