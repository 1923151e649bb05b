//! A YAML stream as raw text: where each document starts and ends, to the
//! byte. The post-renderer replaces some documents and must copy every other
//! one exactly as it came (comments, `# Source:` lines, CRLF, odd
//! separators), so it works on these ranges, not on parsed values.
//!
//! The boundaries follow YAML 1.2 (§9.1): a line that starts with `---` or
//! `...` followed by a space, a tab, a line break or the end of the stream is
//! a document marker, wherever it appears, even inside a block scalar.
//! `---apiVersion: v1` is therefore not a marker, but a plain scalar.

use std::ops::Range;

/// One document of a stream, with everything around it that belongs to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDocument {
    /// The bytes of the document in the stream: its `---` line (if any), the
    /// comments and the content, and its `...` line (if any). The ranges of
    /// a stream's documents are adjacent and cover the whole stream.
    pub range: Range<usize>,
    /// The 1-based line of the stream on which the range starts.
    pub first_line: u32,
    /// Whether the range ends with a `...` line. The next document then may
    /// start without `---` (or with directives), so whoever replaces this
    /// document must end the replacement with `...` too.
    pub ends_with_end_marker: bool,
}

impl RawDocument {
    pub fn text<'a>(&self, stream: &'a str) -> &'a str {
        &stream[self.range.clone()]
    }

    /// The comment lines before the document's content, with their line
    /// numbers, without `#` and surrounding blanks: Helm 3 writes
    /// `# Source: chart/templates/x.yaml` there.
    pub fn leading_comments<'a>(&self, stream: &'a str) -> Vec<(u32, &'a str)> {
        let mut comments = Vec::new();
        for (index, line) in lines(self.text(stream)).enumerate() {
            let line = line.trim_end_matches(['\r', '\n']);
            let line = line.trim_start_matches('\u{feff}');
            let line = if index == 0 && is_marker(line, "---") {
                line[3..].trim()
            } else {
                line.trim()
            };
            if line.is_empty() || line.starts_with('%') {
                continue;
            }
            match line.strip_prefix('#') {
                Some(comment) => {
                    let number = self
                        .first_line
                        .saturating_add(u32::try_from(index).unwrap_or(u32::MAX));
                    comments.push((number, comment.trim()));
                }
                None => break,
            }
        }
        comments
    }
}

impl RawDocument {
    /// What comes before the document's `---` line: comments (and blank
    /// lines) at the start of the stream. Whoever replaces the document
    /// keeps them. Empty when the range has no `---` line.
    pub fn before_marker<'a>(&self, stream: &'a str) -> &'a str {
        let text = self.text(stream);
        let mut offset = 0;
        for line in lines(text) {
            let bare = if offset == 0 {
                line.trim_start_matches('\u{feff}')
            } else {
                line
            };
            if is_marker(bare, "---") {
                return &text[..offset];
            }
            let trimmed = bare.trim();
            if !(trimmed.is_empty() || trimmed.starts_with('#')) {
                return "";
            }
            offset += line.len();
        }
        ""
    }
}

/// The lines of `text` with their line breaks. YAML 1.2 breaks lines at
/// `\r\n`, `\n` and a lone `\r` (old Mac files), and so does this.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = match rest.find(['\n', '\r']) {
            Some(i) if rest[i..].starts_with("\r\n") => i + 2,
            Some(i) => i + 1,
            None => rest.len(),
        };
        let (line, tail) = rest.split_at(end);
        rest = tail;
        Some(line)
    })
}

/// What a quick, lenient look at a document tells: enough to decide its
/// [`crate::parse::Role`] and to name it, without judging the rest of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Head {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
}

