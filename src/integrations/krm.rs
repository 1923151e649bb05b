//! The KRM function (kustomize's and kpt's `ResourceList` protocol,
//! `config.kubernetes.io/v1`) and kustomize's legacy exec-plugin convention.
//!
//! A plan can be the `functionConfig` (a generator: its objects are added)
//! and plans can be among the `items` (a transformer: each is replaced by
//! its objects, unless it is marked `config.kubernetes.io/local-config`,
//! which keeps it). Other items are kept as they came; context items
//! (Secrets, ConfigMaps, PVCs, Namespaces) are also read for cross-checks.
//! Objects an earlier run compiled from the same plans are dropped and
//! compiled again, so that running the function twice changes nothing.
//! Every diagnostic becomes an entry of `results`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value as Json, json};

use super::IntegrationError;
use super::item_text::SourceText;
use super::{Owner, STDIN, annotate, compile_owned, post_render, take_bookkeeping};
use crate::diagnostics::{Diagnostic, Diagnostics, FileId, Severity, SourceMap};
use crate::emit::labels;
use crate::load::{self, Document, Node, Value, stream};
use crate::output::Object;
use crate::parse::{self, Role};

pub const RESOURCE_LIST: &str = "ResourceList";
pub const DEFAULT_API_VERSION: &str = "config.kubernetes.io/v1";
/// Where an item is stored (a path relative to the package), and its
/// position in that file; kpt and kustomize write both spellings.
pub const PATH: &str = "internal.config.kubernetes.io/path";
pub const INDEX: &str = "internal.config.kubernetes.io/index";
pub const LEGACY_PATH: &str = "config.kubernetes.io/path";
pub const LEGACY_INDEX: &str = "config.kubernetes.io/index";
pub const LOCAL_CONFIG: &str = "config.kubernetes.io/local-config";
/// The name of a functionConfig that has no file (kustomize passes a
/// generator's configuration so).
pub const FUNCTION_CONFIG: &str = "<functionConfig>";
/// The name kopiaplan gives a kustomize plugin's configuration file (a
/// temporary file whose name changes on every run).
pub const PLUGIN_CONFIG: &str = "<plugin config>";

/// What the KRM function produced.
#[derive(Debug)]
pub struct KrmOutput {
    /// The input, for rendering the diagnostics.
    pub sources: SourceMap,
    /// The ResourceList to write, with `results`: the compiled items, or
    /// the input's items unchanged when there was an error. `None` only
    /// when it cannot be serialised.
    pub output: Option<String>,
    pub diagnostics: Diagnostics,
}

impl KrmOutput {
    pub fn failed(&self) -> bool {
        self.diagnostics.has_errors() || self.output.is_none()
    }
}

/// What becomes of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Keep,
    Drop,
    /// Compiled; its objects take its place (after it, when it is kept).
    Compile {
        keep: bool,
    },
}

/// An item or the functionConfig, the things `results` can refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Item(usize),
    FunctionConfig,
}

/// Where each item and the functionConfig start in the ResourceList's
/// text: a generated object or a diagnostic belongs to the part whose lines
/// hold its line.
struct Layout {
    /// Start lines, sorted; top-level keys end the part before them.
    starts: Vec<(u32, Option<Part>)>,
}

impl Layout {
    fn new(root: &Node, items: &[Node], function_config: Option<&Node>) -> Self {
        let mut starts: Vec<(u32, Option<Part>)> = items
            .iter()
            .enumerate()
            .map(|(index, item)| (item.position.line, Some(Part::Item(index))))
            .collect();
        if let Some(config) = function_config {
            starts.push((config.position.line, Some(Part::FunctionConfig)));
        }
        if let Value::Mapping(entries) = &root.value {
            starts.extend(entries.iter().map(|(key, _)| (key.position.line, None)));
        }
        starts.sort_by_key(|(line, _)| *line);
        Self { starts }
    }

    fn part_at(&self, line: u32) -> Option<Part> {
        self.starts
            .iter()
            .take_while(|(start, _)| *start <= line)
            .last()
            .and_then(|(_, part)| *part)
    }

