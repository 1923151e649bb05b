//! Diagnostics: what went wrong, where in which input file, under which field
//! path, and how to fix it. Every stage reports through these types; only the
//! CLI decides how they are printed (human text or JSON lines).

mod code;

use std::fmt::Write as _;

use serde::Serialize;

pub use code::Code;

/// A kind of problem, as a stage reports it: an enum variant carrying the
/// details, whose `Display` is the sentence users read. Each kind has a
/// stable [`Code`] and a severity.
pub trait DiagnosticKind: std::fmt::Display {
    fn code(&self) -> Code;

    fn severity(&self) -> Severity {
        Severity::Error
    }
}

/// All input text, kept so that diagnostics can quote the offending line.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name shown to users: the path as given, or `<stdin>`.
    pub name: String,
    /// The path relative to the working directory (an absolute path as
    /// given is made relative), for the output's source annotations: the
    /// same checkout compiled anywhere gives the same bytes.
    pub relative_name: String,
    pub text: String,
    /// A cluster context file (`--context`): its documents are read as
    /// context only, never compiled or written.
    pub context: bool,
    /// The byte offset at which each line starts, so that quoting a line is
    /// a lookup, not a scan: thousands of diagnostics in one large file
    /// stay linear. Found on the first quote: a file nothing is said about
    /// (a post-rendered stream without plans) is never scanned for it.
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

/// `name` relative to the working directory when it is an absolute path
/// (with `..` steps when it lies outside), else `name` as it is.
fn relative_to_working_directory(name: &str) -> String {
    use std::path::{Component, Path, PathBuf};
    let path = Path::new(name);
    if !path.is_absolute() {
        return name.to_owned();
    }
    let Ok(cwd) = std::env::current_dir() else {
        return name.to_owned();
    };
    let normal = |p: &Path| -> Vec<String> {
        p.components()
            .filter_map(|c| match c {
                Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect()
    };
    let (target, base) = (normal(path), normal(&cwd));
    let common = target.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut relative = PathBuf::new();
    for _ in common..base.len() {
        relative.push("..");
    }
    for part in &target[common..] {
        relative.push(part);
    }
    relative.display().to_string()
}

/// Identifies one file of a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub usize);

impl SourceMap {
    pub fn add(&mut self, name: String, text: String) -> FileId {
        self.add_file(name, text, false)
    }

    /// Adds a cluster context file (`--context`).
    pub fn add_context(&mut self, name: String, text: String) -> FileId {
        self.add_file(name, text, true)
    }

    fn add_file(&mut self, name: String, text: String, context: bool) -> FileId {
        let relative_name = relative_to_working_directory(&name);
        self.files.push(SourceFile {
            name,
            relative_name,
            text,
            context,
            line_starts: std::sync::OnceLock::new(),
        });
        FileId(self.files.len() - 1)
    }

    /// Moves a file's text out, leaving it empty: for output that is the
    /// input unchanged, when there is nothing to say about the file.
    pub fn take_text(&mut self, id: FileId) -> String {
        self.files
            .get_mut(id.0)
            .map(|file| std::mem::take(&mut file.text))
            .unwrap_or_default()
    }

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0]
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (FileId(i), f))
    }

    /// The text of a 1-based line of a file, without its line break.
    pub fn line_text(&self, id: FileId, line: u32) -> Option<&str> {
        let file = self.files.get(id.0)?;
        let index = line.checked_sub(1)? as usize;
        let line_starts = file.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', file.text.as_bytes()).map(|i| i + 1))
                .collect()
        });
        let start = *line_starts.get(index)?;
        let end = line_starts
            .get(index + 1)
            .map_or(file.text.len(), |next| next - 1);
        let line = file.text.get(start..end)?;
        Some(line.strip_suffix('\r').unwrap_or(line))
    }
}

