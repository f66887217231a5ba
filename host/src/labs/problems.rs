//! What is wrong with a lab, said precisely: the file, the line and column,
//! what is wrong, and how to fix it.

use std::{fmt, ops::Range, path::PathBuf};

/// One thing wrong with a lab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file at fault.
    pub file: PathBuf,
    /// 1-based line and column, when known.
    pub at: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.at {
            write!(f, ":{line}:{col}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, " (fix: {fix})")?;
        }
        Ok(())
    }
}

/// A lab that did not load, with everything found wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct InvalidLab {
    /// The lab's directory.
    pub dir: PathBuf,
    /// What is wrong, in file order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for InvalidLab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the lab in {} is not valid:", self.dir.display())?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

/// Collects problems against one file whose text is at hand, turning byte
/// spans into lines and columns.
#[derive(Debug)]
pub struct Report<'a> {
    file: PathBuf,
    text: &'a str,
    /// Everything found so far.
    pub problems: Vec<Problem>,
}

impl<'a> Report<'a> {
    /// A report on `file`, whose text is `text`.
    pub fn new(file: PathBuf, text: &'a str) -> Report<'a> {
        Report { file, text, problems: Vec::new() }
    }

    /// Notes a problem at `span` (bytes of the text), or at no place.
    pub fn at(&mut self, span: Option<Range<usize>>, message: impl Into<String>, fix: Option<&str>) {
        let at = span.map(|s| line_col(self.text, s.start));
        self.problems.push(Problem { file: self.file.clone(), at, message: message.into(), fix: fix.map(str::to_owned) });
    }

    /// Notes a problem with another file of the lab.
    pub fn other(&mut self, file: PathBuf, message: impl Into<String>, fix: Option<&str>) {
        self.problems.push(Problem { file, at: None, message: message.into(), fix: fix.map(str::to_owned) });
    }
}

/// The 1-based line and column of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 11), (2, 6));
        let p = Problem { file: "lab.toml".into(), at: Some((2, 6)), message: "bad".into(), fix: Some("do this".into()) };
        assert_eq!(p.to_string(), "lab.toml:2:6: bad (fix: do this)");
    }
}