    /// The first line after the part starting at `line`.
    fn end_after(&self, line: u32) -> u32 {
        self.starts
            .iter()
            .map(|(start, _)| *start)
            .find(|start| *start > line)
            .unwrap_or(u32::MAX)
    }
}

/// Runs the KRM function on a ResourceList.
pub fn resource_list(text: String) -> KrmOutput {
    resource_list_in_context(text, Vec::new(), true)
}

/// [`resource_list`] with cluster context files (name and text), read like
/// `compile --context` and never written. A `kind: List` item of the
/// ResourceList is cluster context too: read, and dropped from the items.
/// `infer: false` is `--no-infer`.
pub fn resource_list_in_context(
    text: String,
    context: Vec<(String, String)>,
    infer: bool,
) -> KrmOutput {
    let mut sources = SourceMap::default();
    let file = sources.add(STDIN.to_owned(), text);
    for (name, text) in context {
        sources.add_context(name, text);
    }
    let root = match read_resource_list(&sources, file) {
        Ok(root) => root,
        Err(diagnostic) => {
            let diagnostics = Diagnostics::from(diagnostic);
            let output = write_list(
                DEFAULT_API_VERSION,
                Vec::new(),
                &SourceText::none(),
                &diagnostics,
                |_| None,
            );
            return KrmOutput {
                sources,
                output,
                diagnostics,
            };
        }
    };
    let api_version = root
        .get("apiVersion")
        .and_then(Node::as_str)
        .unwrap_or(DEFAULT_API_VERSION)
        .to_owned();
    let empty = Vec::new();
    let items = match root.get("items").map(|n| &n.value) {
        Some(Value::Sequence(items)) => items,
        _ => &empty,
    };
    let function_config = root
        .get("functionConfig")
        .filter(|n| !matches!(n.value, Value::Null));
    let text = sources.file(file).text.as_str();

    let config_plan = function_config.filter(|n| parse::role_of(n) == Role::Compiled);
    let plan_names: BTreeSet<&str> = items
        .iter()
        .chain(config_plan)
        .filter(|item| parse::role_of(item) == Role::Compiled)
        .filter_map(|item| meta_str(item, "name"))
        .collect();
    let fates: Vec<Fate> = items
        .iter()
        .map(|item| match parse::role_of(item) {
            Role::Compiled if config_plan.is_some_and(|c| identity(c) == identity(item)) => {
                // kustomize hands a generator its own configuration as an
                // item too: it is the functionConfig, compiled once.
                if is_local_config(item) {
                    Fate::Keep
                } else {
                    Fate::Drop
                }
            }
            Role::Compiled => Fate::Compile {
                keep: is_local_config(item),
            },
            _ if is_previous_output(item, &plan_names) || load::is_list(item) => Fate::Drop,
            _ => Fate::Keep,
        })
        .collect();

    let layout = Layout::new(&root, items, function_config);
    let source = SourceText::new(text, layout.starts.iter().map(|(line, _)| *line).collect());
    let node_of = |part: Part| -> Option<&Node> {
        match part {
            Part::Item(index) => items.get(index),
            Part::FunctionConfig => function_config,
        }
    };

    let mut documents = Vec::new();
    let mut diagnostics = Diagnostics::default();
    let mut owners = Vec::new();
    let mut owner_parts = Vec::new();
    let compiled_parts = items
        .iter()
        .enumerate()
        .filter(|(index, _)| matches!(fates[*index], Fate::Compile { .. }))
        .map(|(index, item)| (Part::Item(index), item))
        .chain(config_plan.map(|config| (Part::FunctionConfig, config)));
    for (part, node) in compiled_parts {
        let line = node.position.line;
        if owners.iter().any(|owner: &Owner| owner.first_line == line) {
            diagnostics.push(
                Diagnostic::new(&IntegrationError::PlansOnOneLine)
                    .at(Some(load::span_of_node(file, node)))
                    .help("write each item of the ResourceList on lines of its own (block YAML)"),
            );
        }
        // kpt and kustomize re-write what they read (and add annotations):
        // the source annotation names the file only.
        owners.push(Owner {
            file,
            first_line: line,
            end_line: layout.end_after(line),
            name: Some(path_of(node).unwrap_or_else(|| match part {
                Part::FunctionConfig => FUNCTION_CONFIG.to_owned(),
                Part::Item(_) => STDIN.to_owned(),
            })),
            line_base: None,
        });
        owner_parts.push(part);
        let index = match part {
            Part::Item(index) => index,
            Part::FunctionConfig => items.len(),
        };
        let mut document = Document {
            file,
            index,
            root: node.clone(),
            cluster: false,
        };
        diagnostics.extend(load::check_ambiguities(&document, text));
        take_bookkeeping(&mut document.root);
        documents.push(document);
    }
    for (index, item) in items.iter().enumerate() {
        if fates[index] == Fate::Keep && parse::role_of(item) == Role::Context {
            let document = Document {
                file,
                index,
                root: item.clone(),
                cluster: false,
            };
            diagnostics.extend(load::check_ambiguities(&document, text));
            documents.push(document);
        } else if fates[index] == Fate::Keep && parse::role_of(item) == Role::Workload {
            // Read for what plans take from it; kept as it is.
            documents.push(Document {
                file,
                index,
                root: item.clone(),
                cluster: false,
            });
        } else if load::is_list(item) {
            load::push_document(&mut documents, file, index, item.clone(), true);
        }
    }
    let (context, context_diagnostics) = load::parse_context(&sources);
    documents.extend(context);
    diagnostics.extend(context_diagnostics);

    let reference = |diagnostic: &Diagnostic| {
        let span = diagnostic.span.filter(|span| span.file == file)?;
        node_of(layout.part_at(span.line)?)
    };
    let (owned, diagnostics) =
        match compile_owned(&sources, &documents, diagnostics, &owners, infer, false) {
            Ok((owned, warnings)) => (owned, warnings),
            Err(diagnostics) => {
                let unchanged = items
                    .iter()
                    .filter(|item| !load::is_list(item))
                    .map(Item::Input)
                    .collect();
                let output = write_list(&api_version, unchanged, &source, &diagnostics, reference);
                return KrmOutput {
                    sources,
                    output,
                    diagnostics,
                };
            }
        };

    // The items that stay, then the generated objects at their plans' places.
    let mut next_index: BTreeMap<String, u64> = BTreeMap::new();
    for (item, fate) in items.iter().zip(&fates) {
        if matches!(fate, Fate::Keep | Fate::Compile { keep: true })
            && let Some(path) = path_of(item)
        {
            let index = index_of(item).map_or(0, |i| i + 1);
            let next = next_index.entry(path).or_insert(0);
            *next = (*next).max(index);
        }
    }
    let mut generated_by_part: BTreeMap<usize, Vec<Item>> = BTreeMap::new();
    for (objects, part) in owned.into_iter().zip(&owner_parts) {
        let node = node_of(*part);
        // A plan without a file (a functionConfig) gets one of its own.
        let path = node.and_then(path_of).unwrap_or_else(|| {
            let plan = node.and_then(|n| meta_str(n, "name")).unwrap_or("plan");
            format!("kopiaplan-{plan}.yaml")
        });
        let slot = match part {
            Part::Item(index) => *index,
            Part::FunctionConfig => items.len(),
        };
        for object in objects {
            let next = next_index.entry(path.clone()).or_insert(0);
            let index = next.to_string();
            *next += 1;
            let mut object = object;
            annotate(
                &mut object,
                &BTreeMap::from([
                    (PATH.to_owned(), path.clone()),
                    (LEGACY_PATH.to_owned(), path.clone()),
                    (INDEX.to_owned(), index.clone()),
                    (LEGACY_INDEX.to_owned(), index),
                ]),
            );
            generated_by_part
                .entry(slot)
                .or_default()
                .push(Item::Generated(Box::new(object)));
        }
    }
    let mut output_items = Vec::new();
    for (index, (item, fate)) in items.iter().zip(&fates).enumerate() {
        if matches!(fate, Fate::Keep | Fate::Compile { keep: true }) {
            output_items.push(Item::Input(item));
        }
        output_items.extend(generated_by_part.remove(&index).unwrap_or_default());
    }
    output_items.extend(generated_by_part.remove(&items.len()).unwrap_or_default());
    let output = write_list(&api_version, output_items, &source, &diagnostics, reference);
    KrmOutput {
        sources,
        output,
        diagnostics,
    }
}