/// A position in an input file. Lines and columns are 1-based and count
/// characters, as editors do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: FileId,
    pub line: u32,
    pub column: u32,
    /// Length of the underlined text in characters (0: a point).
    pub len: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The stable code of the problem's kind, for machines and docs.
    pub code: Code,
    pub message: String,
    pub span: Option<Span>,
    /// Field path inside the document, such as `spec.backups[2].schedule`.
    pub field_path: Option<String>,
    /// How to fix it; "did you mean" suggestions go here.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic of a typed kind: its sentence, code and severity.
    pub fn new(kind: &impl DiagnosticKind) -> Self {
        Self {
            severity: kind.severity(),
            code: kind.code(),
            message: kind.to_string(),
            span: None,
            field_path: None,
            help: None,
        }
    }

    pub fn at(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }

    pub fn field(mut self, path: impl Into<String>) -> Self {
        self.field_path = Some(path.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The diagnostics of one run, in the order they were found.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Sorted by file and position so that output does not depend on the
    /// order in which stages found problems.
    pub fn sorted(mut self) -> Self {
        self.items.sort_by(|a, b| {
            let key = |d: &Diagnostic| d.span.map(|s| (s.file, s.line, s.column));
            key(a).cmp(&key(b)).then_with(|| a.message.cmp(&b.message))
        });
        self.items.dedup();
        self
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Self {
            items: vec![diagnostic],
        }
    }
}

/// Renders a diagnostic the way rustc does: message, location, the quoted
/// source line with a marker, then the field path and the help text.
pub fn render(diagnostic: &Diagnostic, sources: &SourceMap) -> String {
    let mut out = String::new();
    let label = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(out, "{label}[{}]: {}", diagnostic.code, diagnostic.message);
    if let Some(span) = diagnostic.span {
        let file = sources.file(span.file);
        let _ = writeln!(out, "  --> {}:{}:{}", file.name, span.line, span.column);
        if let Some(line) = sources.line_text(span.file, span.line) {
            let number = span.line.to_string();
            let gutter = " ".repeat(number.len());
            let marker_offset: String = line
                .chars()
                .take(span.column.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let available = line
                .chars()
                .count()
                .saturating_sub(span.column.saturating_sub(1) as usize);
            let width = (span.len as usize).clamp(1, available.max(1));
            let _ = writeln!(out, "{gutter} |");
            let _ = writeln!(out, "{number} | {line}");
            let _ = writeln!(out, "{gutter} | {marker_offset}{}", "^".repeat(width));
        }
    }
    if let Some(path) = &diagnostic.field_path {
        let _ = writeln!(out, "  = field: {path}");
    }
    if let Some(help) = &diagnostic.help {
        let _ = writeln!(out, "  = help: {help}");
    }
    out
}

/// One diagnostic as a JSON object, for `--diagnostics json` (one per line).
pub fn to_json(diagnostic: &Diagnostic, sources: &SourceMap) -> serde_json::Value {
    let (file, line, column) = match diagnostic.span {
        Some(span) => (
            Some(sources.file(span.file).name.clone()),
            Some(span.line),
            Some(span.column),
        ),
        None => (None, None, None),
    };
    serde_json::json!({
        "severity": diagnostic.severity,
        "code": diagnostic.code,
        "file": file,
        "line": line,
        "column": column,
        "fieldPath": diagnostic.field_path,
        "message": diagnostic.message,
        "help": diagnostic.help,
    })
}

/// The closest of `candidates` to `word`, when it is close enough to be a
/// plausible typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&word.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_column_quote_and_help() {
        let mut sources = SourceMap::default();
        let file = sources.add("plan.yaml".into(), "a: 1\n  schedul: x\n".into());
        let diagnostic = Diagnostic::new(&crate::plan::error::ParseError::UnknownField {
            field: "schedul".into(),
        })
        .at(Some(Span {
            file,
            line: 2,
            column: 3,
            len: 7,
        }))
        .field("spec.backups[0].schedul")
        .help("did you mean `schedule`?");
        let text = render(&diagnostic, &sources);
        assert!(
            text.starts_with("error[unknown-field]: unknown field `schedul`\n"),
            "{text}"
        );
        assert!(text.contains("--> plan.yaml:2:3"), "{text}");
        assert!(text.contains("2 |   schedul: x"), "{text}");
        assert!(text.contains("  |   ^^^^^^^"), "{text}");
        assert!(text.contains("field: spec.backups[0].schedul"), "{text}");
        assert!(text.contains("did you mean `schedule`?"), "{text}");
    }

    #[test]
    fn nearest_finds_typos_only() {
        let names = ["schedule", "timeZone", "copyMethod"];
        assert_eq!(nearest("schedul", names), Some("schedule"));
        assert_eq!(nearest("timezone", names), Some("timeZone"));
        assert_eq!(nearest("zzz", names), None);
    }
}