/// Reads the head of each document of `text` (one range of a stream),
/// ignoring everything else: duplicate keys, YAML 1.1 scalars, values
/// kopiaplan would refuse. A document that is not a mapping has an empty
/// head; documents without content are left out. `None` when the text is
/// not YAML at all.
pub fn peek(text: &str) -> Option<Vec<Head>> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Document {
        Mapping(Box<Fields>),
        Other(serde::de::IgnoredAny),
    }
    #[derive(serde::Deserialize)]
    struct Fields {
        #[serde(rename = "apiVersion")]
        api_version: Option<serde_json::Value>,
        kind: Option<serde_json::Value>,
        metadata: Option<serde_json::Value>,
    }
    let documents: Vec<Option<Document>> =
        serde_saphyr::from_str_multiple_with_options(text, lenient()).ok()?;
    let text_of =
        |value: Option<&serde_json::Value>| value.and_then(|v| v.as_str()).map(str::to_owned);
    Some(
        documents
            .into_iter()
            .flatten()
            .map(|document| match document {
                Document::Mapping(fields) => {
                    let metadata = fields.metadata.as_ref();
                    Head {
                        api_version: text_of(fields.api_version.as_ref()),
                        kind: text_of(fields.kind.as_ref()),
                        name: text_of(metadata.and_then(|m| m.get("name"))),
                        namespace: text_of(metadata.and_then(|m| m.get("namespace"))),
                    }
                }
                Document::Other(_) => Head::default(),
            })
            .collect(),
    )
}

/// Adds to `found` every scalar and key of the documents of `text`, as
/// text, read as leniently as [`peek`] reads, aliases expanded. `None`
/// when the text is not YAML.
pub fn scalars(text: &str, found: &mut std::collections::HashSet<String>) -> Option<()> {
    fn walk(value: serde_json::Value, found: &mut std::collections::HashSet<String>) {
        match value {
            serde_json::Value::String(text) => {
                found.insert(text);
            }
            serde_json::Value::Number(number) => {
                found.insert(number.to_string());
            }
            serde_json::Value::Bool(flag) => {
                found.insert(flag.to_string());
            }
            serde_json::Value::Null => {}
            serde_json::Value::Array(items) => items.into_iter().for_each(|v| walk(v, found)),
            serde_json::Value::Object(fields) => {
                for (key, value) in fields {
                    found.insert(key);
                    walk(value, found);
                }
            }
        }
    }
    let documents: Vec<Option<serde_json::Value>> =
        serde_saphyr::from_str_multiple_with_options(text, lenient()).ok()?;
    documents.into_iter().flatten().for_each(|v| walk(v, found));
    Some(())
}

/// How [`peek`] and [`scalars`] read: the last of duplicate keys wins,
/// and the default limits hold (aliases, depth).
fn lenient() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::LastWins;
    options.with_snippet = false;
    options
}

/// Splits a stream into its documents. Empty text has no documents; text
/// holding only comments is one (empty) document.
pub fn split(text: &str) -> Vec<RawDocument> {
    let mut documents = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    // What the current range holds so far: a `---` marker, content.
    let mut has_marker = false;
    let mut has_content = false;
    let mut offset = 0;
    for (line_number, line) in (1..).zip(lines(text)) {
        let bare = if offset == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            line
        };
        if is_marker(bare, "---") {
            if has_marker || has_content {
                documents.push(RawDocument {
                    range: start..offset,
                    first_line: start_line,
                    ends_with_end_marker: false,
                });
                start = offset;
                start_line = line_number;
            }
            has_marker = true;
            let rest = bare[3..].trim();
            has_content = !rest.is_empty() && !rest.starts_with('#');
        } else if is_marker(bare, "...") {
            let end = offset + line.len();
            documents.push(RawDocument {
                range: start..end,
                first_line: start_line,
                ends_with_end_marker: true,
            });
            start = end;
            start_line = line_number + 1;
            has_marker = false;
            has_content = false;
        } else if !has_content {
            let trimmed = bare.trim();
            has_content =
                !(trimmed.is_empty() || trimmed.starts_with('#') || bare.starts_with('%'));
        }
        offset += line.len();
    }
    if start < text.len() {
        documents.push(RawDocument {
            range: start..text.len(),
            first_line: start_line,
            ends_with_end_marker: false,
        });
    }
    documents
}