/// Whether a stream is one KRM ResourceList. A bare `kopiaplan` is run
/// both by Helm 3 (a manifest stream) and by kustomize and kpt as an exec
/// function (which cannot pass arguments): this tells them apart. Helm never
/// renders a ResourceList, which is no Kubernetes API object.
pub fn is_resource_list(text: &str) -> bool {
    let documents = stream::split(text);
    let mut objects = documents
        .iter()
        .filter_map(|raw| stream::peek(raw.text(text)))
        .flatten();
    // A chart's stream is told by its first object.
    objects
        .next()
        .is_some_and(|head| is_resource_list_head(&head))
        && objects.next().is_none()
}

/// Whether an object is a ResourceList.
pub(super) fn is_resource_list_head(head: &stream::Head) -> bool {
    head.kind.as_deref() == Some(RESOURCE_LIST)
        && head
            .api_version
            .as_deref()
            .is_some_and(|v| v.starts_with("config.kubernetes.io/"))
}

/// kustomize's legacy exec plugin: the plan kustomize is configured with
/// (`config`), and for a transformer the current resources on standard input
/// (a YAML stream, which is post-rendered: plans in it are compiled too).
pub fn kustomize_plugin(config: String, resources: String) -> post_render::PostRendered {
    kustomize_plugin_in_context(config, resources, Vec::new(), true)
}

