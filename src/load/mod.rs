//! Loading: input paths → source text → YAML documents whose every node keeps
//! its file, line and column. The strictness rules for YAML live here:
//! duplicate keys, alias bombs, oversized input and YAML 1.1 ambiguities.

mod ambiguity;
mod error;
pub mod node;
mod reason;
pub mod stream;

use reason::yaml_error;

pub use error::LoadError;

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::diagnostics::{Diagnostic, Diagnostics, FileId, SourceMap, Span};
pub use node::{Node, PathSegment, Position, Value, display_path};

/// The name standard input goes by in diagnostics.
pub const STDIN: &str = "<stdin>";

/// The largest single input file accepted.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;
/// The largest total input accepted in one run.
pub const MAX_TOTAL_BYTES: u64 = 128 * 1024 * 1024;

/// One YAML document of an input file.
#[derive(Debug, Clone)]
pub struct Document {
    pub file: FileId,
    /// 0-based position of the document in its file.
    pub index: usize,
    pub root: Node,
    /// Cluster context (a `--context` file, or an item of a `kind: List`):
    /// read to answer what VolSync looked up in the cluster, never compiled
    /// and never written to any output.
    pub cluster: bool,
}

impl Document {
    /// The span of the node at `path`, or of the deepest node on the way.
    /// A path that ends at a mapping key points at the key.
    pub fn span_of(&self, path: &[PathSegment]) -> Span {
        let located = self.root.locate(path);
        let node = if located.complete {
            located.key.unwrap_or(located.node)
        } else {
            located.node
        };
        span_of_node(self.file, node)
    }
}

pub fn span_of_node(file: FileId, node: &Node) -> Span {
    Span {
        file,
        line: node.position.line,
        column: node.position.column,
        len: node.position.len,
    }
}

/// Reads every input: files, directories (recursively, `*.yaml` and `*.yml`,
/// in sorted order) and `-` for standard input. On failure, the sources come
/// back with the diagnostics: a file that is not UTF-8 is kept (decoded
/// lossily) so that its diagnostic can quote the line of the first bad byte.
pub fn read_inputs(inputs: &[PathBuf]) -> Result<SourceMap, (SourceMap, Diagnostics)> {
    read_inputs_with_context(inputs, &[])
}

/// [`read_inputs`], then the cluster context files (`--context`), which are
/// marked as such in the source map: their documents are read as context
/// only. The limits apply to inputs and context together.
pub fn read_inputs_with_context(
    inputs: &[PathBuf],
    context: &[PathBuf],
) -> Result<SourceMap, (SourceMap, Diagnostics)> {
    let mut sources = SourceMap::default();
    let mut diagnostics = Diagnostics::default();
    let mut total: u64 = 0;
    let mut files = Vec::new();
    let given = inputs
        .iter()
        .map(|input| (input, false))
        .chain(context.iter().map(|input| (input, true)));
    for (input, is_context) in given {
        if input.as_os_str() == "-" {
            files.push((None, is_context));
            continue;
        }
        match std::fs::metadata(input) {
            Ok(meta) if meta.is_dir() => match yaml_files_below(input) {
                Ok(found) if found.is_empty() => diagnostics.push(
                    Diagnostic::new(&LoadError::EmptyDirectory {
                        directory: input.display().to_string(),
                    })
                    .help("name the files to compile, or a directory that contains them"),
                ),
                Ok(found) => files.extend(found.into_iter().map(|f| (Some(f), is_context))),
                Err(error) => diagnostics.push(unreadable(
                    format!("the directory {}", input.display()),
                    &error,
                )),
            },
            Ok(_) => files.push((Some(input.clone()), is_context)),
            Err(error) => diagnostics.push(unreadable(input.display().to_string(), &error)),
        }
    }
    for (file, is_context) in files {
        let (name, bytes) = match &file {
            None => (STDIN.to_owned(), read_limited(std::io::stdin().lock())),
            Some(path) => (
                path.display().to_string(),
                std::fs::File::open(path).and_then(read_limited),
            ),
        };
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(error) => {
                diagnostics.push(unreadable(name, &error));
                continue;
            }
        };
        total += bytes.len() as u64;
        if total > MAX_TOTAL_BYTES {
            diagnostics.push(
                Diagnostic::new(&LoadError::InputTooLarge {
                    limit_mib: MAX_TOTAL_BYTES / 1024 / 1024,
                })
                .help("compile the plans in several runs"),
            );
            break;
        }
        if let Err(diagnostic) = add_read(&mut sources, name, bytes, is_context) {
            diagnostics.push(diagnostic);
        }
    }
    if diagnostics.has_errors() {
        Err((sources, diagnostics))
    } else {
        Ok(sources)
    }
}