/// `---` or `...` at the start of a line, followed by white space, a line
/// break or nothing.
fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<&str> {
        split(text).iter().map(|d| d.text(text)).collect()
    }

    #[test]
    fn ranges_cover_the_stream_exactly() {
        let text = "a: 1\r\n---\r\n# c\r\nb: 2\r\n--- # x\nc: 3";
        let documents = split(text);
        let joined: String = documents.iter().map(|d| d.text(text)).collect();
        assert_eq!(joined, text);
        assert_eq!(
            pieces(text),
            ["a: 1\r\n", "---\r\n# c\r\nb: 2\r\n", "--- # x\nc: 3"]
        );
        let lines: Vec<u32> = documents.iter().map(|d| d.first_line).collect();
        assert_eq!(lines, [1, 2, 5]);
    }

    #[test]
    fn comments_before_the_first_marker_stay_with_the_first_document() {
        assert_eq!(
            pieces("# top\n\n---\na: 1\n---\nb: 2\n"),
            ["# top\n\n---\na: 1\n", "---\nb: 2\n"]
        );
        assert_eq!(pieces("%YAML 1.2\n---\na: 1\n"), ["%YAML 1.2\n---\na: 1\n"]);
    }

    #[test]
    fn lone_carriage_returns_break_lines() {
        assert_eq!(
            pieces("a: 1\r---\rb: 2\r\n---\nc: 3"),
            ["a: 1\r", "---\rb: 2\r\n", "---\nc: 3"]
        );
        let text = "a: 1\r---\rb: 2\r";
        let lines: Vec<u32> = split(text).iter().map(|d| d.first_line).collect();
        assert_eq!(lines, [1, 2]);
    }

    #[test]
    fn what_comes_before_the_marker_is_only_comments() {
        let text = "# top\n\n---\na: 1\n---\nb: 2\n";
        let documents = split(text);
        assert_eq!(documents[0].before_marker(text), "# top\n\n");
        assert_eq!(documents[1].before_marker(text), "");
        let text = "a: 1\n";
        assert_eq!(split(text)[0].before_marker(text), "");
    }

    #[test]
    fn only_real_markers_split() {
        // `---x` and ` ---` are content; `--- |` starts a document whose
        // block scalar may hold `# text` at column 0.
        assert_eq!(
            pieces("a: |\n  ---\n---x: 1\n--- |\n# not a comment\n---\t\nb\n"),
            [
                "a: |\n  ---\n---x: 1\n",
                "--- |\n# not a comment\n",
                "---\t\nb\n"
            ]
        );
    }

    #[test]
    fn end_markers_close_documents() {
        let text = "a: 1\n...\n%YAML 1.2\n---\nb: 2\n...\nc: 3\n";
        let documents = split(text);
        assert_eq!(
            pieces(text),
            ["a: 1\n...\n", "%YAML 1.2\n---\nb: 2\n...\n", "c: 3\n"]
        );
        let ends: Vec<bool> = documents.iter().map(|d| d.ends_with_end_marker).collect();
        assert_eq!(ends, [true, true, false]);
    }

    #[test]
    fn empty_documents_are_kept() {
        assert_eq!(pieces("---\n---\na: 1\n"), ["---\n", "---\na: 1\n"]);
        assert_eq!(pieces(""), Vec::<&str>::new());
        assert_eq!(pieces("# only a comment"), ["# only a comment"]);
        assert_eq!(pieces("\u{feff}---\na: 1\n"), ["\u{feff}---\na: 1\n"]);
    }

    #[test]
    fn leading_comments_are_found_after_the_marker() {
        let text = "---\r\n# Source: chart/templates/plan.yaml\r\n# two\r\nkind: X\r\n# late\r\n";
        let documents = split(text);
        assert_eq!(
            documents[0].leading_comments(text),
            [(2, "Source: chart/templates/plan.yaml"), (3, "two")]
        );
    }

    #[test]
    fn peeking_reads_the_head_and_forgives_the_rest() {
        let heads = peek(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: web}\n\
             data: {a: yes, a: no}\nodd: !!binary aGVsbG8=\n",
        )
        .expect("readable");
        assert_eq!(
            heads,
            [Head {
                api_version: Some("v1".into()),
                kind: Some("Secret".into()),
                name: Some("s".into()),
                namespace: Some("web".into()),
            }]
        );
        assert_eq!(peek("---\n# only a comment\n"), Some(vec![]));
        assert_eq!(peek("- a list\n"), Some(vec![Head::default()]));
        assert_eq!(peek("--- |\n  text\n"), Some(vec![Head::default()]));
        assert_eq!(peek("a: [unclosed\n"), None);
    }
}
