//! The kept items of a ResourceList written as their own source text. kpt
//! writes every item a function returns back to its file, keeping the
//! comments and scalar styles it is given: an item returned as the lines it
//! came in keeps its comments, quoting and block scalars byte for byte.
//!
//! An item is spliced only where that is safe, and re-serialised (its
//! values, as before) otherwise:
//! - the text has carriage returns (line ends this splicer does not track);
//! - the item is not a block mapping that starts on a `- ` line of its own
//!   (flow items such as `- {kind: A}` or `items: [...]`, two parts on one
//!   line, a `-` alone on its line);
//! - a line of the item has a tab in its indentation, or content indented
//!   less than the item's keys;
//! - the spliced text, read on its own, is not the item's value (an alias
//!   to an anchor defined elsewhere, a `|+` scalar whose trailing lines are
//!   cut, anything else this module did not foresee).
//!
//! The writer puts whole entries one after another at column 0, so each
//! reads back in the list as it read alone; the krm fuzz target checks the
//! whole output. (Reading the whole list back here too cost more than the
//! rest of a run of thousands of items.)

use crate::diagnostics::FileId;
use crate::load::{self, Node, Value};

/// A ResourceList's text, cut into lines, and where its parts start.
pub struct SourceText<'a> {
    /// Lines without their `\n`; line `n` (1-based) is `lines[n - 1]`.
    lines: Vec<&'a str>,
    /// The first lines of the items and top-level keys, sorted.
    starts: Vec<u32>,
    /// Whether splicing is possible at all.
    usable: bool,
}

impl<'a> SourceText<'a> {
    /// `starts`: the line of every item and every top-level key.
    pub fn new(text: &'a str, mut starts: Vec<u32>) -> Self {
        starts.sort_unstable();
        let mut lines: Vec<&str> = text.split('\n').collect();
        if text.ends_with('\n') {
            lines.pop();
        }
        Self {
            lines,
            starts,
            usable: !text.contains('\r'),
        }
    }

    /// A source that splices nothing.
    pub fn none() -> Self {
        Self {
            lines: Vec::new(),
            starts: Vec::new(),
            usable: false,
        }
    }

    /// The item's own lines as one element of a block sequence at column 0
    /// (`- ` then its keys at column 2), with its head comments; every line
    /// ends in `\n`. `None` where splicing is not safe (see the module).
    pub fn item(&self, item: &Node) -> Option<String> {
        if !self.usable {
            return None;
        }
        let spliced = self.splice(item)?;
        // Read back on its own: it must be exactly the item.
        let root = load::parse_single(FileId(0), &spliced).ok()??;
        match &root.value {
            Value::Sequence(read) if read.len() == 1 && read[0].to_json() == item.to_json() => {
                Some(spliced)
            }
            _ => None,
        }
    }

    fn splice(&self, item: &Node) -> Option<String> {
        let Value::Mapping(entries) = &item.value else {
            return None;
        };
        if entries.is_empty() {
            return None;
        }
        let start = item.position.line;
        // Sorted: the parts starting on the item's line, and the next part.
        let at = self.starts.partition_point(|s| *s < start);
        let after = self.starts.partition_point(|s| *s <= start);
        if after - at != 1 {
            return None;
        }
        let start_index = usize::try_from(start).ok()?.checked_sub(1)?;
        let first = *self.lines.get(start_index)?;
        // Columns count characters; the prefix checked below is ASCII.
        let column = usize::try_from(item.position.column).ok()?.checked_sub(1)?;
        let prefix: String = first.chars().take(column).collect();
        let rest = &first[prefix.len()..];
        if rest.starts_with(['{', '[']) || rest.is_empty() {
            return None;
        }
        // The `- ` is on the item's first line, or (kpt writes a document's
        // head comment so) on a line of its own above it: `- # comment`.
        let (top, top_text) = if is_dash(&prefix) {
            (start_index, format!("- {rest}"))
        } else if prefix.bytes().all(|b| b == b' ') {
            let top = (0..start_index).rev().find(|index| {
                let content = self.lines[*index].trim_start_matches(' ');
                !(content.is_empty() || content.starts_with('#'))
            })?;
            let line = self.lines[top];
            let dash = line.len() - line.trim_start_matches(' ').len();
            let after = &line[dash..];
            let comment = after.strip_prefix('-')?;
            if dash + 2 > column || !(comment.trim().is_empty() || comment.starts_with(" #")) {
                return None;
            }
            (top, format!("-{comment}"))
        } else {
            return None;
        };
        let next = self
            .starts
            .get(after)
            .map_or(self.lines.len(), |s| *s as usize - 1);
        // The item's lines end at the next part's `-`, a document marker or
        // the next part; a run of comments less indented than its keys at
        // the end is the next part's head.
        let between = &self.lines[top + 1..start_index + 1];
        let body: Vec<&str> = self.lines[start_index + 1..next]
            .iter()
            .copied()
            .take_while(|line| !ends_item(line, column))
            .collect();
        let body = &body[..body.len() - self.head_length(&body, column)];
        let head = &self.lines[..top];
        let head = &head[head.len() - self.head_length(head, column)..];

        let mut out = String::new();
        for line in head {
            push_shifted(&mut out, line, column);
        }
        out.push_str(&top_text);
        out.push('\n');
        for line in between.iter().chain(body) {
            let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
            if line[..indent].contains('\t') {
                return None;
            }
            let content = line.trim_start();
            if !content.is_empty() && !content.starts_with('#') && indent < column {
                return None;
            }
            push_shifted(&mut out, line, column);
        }
        Some(out)
    }