/// Adds a file read as bytes to `sources`: as its text when it is UTF-8
/// (a cluster context file as context), else decoded lossily, so that the
/// diagnostic returned can quote the line of its first bad byte.
pub fn add_read(
    sources: &mut SourceMap,
    name: String,
    bytes: Vec<u8>,
    is_context: bool,
) -> Result<FileId, Diagnostic> {
    let error = match String::from_utf8(bytes) {
        Ok(text) if is_context => return Ok(sources.add_context(name, text)),
        Ok(text) => return Ok(sources.add(name, text)),
        Err(error) => error,
    };
    let bytes = error.as_bytes();
    let valid = &bytes[..error.utf8_error().valid_up_to()];
    let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
    let column = 1 + String::from_utf8_lossy(&valid[line_start..])
        .chars()
        .count();
    let bad = bytes.get(valid.len()).copied().unwrap_or(0);
    let file = sources.add(name.clone(), String::from_utf8_lossy(bytes).into_owned());
    Err(Diagnostic::new(&LoadError::NotUtf8 { name, byte: bad })
        .at(Some(Span {
            file,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
            len: 1,
        }))
        .help("YAML inputs must be UTF-8 encoded; re-encode the file (for example with iconv)"))
}

/// Standard input, read within [`MAX_FILE_BYTES`] as bytes, for a command
/// that reads nothing else as input (the post-renderer).
pub fn read_standard_input() -> Result<Vec<u8>, Diagnostic> {
    read_limited(std::io::stdin().lock()).map_err(|error| unreadable(STDIN.to_owned(), &error))
}

/// `name` could not be read: why, and what to do about it.
fn unreadable(name: String, error: &std::io::Error) -> Diagnostic {
    use std::io::ErrorKind;
    let help = match error.kind() {
        ErrorKind::NotFound => "check the path; use `-` to read standard input",
        ErrorKind::PermissionDenied => "give the user that runs kopiaplan read access to it",
        ErrorKind::FileTooLarge => "split it into several files and give them all as inputs",
        // A symbolic link that loops, a directory entry that went away, a
        // device that cannot be read.
        _ => "name a regular file (or a link to one) that can be read",
    };
    Diagnostic::new(&LoadError::Unreadable {
        name,
        reason: error.to_string(),
    })
    .help(help)
}

/// Reads at most [`MAX_FILE_BYTES`]; a larger input is an error, not an
/// out-of-memory. Public for the benchmark, whose `cat` reads as the CLI
/// does.
pub fn read_limited(reader: impl Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    // Standard input gives no size hint: the buffer doubled as it filled.
    bytes.shrink_to_fit();
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!(
                "the file is larger than the limit of {} MiB",
                MAX_FILE_BYTES / 1024 / 1024
            ),
        ));
    }
    Ok(bytes)
}

fn yaml_files_below(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            found.extend(yaml_files_below(&path)?);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            found.push(path);
        }
    }
    Ok(found)
}

fn parse_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    // YAML 1.2 booleans only: `yes` is not a boolean here (and is flagged below).
    options.strict_booleans = true;
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    options.with_snippet = false;
    options
}

/// Parses every file into documents. Syntax errors, duplicate keys, alias
/// bombs and YAML 1.1 ambiguities are reported; the documents of files
/// without errors are returned.
pub fn parse(sources: &SourceMap) -> (Vec<Document>, Diagnostics) {
    let mut documents = Vec::new();
    let mut diagnostics = Diagnostics::default();
    for (file, _) in sources.files() {
        let (parsed, problems) = parse_file(sources, file);
        documents.extend(parsed);
        diagnostics.extend(problems);
    }
    (documents, diagnostics)
}

/// The cluster context files of `sources` (`--context`), parsed as
/// [`parse`] parses every file.
pub fn parse_context(sources: &SourceMap) -> (Vec<Document>, Diagnostics) {
    let mut documents = Vec::new();
    let mut diagnostics = Diagnostics::default();
    for (file, _) in sources.files().filter(|(_, source)| source.context) {
        let (parsed, problems) = parse_file(sources, file);
        documents.extend(parsed);
        diagnostics.extend(problems);
    }
    (documents, diagnostics)
}

