//! A YAML document as a tree whose every key and value remembers where it was
//! written. serde-saphyr parses; this tree keeps the positions so that later
//! stages can point at the exact line of any field path.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// Where a node starts: 1-based line and column (characters) and, when known,
/// the byte offset into the file's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub line: u32,
    pub column: u32,
    pub byte: Option<usize>,
    /// Length of the node's text in characters, when the parser knows it.
    pub len: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub position: Position,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Sequence(Vec<Node>),
    /// Keys keep their own positions, for "unknown field" diagnostics.
    Mapping(Vec<(Node, Node)>),
}

/// One step of a field path: `spec`, `backups`, `[3]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

/// Renders a path the way users write it: `spec.backups[3].schedule`.
pub fn display_path(path: &[PathSegment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            PathSegment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            PathSegment::Index(index) => {
                out.push_str(&format!("[{index}]"));
            }
        }
    }
    out
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, value)| value)
    }

    /// The key node and value node of a mapping entry.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.value {
            Value::Mapping(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The node at `path`, and whether the last step named a key (so that a
    /// diagnostic about that key can point at the key rather than its value).
    /// Returns the deepest node reached when the path leaves the tree.
    pub fn locate(&self, path: &[PathSegment]) -> Located<'_> {
        let mut node = self;
        let mut key_node = None;
        for (depth, segment) in path.iter().enumerate() {
            let next = match (segment, &node.value) {
                (PathSegment::Key(key), Value::Mapping(entries)) => entries
                    .iter()
                    .find(|(k, _)| k.scalar_text().as_deref() == Some(key.as_str()))
                    .map(|(k, v)| (Some(k), v)),
                (PathSegment::Index(index), Value::Sequence(items)) => {
                    items.get(*index).map(|item| (None, item))
                }
                _ => None,
            };
            match next {
                Some((key, value)) => {
                    key_node = key;
                    node = value;
                }
                None => {
                    return Located {
                        node,
                        key: None,
                        complete: false,
                        depth,
                    };
                }
            }
        }
        Located {
            node,
            key: key_node,
            complete: true,
            depth: path.len(),
        }
    }

    /// The text of a scalar as written, for keys and messages.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Null => Some("null".into()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// The tree as JSON, the form typed deserialization reads.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Sequence(items) => {
                serde_json::Value::Array(items.iter().map(Node::to_json).collect())
            }
            Value::Mapping(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.scalar_text().unwrap_or_default(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Moves the node and everything below it down by `lines` lines and
    /// `bytes` bytes: a document parsed on its own gets the positions it has
    /// in the stream it was cut from (which starts it at a line start, so
    /// columns stay).
    pub fn shift(&mut self, lines: u32, bytes: usize) {
        self.position.line = self.position.line.saturating_add(lines);
        self.position.byte = self.position.byte.map(|b| b.saturating_add(bytes));
        match &mut self.value {
            Value::Sequence(items) => items.iter_mut().for_each(|item| item.shift(lines, bytes)),
            Value::Mapping(entries) => {
                for (key, value) in entries {
                    key.shift(lines, bytes);
                    value.shift(lines, bytes);
                }
            }
            _ => {}
        }
    }

    /// Calls `visit` on every node with its path, depth first.
    pub fn walk<'a>(
        &'a self,
        path: &mut Vec<PathSegment>,
        visit: &mut dyn FnMut(&[PathSegment], &'a Node),
    ) {
        visit(path, self);
        match &self.value {
            Value::Sequence(items) => {
                for (index, item) in items.iter().enumerate() {
                    path.push(PathSegment::Index(index));
                    item.walk(path, visit);
                    path.pop();
                }
            }
            Value::Mapping(entries) => {
                for (key, value) in entries {
                    path.push(PathSegment::Key(key.scalar_text().unwrap_or_default()));
                    value.walk(path, visit);
                    path.pop();
                }
            }
            _ => {}
        }
    }
}

pub struct Located<'a> {
    pub node: &'a Node,
    /// The key node of the last path step, when that step was a mapping key.
    pub key: Option<&'a Node>,
    /// False when the path leaves the tree; `node` is then the deepest node reached.
    pub complete: bool,
    pub depth: usize,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        let location = spanned.referenced;
        let span = location.span();
        Ok(Node {
            value: spanned.value,
            position: Position {
                line: u32::try_from(location.line()).unwrap_or(u32::MAX),
                column: u32::try_from(location.column()).unwrap_or(u32::MAX),
                byte: span.byte_offset().and_then(|b| usize::try_from(b).ok()),
                len: u32::try_from(span.len()).unwrap_or(0),
            },
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        i64::try_from(v)
            .map(|v| Value::Number(v.into()))
            .map_err(|_| E::custom(format!("the number {v} is too large")))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        u64::try_from(v)
            .map(|v| Value::Number(v.into()))
            .map_err(|_| E::custom(format!("the number {v} is too large")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("infinite and NaN numbers are not allowed; quote the value"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Value, E> {
        Err(E::custom("binary values are not supported"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        // The parser gives no size hint: without this, a mapping of one
        // entry holds four (an entry is two nodes of 64 bytes), and a
        // stream's thousands of small documents stay parsed until the end.
        items.shrink_to_fit();
        Ok(Value::Sequence(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        // Complex keys (`? [a, b]`) are kept here and refused, with their
        // position, by `load::complex_keys`.
        while let Some((key, value)) = map.next_entry::<Node, Node>()? {
            entries.push((key, value));
        }
        entries.shrink_to_fit();
        Ok(Value::Mapping(entries))
    }
}