/// [`kustomize_plugin`] with cluster context files (name and text).
pub fn kustomize_plugin_in_context(
    config: String,
    resources: String,
    context: Vec<(String, String)>,
    infer: bool,
) -> post_render::PostRendered {
    let mut sources = SourceMap::default();
    let stream = sources.add(STDIN.to_owned(), resources);
    let plan = sources.add(PLUGIN_CONFIG.to_owned(), config);
    for (name, text) in context {
        sources.add_context(name, text);
    }
    post_render::render(sources, stream, Some(plan), infer)
}

fn read_resource_list(sources: &SourceMap, file: FileId) -> Result<Node, Diagnostic> {
    let root = load::parse_single(file, &sources.file(file).text)?.ok_or_else(|| {
        Diagnostic::new(&IntegrationError::EmptyResourceList)
            .help("run kopiaplan krm from kustomize or kpt, or pipe a ResourceList into it")
    })?;
    let kind = root.get("kind").and_then(Node::as_str);
    if kind != Some(RESOURCE_LIST) {
        return Err(Diagnostic::new(&IntegrationError::NotAResourceList {
            kind: kind.unwrap_or("?").to_owned(),
        })
        .at(Some(load::span_of_node(file, &root)))
        .field("kind")
        .help("`kopiaplan krm` speaks the KRM function protocol; use `kopiaplan compile` for plain YAML"));
    }
    match root.get("items").map(|n| &n.value) {
        None | Some(Value::Null | Value::Sequence(_)) => Ok(root),
        Some(_) => Err(Diagnostic::new(&IntegrationError::ItemsNotAList)
            .field("items")
            .help("write `items: []` for no items")),
    }
}

/// An item of the ResourceList to write. Each becomes text only while it
/// is written, one at a time: the list never exists as one JSON tree, which
/// took many times the output's size (issue 17).
enum Item<'a> {
    /// An item of the input, kept: written as its own text where that is
    /// safe ([`SourceText`]), else as its values.
    Input(&'a Node),
    /// A compiled object.
    Generated(Box<Object>),
}

/// The head of a ResourceList, in the order its fields are written.
#[derive(Serialize)]
struct Head<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    kind: &'a str,
}

#[derive(Serialize)]
struct Results<'a> {
    results: &'a [Json],
}