/// Parses one file of `sources` into documents.
fn parse_file(sources: &SourceMap, file: FileId) -> (Vec<Document>, Diagnostics) {
    let mut documents = Vec::new();
    let mut diagnostics = Diagnostics::default();
    let source = sources.file(file);
    match serde_saphyr::from_str_multiple_with_options::<Option<Node>, Vec<_>>(
        &source.text,
        parse_options(),
    ) {
        Ok(roots) => {
            for (index, root) in roots.into_iter().enumerate() {
                let Some(root) = root else { continue };
                if matches!(root.value, Value::Null) {
                    continue;
                }
                let complex = complex_keys(file, &root);
                if !complex.is_empty() {
                    diagnostics.extend(complex);
                    continue;
                }
                check_ambiguous_scalars(file, &source.text, &root, &mut diagnostics);
                push_document(&mut documents, file, index, root, source.context);
            }
        }
        Err(error) => diagnostics.push(yaml_error(file, &error)),
    }
    (documents, diagnostics)
}

/// Adds a document, or the items of a `kind: List` (what `kubectl get -o
/// yaml` writes) as cluster context: a List is never compiled or written.
pub fn push_document(
    documents: &mut Vec<Document>,
    file: FileId,
    index: usize,
    root: Node,
    cluster: bool,
) {
    if is_list(&root)
        && let Some(Node {
            value: Value::Sequence(items),
            ..
        }) = root.get("items")
    {
        documents.extend(
            items
                .iter()
                .filter(|item| matches!(item.value, Value::Mapping(_)))
                .map(|item| Document {
                    file,
                    index,
                    root: item.clone(),
                    cluster: true,
                }),
        );
        return;
    }
    documents.push(Document {
        file,
        index,
        root,
        cluster,
    });
}

/// A Kubernetes `List` (`apiVersion: v1`, `kind: List`), as kubectl writes
/// several objects.
pub fn is_list(root: &Node) -> bool {
    root.get("apiVersion").and_then(Node::as_str) == Some("v1")
        && root.get("kind").and_then(Node::as_str) == Some("List")
}

/// Parses the documents of one range of a stream (see [`stream::split`]).
/// Positions, in the documents and in the diagnostics, are those of the whole
/// stream, so that messages point at the line of the input as a user sees it.
/// `index` becomes the documents' [`Document::index`]. The YAML 1.1 check is
/// left to the caller ([`check_ambiguities`]), which applies it to the
/// documents it compiles or reads, not to those it passes through.
pub fn parse_range(
    file: FileId,
    text: &str,
    raw: &stream::RawDocument,
    index: usize,
) -> (Vec<Document>, Diagnostics) {
    let mut documents = Vec::new();
    let mut diagnostics = Diagnostics::default();
    let line_offset = raw.first_line.saturating_sub(1);
    match serde_saphyr::from_str_multiple_with_options::<Option<Node>, Vec<_>>(
        raw.text(text),
        parse_options(),
    ) {
        Ok(roots) => {
            for mut root in roots.into_iter().flatten() {
                if matches!(root.value, Value::Null) {
                    continue;
                }
                root.shift(line_offset, raw.range.start);
                let complex = complex_keys(file, &root);
                if !complex.is_empty() {
                    diagnostics.extend(complex);
                    continue;
                }
                push_document(&mut documents, file, index, root, false);
            }
        }
        Err(error) => {
            let mut diagnostic = yaml_error(file, &error);
            if let Some(span) = diagnostic.span.as_mut() {
                span.line = span.line.saturating_add(line_offset);
            }
            diagnostics.push(diagnostic);
        }
    }
    (documents, diagnostics)
}

/// Parses one YAML document whose positions are its own (a ResourceList, a
/// plugin configuration file): the same strictness as [`parse`], except for
/// the YAML 1.1 check, which callers apply to the parts they compile with
/// [`check_ambiguities`].
pub fn parse_single(file: FileId, text: &str) -> Result<Option<Node>, Diagnostic> {
    let root =
        serde_saphyr::from_str_multiple_with_options::<Option<Node>, Vec<_>>(text, parse_options())
            .map_err(|error| yaml_error(file, &error))?
            .into_iter()
            .flatten()
            .next();
    if let Some(root) = &root
        && let Some(first) = complex_keys(file, root).iter().next()
    {
        return Err(first.clone());
    }
    Ok(root)
}

/// Mapping keys that are not scalars (`? [a, b]`, `? {a: b}`): YAML allows
/// them, Kubernetes objects have none, and JSON cannot write them.
fn complex_keys(file: FileId, root: &Node) -> Diagnostics {
    let mut diagnostics = Diagnostics::default();
    root.walk(&mut Vec::new(), &mut |path, node| {
        if let Value::Mapping(entries) = &node.value {
            for (key, _) in entries {
                if matches!(key.value, Value::Sequence(_) | Value::Mapping(_)) {
                    diagnostics.push(
                        Diagnostic::new(&LoadError::ComplexKey)
                            .at(Some(span_of_node(file, key)))
                            .field(if path.is_empty() {
                                "(the document)".to_owned()
                            } else {
                                display_path(path)
                            })
                            .help("write the key as a string"),
                    );
                }
            }
        }
    });
    diagnostics
}