    /// How many lines at the end of `lines` are comments (and the blank
    /// lines between and after them) indented less than `column`: the head
    /// of the part that follows.
    fn head_length(&self, lines: &[&str], column: usize) -> usize {
        let mut length = 0;
        let mut comments = 0;
        for line in lines.iter().rev() {
            let content = line.trim_start_matches(' ');
            if content.is_empty() {
                length += 1;
            } else if content.starts_with('#') && line.len() - content.len() < column {
                length += 1;
                comments = length;
            } else {
                break;
            }
        }
        comments
    }
}

/// `  - ` before an item's first key.
fn is_dash(prefix: &str) -> bool {
    let dash = prefix.trim_start_matches(' ');
    dash.starts_with('-') && dash.len() > 1 && dash[1..].bytes().all(|b| b == b' ')
}

/// A document marker, or the `-` of the next item (less indented than the
/// item's keys), ends an item's lines.
fn ends_item(line: &str, column: usize) -> bool {
    let content = line.trim_start_matches(' ');
    is_document_marker(line) || (content.starts_with('-') && line.len() - content.len() < column)
}

fn is_document_marker(line: &str) -> bool {
    (line.starts_with("---") || line.starts_with("..."))
        && matches!(line.as_bytes().get(3), None | Some(b' ' | b'\t'))
}

/// `line` moved so that `column` becomes column 2; lines less indented (only
/// comments and blank lines are) start at column 0.
fn push_shifted(out: &mut String, line: &str, column: usize) {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if column >= 2 {
        out.push_str(&line[indent.min(column - 2)..]);
    } else {
        out.push_str(&" ".repeat(2 - column));
        out.push_str(line);
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spliced text of every item of a ResourceList, `None` where an
    /// item is re-serialised.
    fn spliced(list: &str) -> Vec<Option<String>> {
        let root = load::parse_single(FileId(0), list)
            .expect("YAML")
            .expect("a document");
        let Some(Value::Sequence(items)) = root.get("items").map(|n| n.value.clone()) else {
            panic!("no items");
        };
        let mut starts: Vec<u32> = items.iter().map(|item| item.position.line).collect();
        if let Value::Mapping(entries) = &root.value {
            starts.extend(entries.iter().map(|(key, _)| key.position.line));
        }
        let source = SourceText::new(list, starts);
        items.iter().map(|item| source.item(item)).collect()
    }

    #[test]
    fn indented_items_move_to_column_zero_with_their_comments() {
        let list = "items:\n  # head\n  -   a: 'x' # eol\n      b: |\n        text\n  - c: d\n";
        assert_eq!(
            spliced(list),
            [
                Some("# head\n- a: 'x' # eol\n  b: |\n    text\n".to_owned()),
                Some("- c: d\n".to_owned())
            ]
        );
    }

    #[test]
    fn a_head_comment_on_the_dash_line_stays_there() {
        let list = "items:\n- # head\n  a: b\n- c: d\n";
        assert_eq!(spliced(list)[0].as_deref(), Some("- # head\n  a: b\n"));
    }

    #[test]
    fn what_cannot_be_spliced_safely_is_not() {
        // Flow items, an alias to another item's anchor, a tab in the
        // indentation, carriage returns.
        assert_eq!(spliced("items: [{a: b}, {c: d}]\n"), [None, None]);
        assert_eq!(spliced("items:\n- {a: b}\n"), [None]);
        let alias = spliced("items:\n- a: &x {k: v}\n- b: *x\n");
        assert!(alias[0].is_some() && alias[1].is_none(), "{alias:?}");
        assert_eq!(spliced("items:\n- a: |\n    \tx\n"), [None]);
        assert_eq!(spliced("items:\r\n- a: b\r\n"), [None]);
    }
}