/// The ResourceList to write: the items and a result for every diagnostic.
fn write_list<'a>(
    api_version: &str,
    items: Vec<Item<'_>>,
    source: &SourceText<'_>,
    diagnostics: &Diagnostics,
    reference: impl Fn(&Diagnostic) -> Option<&'a Node>,
) -> Option<String> {
    let results: Vec<Json> = diagnostics
        .iter()
        .map(|diagnostic| result(diagnostic, reference(diagnostic)))
        .collect();
    let mut out = serde_saphyr::to_string(&Head {
        api_version,
        kind: RESOURCE_LIST,
    })
    .ok()?;
    out.push_str(if items.is_empty() {
        "items: []\n"
    } else {
        "items:\n"
    });
    // Each item is a whole entry of a block sequence at column 0, ending in
    // a line break, that reads back alone as its value: one after another,
    // they read back as the same values (the krm fuzz target checks it).
    for item in &items {
        match item {
            Item::Input(node) => match source.item(node) {
                Some(text) => out.push_str(&text),
                None => out.push_str(&serde_saphyr::to_string(&[node.to_json()]).ok()?),
            },
            Item::Generated(object) => {
                out.push_str(&serde_saphyr::to_string(&[&*object.value()]).ok()?);
            }
        }
    }
    if !results.is_empty() {
        out.push_str(&serde_saphyr::to_string(&Results { results: &results }).ok()?);
    }
    Some(out)
}

/// One entry of `results`: severity, message, and where known the resource,
/// field path and file.
fn result(diagnostic: &Diagnostic, node: Option<&Node>) -> Json {
    let mut message = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        message.push_str("; ");
        message.push_str(help);
    }
    let severity = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut entry = serde_json::Map::new();
    entry.insert("message".into(), Json::String(message));
    entry.insert("severity".into(), Json::String(severity.into()));
    entry.insert(
        "tags".into(),
        serde_json::json!({ "kopiaplan.dev/code": diagnostic.code }),
    );
    if let Some(node) = node {
        let mut reference = serde_json::Map::new();
        for (key, value) in [
            ("apiVersion", node.get("apiVersion").and_then(Node::as_str)),
            ("kind", node.get("kind").and_then(Node::as_str)),
            ("name", meta_str(node, "name")),
            ("namespace", meta_str(node, "namespace")),
        ] {
            if let Some(value) = value {
                reference.insert(key.into(), Json::String(value.to_owned()));
            }
        }
        entry.insert("resourceRef".into(), Json::Object(reference));
    }
    if let Some(path) = &diagnostic.field_path {
        entry.insert("field".into(), json!({ "path": path }));
    }
    if let Some(path) = node.and_then(path_of) {
        let mut file = json!({ "path": path });
        if let Some(index) = node.and_then(index_of) {
            file["index"] = json!(index);
        }
        entry.insert("file".into(), file);
    }
    Json::Object(entry)
}

fn meta_str<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.get("metadata")?.get(key)?.as_str()
}

fn annotation<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

fn path_of(node: &Node) -> Option<String> {
    annotation(node, PATH)
        .or_else(|| annotation(node, LEGACY_PATH))
        .map(str::to_owned)
}

fn index_of(node: &Node) -> Option<u64> {
    annotation(node, INDEX)
        .or_else(|| annotation(node, LEGACY_INDEX))
        .and_then(|index| index.parse().ok())
}

fn is_local_config(node: &Node) -> bool {
    annotation(node, LOCAL_CONFIG) == Some("true")
}

fn identity(node: &Node) -> [Option<&str>; 4] {
    [
        node.get("apiVersion").and_then(Node::as_str),
        node.get("kind").and_then(Node::as_str),
        meta_str(node, "namespace"),
        meta_str(node, "name"),
    ]
}

/// An object kopiaplan compiled from one of `plans` in an earlier run.
fn is_previous_output(node: &Node, plans: &BTreeSet<&str>) -> bool {
    let label = |key: &str| node.get("metadata")?.get("labels")?.get(key)?.as_str();
    label(labels::MANAGED_BY) == Some("kopiaplan")
        && label(labels::PART_OF).is_some_and(|plan| plans.contains(plan))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_list_is_told_from_a_manifest_stream() {
        assert!(is_resource_list(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n"
        ));
        assert!(is_resource_list(
            "# from kpt\n---\n{\"apiVersion\": \"config.kubernetes.io/v1beta1\", \"kind\": \"ResourceList\", \"items\": []}"
        ));
        assert!(!is_resource_list(""));
        assert!(!is_resource_list(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n---\nkind: Service\n"
        ));
        assert!(!is_resource_list(
            "apiVersion: example.com/v1\nkind: ResourceList\n"
        ));
    }
}