/// The YAML 1.1 ambiguities of a document; `text` is the text of the file
/// its positions refer to.
pub fn check_ambiguities(document: &Document, text: &str) -> Diagnostics {
    let mut diagnostics = Diagnostics::default();
    check_ambiguous_scalars(document.file, text, &document.root, &mut diagnostics);
    diagnostics
}

fn check_ambiguous_scalars(file: FileId, text: &str, root: &Node, diagnostics: &mut Diagnostics) {
    root.walk(&mut Vec::new(), &mut |path, node| {
        let Some(raw) = plain_scalar_text(text, node) else {
            return;
        };
        if let Some(reading) = ambiguity::yaml11_reading(raw) {
            diagnostics.push(
                Diagnostic::new(&LoadError::AmbiguousScalar {
                    raw: raw.to_owned(),
                    reading: reading.to_string(),
                })
                .at(Some(span_of_node(file, node)))
                .field(display_path(path))
                .help(format!(
                    "quote it so every tool reads the same value: \"{raw}\""
                )),
            );
        }
    });
}

/// The source text of an unquoted scalar, or `None` for quoted and block
/// scalars and for collections.
fn plain_scalar_text<'a>(text: &'a str, node: &Node) -> Option<&'a str> {
    if matches!(node.value, Value::Sequence(_) | Value::Mapping(_)) {
        return None;
    }
    let start = node.position.byte?;
    // An explicit tag (`!!str 007`) says how to read the scalar: never
    // ambiguous. The node's position is that of the scalar after the tag.
    let before = text.get(..start)?.trim_end();
    let previous_token = before
        .rsplit([' ', '\t', '\n', '\r', '[', '{', ','])
        .next()
        .unwrap_or_default();
    if previous_token.starts_with('!') {
        return None;
    }
    let rest = text.get(start..)?;
    if rest.starts_with(['"', '\'', '|', '>', '&', '*', '!']) {
        return None;
    }
    // A string that stands as written is its own text: in block context a
    // plain scalar may hold `,`, `]` and `#` (`on,-app.yaml`, `a#b`).
    if let Value::String(string) = &node.value
        && !string.is_empty()
        && rest.starts_with(string.as_str())
    {
        return rest.get(..string.len());
    }
    // A plain scalar over several lines (`on,-app.yaml` with its next line
    // folded onto it) holds a space once read: never a YAML 1.1 boolean or
    // number, and its first line alone is not its value.
    if let Value::String(string) = &node.value {
        let first_line = rest
            .split(['\n', '\r'])
            .next()
            .unwrap_or_default()
            .trim_end();
        if !first_line.is_empty()
            && string.len() > first_line.len()
            && string.starts_with(first_line)
        {
            return None;
        }
    }
    let end = rest
        .find(['\n', '\r', '#', ',', ']', '}'])
        .unwrap_or(rest.len());
    let token = rest[..end].trim_end();
    // A key's span covers the key only; stop at the `: ` separator.
    let token = match token.find(": ") {
        Some(i) => &token[..i],
        None => token.strip_suffix(':').unwrap_or(token),
    };
    Some(token.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> (Vec<Document>, Diagnostics) {
        let mut sources = SourceMap::default();
        sources.add("t.yaml".into(), text.into());
        parse(&sources)
    }

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let (docs, diags) = load("a: 1\n---\nkind: X\nspec:\n  items:\n    - name: one\n");
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(docs.len(), 2);
        let path = [
            PathSegment::Key("spec".into()),
            PathSegment::Key("items".into()),
            PathSegment::Index(0),
            PathSegment::Key("name".into()),
        ];
        let span = docs[1].span_of(&path);
        assert_eq!((span.line, span.column), (6, 7));
        let value = docs[1].root.locate(&path).node;
        assert_eq!((value.position.line, value.position.column), (6, 13));
    }

    #[test]
    fn rejects_duplicate_keys_with_position() {
        let (_, diags) = load("a: 1\nb: 2\na: 3\n");
        let d = diags.iter().next().expect("a diagnostic");
        assert_eq!(d.code, crate::diagnostics::Code::InvalidYaml);
        assert!(
            d.message.contains("the key `a` appears twice"),
            "{}",
            d.message
        );
        assert_eq!(d.span.map(|s| s.line), Some(3));
    }

    /// The YAML reader's own words ("set DuplicateKeyPolicy in Options",
    /// "budget breached: Depth { depth: 65 }") never reach users.
    #[test]
    fn yaml_errors_speak_the_users_words_with_the_limit() {
        // The CLI parses on the main thread (8 MiB of stack); a debug build
        // needs more than a test thread's 2 MiB to reach the depth limit.
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(yaml_errors_in_the_users_words)
            .expect("thread")
            .join()
            .expect("no failure");
    }

    fn yaml_errors_in_the_users_words() {
        let deep = format!("a: {}{}\n", "[".repeat(70), "]".repeat(70));
        // Deep enough for the reader's look-ahead to meet its own cap first.
        let deeper = format!("a: {}\n", "[".repeat(100_000));
        for (text, words) in [
            ("a: 1\na: 2\n", "the key `a` appears twice in one mapping"),
            (deep.as_str(), "nested more than 64 levels deep"),
            (deeper.as_str(), "nested more than 64 levels deep"),
            ("a: &x [*x]\n", "an alias refers to a node that contains it"),
        ] {
            let (_, diags) = load(text);
            let d = diags.iter().next().expect("a diagnostic");
            let text = text.get(..40).unwrap_or(text);
            assert!(d.message.contains(words), "{text}: {}", d.message);
            for internal in [
                "Options",
                "budget",
                "Depth {",
                "weak recursion",
                "recursion limit",
            ] {
                assert!(!d.message.contains(internal), "{text}: {}", d.message);
            }
            assert!(d.span.is_some(), "{text}: no position");
        }
    }

    #[test]
    fn complex_keys_are_refused_with_their_position() {
        let (docs, diags) = load("a: 1\nb:\n  ? [x, y]\n  : c\n");
        assert!(docs.is_empty());
        let d = diags.iter().next().expect("a diagnostic");
        assert_eq!(d.code, crate::diagnostics::Code::ComplexKey);
        assert_eq!(d.span.map(|s| (s.line, s.column)), Some((3, 5)));
        assert_eq!(d.field_path.as_deref(), Some("b"));
    }

    #[test]
    fn an_explicit_tag_is_never_ambiguous() {
        let (_, diags) = load("a: !!str 007\nb: [!!str yes, !!str on]\nc: !!str\n  0755\n");
        assert!(diags.is_empty(), "{diags:?}");
        let (_, diags) = load("a: !!str 007\nb: 007\n");
        let lines: Vec<u32> = diags
            .iter()
            .filter_map(|d| d.span.map(|s| s.line))
            .collect();
        assert_eq!(lines, [2]);
    }

    #[test]
    fn a_file_that_is_not_utf8_is_refused_at_its_first_bad_byte() {
        let dir = std::env::temp_dir().join(format!("kopiaplan-utf8-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("latin1.yaml");
        std::fs::write(&path, b"apiVersion: v1\nkind: Caf\xe9\n").expect("write");
        let Err((sources, diags)) = read_inputs(std::slice::from_ref(&path)) else {
            panic!("read as text");
        };
        let d = diags.iter().next().expect("a diagnostic");
        assert_eq!(d.code, crate::diagnostics::Code::InputNotUtf8);
        assert!(d.message.contains("0xe9"), "{}", d.message);
        let span = d.span.expect("a position");
        assert_eq!((span.line, span.column), (2, 10));
        assert!(
            sources
                .line_text(span.file, 2)
                .is_some_and(|l| l.starts_with("kind: Caf"))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn flags_yaml_1_1_ambiguous_plain_scalars_only() {
        let (_, diags) =
            load("a: yes\nb: \"yes\"\nc: 0755\nd: '0755'\ne: 2024-01-01\nf: [on, 'off']\n");
        let lines: Vec<u32> = diags
            .iter()
            .filter_map(|d| d.span.map(|s| s.line))
            .collect();
        assert_eq!(lines, vec![1, 3, 5, 6], "{diags:?}");
        let first = diags.iter().next().expect("one");
        assert_eq!(first.field_path.as_deref(), Some("a"));
        assert!(first.help.as_deref().unwrap_or("").contains("\"yes\""));
    }

    #[test]
    fn refuses_alias_bombs() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let (docs, diags) = load(&text);
        assert!(docs.is_empty());
        let d = diags.iter().next().expect("an error");
        assert!(d.is_error());
        assert!(d.help.as_deref().unwrap_or("").contains("alias"), "{d:?}");
    }
}
