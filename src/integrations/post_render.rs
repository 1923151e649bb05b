//! The Helm post-renderer: a multi-document stream in, the same stream out,
//! with every document kopiaplan compiles replaced, in place, by the objects
//! compiled from it. Every other document is copied byte for byte.
//!
//! Helm 3 writes `---` and `# Source: <chart>/templates/<file>` before each
//! document; the generated objects get the plan's `# Source:` line, so that
//! `helm template --show-only` still finds them. Helm 4 names each
//! document's template in the `postrenderer.helm.sh/postrender-filename`
//! annotation and files the output by it: the generated objects carry the
//! plan's.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::IntegrationError;
use super::{HELM_FILENAME, Owner, STDIN, annotate, compile_owned, take_bookkeeping};
use crate::diagnostics::{Diagnostic, Diagnostics, FileId, SourceMap, Span};
use crate::emit::error::EmitError;
use crate::load::{self, Document, stream};
use crate::output::Object;
use crate::parse::{self, Role};

/// What the post-renderer produced.
#[derive(Debug)]
pub struct PostRendered {
    /// The input, for rendering the diagnostics.
    pub sources: SourceMap,
    /// The new stream; `None` when there was any error.
    pub output: Option<String>,
    /// Warnings, or every problem when `output` is `None`.
    pub diagnostics: Diagnostics,
}

/// What the post-renderer writes for a stream read as bytes.
#[derive(Debug)]
pub enum Written {
    /// The stream as it came: it holds no plan.
    Unchanged(Vec<u8>),
    /// The stream post-rendered, or why it was not.
    Rendered(PostRendered),
}

/// The post-renderer on a stream as read from standard input, with cluster
/// context files (name and text). The common stream, a chart without
/// plans, is ASCII text without either API group's name ([`parse::plain`]):
/// it comes back as it came, neither decoded nor split, at about the cost
/// of copying it. Any other is decoded (a stream that is not UTF-8 is an
/// error at its first bad byte) and post-rendered.
pub fn post_render_bytes(bytes: Vec<u8>, context: Vec<(String, String)>, infer: bool) -> Written {
    if parse::plain(&bytes) {
        return Written::Unchanged(bytes);
    }
    match decode(bytes) {
        Ok(stream) => Written::Rendered(post_render_in_context(stream, context, infer)),
        Err(failed) => Written::Rendered(failed),
    }
}

/// Standard input as text, or why it is not.
pub(super) fn decode(bytes: Vec<u8>) -> Result<String, PostRendered> {
    let mut sources = SourceMap::default();
    match load::add_read(&mut sources, STDIN.to_owned(), bytes, false) {
        Ok(file) => Ok(sources.take_text(file)),
        Err(diagnostic) => Err(PostRendered {
            sources,
            output: None,
            diagnostics: Diagnostics::from(diagnostic),
        }),
    }
}

/// Post-renders a stream read from standard input.
pub fn post_render(stream: String) -> PostRendered {
    post_render_in_context(stream, Vec::new(), true)
}

/// [`post_render`] with cluster context files (name and text): read like
/// `compile --context`, never written to the stream; `infer: false` is
/// `--no-infer`.
pub fn post_render_in_context(
    stream: String,
    context: Vec<(String, String)>,
    infer: bool,
) -> PostRendered {
    let mut sources = SourceMap::default();
    let file = sources.add(STDIN.to_owned(), stream);
    for (name, text) in context {
        sources.add_context(name, text);
    }
    render(sources, file, None, infer)
}

/// The stream in `sources`' file `stream`, post-rendered; the objects of the
/// plan in `extra_plan` (a kustomize plugin configuration) are added at the
/// end.
pub(super) fn render(
    sources: SourceMap,
    stream_file: FileId,
    extra_plan: Option<FileId>,
    infer: bool,
) -> PostRendered {
    let text = sources.file(stream_file).text.as_str();
    let unchanged = |mut sources: SourceMap| {
        let output = Some(sources.take_text(stream_file));
        PostRendered {
            sources,
            output,
            diagnostics: Diagnostics::default(),
        }
    };
    // Most streams hold no plan: they are passed through unread.
    if extra_plan.is_none() && !parse::may_be_compiled(text) {
        return unchanged(sources);
    }
    let raws = stream::split(text);
    let compiled = |heads: &[stream::Head]| {
        heads.iter().any(|head| {
            parse::role(head.api_version.as_deref(), head.kind.as_deref()) == Role::Compiled
        })
    };
    // Only documents that may be compiled are read to tell.
    let nothing_to_compile = raws.iter().all(|raw| {
        let text = raw.text(text);
        !parse::may_be_compiled(text) || stream::peek(text).is_some_and(|heads| !compiled(&heads))
    });
    if nothing_to_compile && extra_plan.is_none() {
        return unchanged(sources);
    }
    let looks: Vec<Look> = raws.iter().map(|raw| Look::at(raw.text(text))).collect();
    let plans_say = plan_scalars(&raws, &looks, text, extra_plan.map(|f| sources.file(f)));

    let mut documents = Vec::new();
    let mut diagnostics = Diagnostics::default();
    let mut owners = Vec::new();
    // Per owner: how its objects are written.
    let mut placements: Vec<Placement> = Vec::new();
    // Per raw document: the owner that replaces it.
    let mut replaced_by: Vec<Option<usize>> = vec![None; raws.len()];
    for (index, raw) in raws.iter().enumerate() {
        let look = &looks[index];
        if look.readable && look.all_other {
            continue;
        }
        // A ConfigMap or Secret is read by its name, and no plan names it.
        if look.only_data
            && plans_say.as_ref().is_some_and(|said| {
                look.identities
                    .iter()
                    .all(|identity| !said.contains(&identity.name))
            })
        {
            continue;
        }
        // A workload is only read, for what plans take from it: one that
        // does not parse passes through unread, as any other document.
        let only_workloads = look.readable && !look.any_compiled && !look.any_context;
        let (parsed, parse_diagnostics) = load::parse_range(stream_file, text, raw, index);
        if !only_workloads {
            diagnostics.extend(parse_diagnostics);
        }
        for mut document in parsed {
            match parse::role_of(&document.root) {
                Role::Other => continue,
                Role::Workload => {
                    documents.push(document);
                    continue;
                }
                Role::Context => {
                    diagnostics.extend(load::check_ambiguities(&document, text));
                    keep_what_context_reads(&mut document.root);
                    documents.push(document);
                    continue;
                }
                Role::Compiled => {
                    let bookkeeping = take_bookkeeping(&mut document.root);
                    let comments = raw.leading_comments(text);
                    let source_comment = comments
                        .iter()
                        .find_map(|(line, c)| Some((*line, c.strip_prefix("Source:")?.trim())));
                    let helm_file = bookkeeping.get(HELM_FILENAME).cloned();
                    // Helm 3 copies the template's text: its lines are exact.
                    // Helm 4, and kustomize (which runs a plugin with the
                    // resources on stdin), hand over documents they parsed and
                    // re-wrote: no line of theirs is a line of a user's file.
                    let (name, line_base) = match (source_comment, &helm_file) {
                        (Some((line, path)), _) => (Some(path.to_owned()), Some(line + 1)),
                        (None, Some(file)) => (Some(file.clone()), None),
                        (None, None) if extra_plan.is_some() => (Some(STDIN.to_owned()), None),
                        (None, None) => (None, None),
                    };
                    let end_line = raws.get(index + 1).map_or(u32::MAX, |next| next.first_line);
                    replaced_by[index] = Some(owners.len());
                    owners.push(Owner {
                        file: stream_file,
                        first_line: raw.first_line,
                        end_line,
                        name,
                        line_base,
                    });
                    placements.push(Placement {
                        source_comment: source_comment.map(|(_, path)| path.to_owned()),
                        annotations: helm_file
                            .map(|file| BTreeMap::from([(HELM_FILENAME.to_owned(), file)]))
                            .unwrap_or_default(),
                    });
                }
            }
            diagnostics.extend(load::check_ambiguities(&document, text));
            documents.push(document);
        }
    }
    // The cluster context: read, never written (the stream is written from
    // its own documents and the generated objects only).
    let (context, context_diagnostics) = load::parse_context(&sources);
    documents.extend(context);
    diagnostics.extend(context_diagnostics);
    let extra_owner = extra_plan.and_then(|file| {
        let document = plugin_plan(&sources, file, &mut diagnostics)?;
        documents.push(document);
        // kustomize writes the configuration it parsed to a temporary file.
        owners.push(Owner {
            file,
            first_line: 1,
            end_line: u32::MAX,
            name: Some(sources.file(file).name.clone()),
            line_base: None,
        });
        placements.push(Placement::default());
        Some(owners.len() - 1)
    });

    let (mut owned, mut diagnostics) =
        match compile_owned(&sources, &documents, diagnostics, &owners, infer, true) {
            Ok(result) => result,
            Err(diagnostics) => {
                return PostRendered {
                    sources,
                    output: None,
                    diagnostics,
                };
            }
        };
    // The trees read for the compile are not needed for writing: the
    // stream is written from its text.
    drop(documents);
    for (objects, placement) in owned.iter_mut().zip(&placements) {
        objects
            .iter_mut()
            .for_each(|o| annotate(o, &placement.annotations));
    }
    check_passed_through_names(&raws, &looks, &owned, stream_file, &mut diagnostics);
    drop(looks);
    if diagnostics.has_errors() {
        return PostRendered {
            sources,
            output: None,
            diagnostics: diagnostics.sorted(),
        };
    }

    let mut output = String::with_capacity(text.len());
    let written = raws.iter().enumerate().try_for_each(|(index, raw)| {
        match replaced_by[index] {
            None => output.push_str(raw.text(text)),
            Some(owner) => {
                output.push_str(raw.before_marker(text));
                let source_comment = placements[owner].source_comment.as_deref();
                write_objects(&mut output, &owned[owner], source_comment)?;
                if raw.ends_with_end_marker {
                    output.push_str("...\n");
                }
            }
        }
        Ok::<(), String>(())
    });
    let written = written.and_then(|()| match extra_owner {
        Some(owner) => write_objects(&mut output, &owned[owner], None),
        None => Ok(()),
    });
    if let Err(error) = written {
        diagnostics.push(Diagnostic::new(&IntegrationError::Unserialisable {
            reason: error.to_string(),
        }));
        return PostRendered {
            sources,
            output: None,
            diagnostics,
        };
    }
    PostRendered {
        sources,
        output: Some(output),
        diagnostics,
    }
}

/// Every scalar and key of the stream's plans (and a kustomize plugin's
/// plan), as text: a plan reads a ConfigMap or Secret by a name it spells
/// (`resolve::Context::get`), so a chart's others are never parsed nor
/// held. `None` when a plan is not YAML: then every one is read.
fn plan_scalars(
    raws: &[stream::RawDocument],
    looks: &[Look],
    text: &str,
    plugin_plan: Option<&crate::diagnostics::SourceFile>,
) -> Option<HashSet<String>> {
    let mut found = HashSet::new();
    for (raw, look) in raws.iter().zip(looks) {
        if look.any_compiled {
            stream::scalars(raw.text(text), &mut found)?;
        }
    }
    if let Some(plan) = plugin_plan {
        stream::scalars(&plan.text, &mut found)?;
    }
    Some(found)
}

/// How the objects of one compiled document are written.
#[derive(Debug, Default)]
struct Placement {
    /// Helm 3's `# Source:` path of the plan, repeated before each object.
    source_comment: Option<String>,
    /// Annotations set on each object (Helm 4's template file name).
    annotations: BTreeMap<String, String>,
}

/// The plan a kustomize legacy exec plugin is configured with.
fn plugin_plan(
    sources: &SourceMap,
    file: FileId,
    diagnostics: &mut Diagnostics,
) -> Option<Document> {
    let text = &sources.file(file).text;
    let root = match load::parse_single(file, text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            diagnostics.push(
                Diagnostic::new(&IntegrationError::EmptyPluginConfig)
                    .help("kustomize passes the BackupPlan listed under `generators:`"),
            );
            return None;
        }
        Err(diagnostic) => {
            diagnostics.push(diagnostic);
            return None;
        }
    };
    if parse::role_of(&root) != Role::Compiled {
        let kind = root.get("kind").and_then(|k| k.as_str()).unwrap_or("?");
        diagnostics.push(
            Diagnostic::new(&IntegrationError::PluginConfigNotAPlan {
                kind: kind.to_owned(),
            })
            .at(Some(load::span_of_node(file, &root)))
            .help("list a BackupPlan under `generators:` in kustomization.yaml"),
        );
        return None;
    }
    let mut document = Document {
        file,
        index: 0,
        root,
        cluster: false,
    };
    diagnostics.extend(load::check_ambiguities(&document, text));
    take_bookkeeping(&mut document.root);
    Some(document)
}

/// What a quick look at one range of the stream told, kept small: a chart
/// may render 100,000 documents, and this is held for each until the plans
/// are compiled.
#[derive(Debug, Default)]
struct Look {
    /// Whether the range reads as YAML at all ([`stream::peek`]).
    readable: bool,
    any_compiled: bool,
    any_context: bool,
    /// Every document in it is neither compiled, context nor a workload.
    all_other: bool,
    /// Every document in it is a ConfigMap or a Secret: read only when a
    /// plan may name it.
    only_data: bool,
    /// The documents whose names [`check_passed_through_names`] checks:
    /// those that name a namespace, and the context documents.
    identities: Vec<Identity>,
}

#[derive(Debug)]
struct Identity {
    role: Role,
    kind: String,
    namespace: Option<String>,
    name: String,
}

impl Look {
    fn at(text: &str) -> Self {
        let Some(heads) = stream::peek(text) else {
            return Self::default();
        };
        let mut look = Self {
            readable: true,
            all_other: true,
            only_data: !heads.is_empty(),
            ..Self::default()
        };
        for head in heads {
            let role = parse::role(head.api_version.as_deref(), head.kind.as_deref());
            look.any_compiled |= role == Role::Compiled;
            look.any_context |= role == Role::Context;
            look.all_other &= role == Role::Other;
            look.only_data &= role == Role::Context
                && matches!(head.kind.as_deref(), Some("ConfigMap" | "Secret"));
            let Some(kind) = head.kind else { continue };
            if role != Role::Compiled && (head.namespace.is_some() || role == Role::Context) {
                look.identities.push(Identity {
                    role,
                    kind,
                    namespace: head.namespace,
                    name: head.name.unwrap_or_default(),
                });
            }
        }
        look.identities.shrink_to_fit();
        look
    }
}

/// Drops from a context document's tree what `parse::ContextObject::read`
/// does not read, and what no diagnostic about the object points at (they
/// point at its `data`, `stringData` or `binaryData` keys). The tree of
/// every context document of the stream is held until the plans are
/// compiled, and a chart's ConfigMaps and Secrets carry labels and
/// annotations by the dozen. What is kept keeps its positions.
fn keep_what_context_reads(root: &mut load::Node) {
    use load::Value;
    let kind = root.get("kind").and_then(|k| k.as_str()).map(str::to_owned);
    let (top, metadata): (&[&str], &[&str]) = match kind.as_deref() {
        // A bound claim's size is read from its status.
        Some("PersistentVolumeClaim") => (
            &["apiVersion", "kind", "metadata", "spec", "status"],
            &["name", "namespace", "labels"],
        ),
        Some("Namespace") => (
            &["apiVersion", "kind", "metadata"],
            &["name", "namespace", "annotations"],
        ),
        _ => (
            &[
                "apiVersion",
                "kind",
                "metadata",
                "data",
                "stringData",
                "binaryData",
            ],
            &["name", "namespace"],
        ),
    };
    let Value::Mapping(entries) = &mut root.value else {
        return;
    };
    entries.retain(|(key, _)| key.as_str().is_some_and(|key| top.contains(&key)));
    for (key, value) in entries.iter_mut() {
        if key.as_str() == Some("metadata")
            && let Value::Mapping(fields) = &mut value.value
        {
            fields.retain(|(key, _)| key.as_str().is_some_and(|key| metadata.contains(&key)));
            fields.shrink_to_fit();
        }
    }
    entries.shrink_to_fit();
}

/// A generated object must not share its kind, namespace and name with a
/// document that passes through: the compiler builds no object for those
/// (context documents included), so their names are checked here. Two
/// context documents must not share one either: a plan would read only one
/// of them.
fn check_passed_through_names(
    raws: &[stream::RawDocument],
    looks: &[Look],
    owned: &[Vec<Object>],
    file: FileId,
    diagnostics: &mut Diagnostics,
) {
    let generated: BTreeSet<(&str, &str, &str)> = owned
        .iter()
        .flatten()
        .map(|object| {
            (
                object.kind.as_str(),
                object.namespace.as_str(),
                object.name.as_str(),
            )
        })
        .collect();
    let mut context = BTreeSet::new();
    for (raw, look) in raws.iter().zip(looks) {
        let at = Some(Span {
            file,
            line: raw.first_line,
            column: 1,
            len: 0,
        });
        for head in &look.identities {
            let kind = head.kind.as_str();
            let namespace = head.namespace.as_deref().unwrap_or_default();
            let name = head.name.as_str();
            let identity = (kind, namespace, name);
            if head.namespace.is_some() && generated.contains(&identity) {
                diagnostics.push(
                    Diagnostic::new(&IntegrationError::PassThroughNameClash {
                        kind: kind.to_owned(),
                        namespace: namespace.to_owned(),
                        name: name.to_owned(),
                    })
                    .at(at)
                    .help("rename the input object or the plan entry"),
                );
            }
            if head.role == Role::Context && !context.insert(identity) {
                diagnostics.push(
                    Diagnostic::new(&EmitError::InputNameClash {
                        kind: kind.to_owned(),
                        namespace: namespace.to_owned(),
                        name: name.to_owned(),
                    })
                    .at(at)
                    .help("a plan reads one of them only: rename or remove one"),
                );
            }
        }
    }
}

/// Writes objects as YAML documents, each starting with `---` (and the
/// plan's `# Source:` line, when it had one).
fn write_objects(
    output: &mut String,
    objects: &[Object],
    source_comment: Option<&str>,
) -> Result<(), String> {
    if !output.is_empty() && !output.ends_with('\n') {
        output.push('\n');
    }
    for object in objects {
        output.push_str("---\n");
        if let Some(path) = source_comment {
            output.push_str("# Source: ");
            output.push_str(path);
            output.push('\n');
        }
        object.write_yaml(output)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = "apiVersion: kopiaplan.dev/v1alpha1\nkind: BackupPlan\nmetadata:\n  \
                        name: nightly\n  namespace: apps\nspec:\n  repositories:\n    - name: main\n      \
                        secretName: kopia-config\n  defaults:\n    copyMethod: Direct\n  backups:\n    \
                        - name: web-data\n      pvc: web-data\n";

    #[test]
    fn a_stream_without_plans_comes_back_unchanged() {
        for text in [
            "",
            "\n",
            "# just a comment",
            "---\r\n# Source: c/templates/a.yaml\r\napiVersion: v1\r\nkind: Service\r\n",
            "apiVersion: v1\nkind: ConfigMap\ndata: {a: yes, a: no}\n---\n---\n",
        ] {
            let result = post_render(text.to_owned());
            assert_eq!(result.output.as_deref(), Some(text));
            assert!(result.diagnostics.is_empty());
        }
    }

    #[test]
    fn a_plan_is_replaced_in_place_and_the_rest_is_kept() {
        let before = "# head\n---\n# Source: c/templates/a.yaml\nkind: A\n";
        let after = "--- # odd\nkind: B\n";
        let text = format!("{before}---\n# Source: c/templates/plan.yaml\n{PLAN}{after}");
        let result = post_render(text);
        assert!(!result.diagnostics.has_errors(), "{:?}", result.diagnostics);
        let output = result.output.expect("output");
        assert!(output.starts_with(before), "{output}");
        assert!(output.ends_with(after), "{output}");
        assert!(!output.contains("kind: BackupPlan"));
        // The backup's four objects and the repository's quick and full
        // maintenance CronJobs and ServiceAccounts, each with the plan's
        // `# Source:` line.
        assert_eq!(output.matches("# Source: c/templates/plan.yaml").count(), 8);
        assert!(output.contains("kind: CronJob"));
        // Lines are counted in the template: the entry is on its line 13.
        assert!(
            output.contains("kopiaplan.dev/source: c/templates/plan.yaml:13"),
            "{output}"
        );
    }

    /// The compiler reads the same context objects from the pruned trees
    /// as from the whole ones, and the pruned trees are smaller.
    #[test]
    fn pruning_a_context_document_keeps_what_the_compiler_reads() {
        let text = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  \
                    namespace: web\n  labels: {app: web}\n  annotations: {a: b}\nspec:\n  \
                    accessModes: [ReadWriteOnce]\n  storageClassName: fast\n  \
                    resources: {requests: {storage: 1Gi}}\nstatus:\n  capacity: {storage: 2Gi}\n\
                    ---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, labels: {a: b}}\n\
                    type: Opaque\ndata: {a: YQ==, c: Yw==}\nstringData: {b: plain, c: wins}\n\
                    ---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: web, labels: {a: b}}\n\
                    data: {a: x}\nbinaryData: {b: eQ==}\n---\napiVersion: v1\nkind: Namespace\n\
                    metadata:\n  name: web\n  labels: {team: web}\n  \
                    annotations: {volsync.backube/privileged-movers: 'true'}\n";
        let mut sources = SourceMap::default();
        sources.add("stream.yaml".to_owned(), text.to_owned());
        let (whole, diagnostics) = load::parse(&sources);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let mut pruned = whole.clone();
        for document in &mut pruned {
            keep_what_context_reads(&mut document.root);
        }
        let read = |documents: &[Document]| {
            let (inputs, _) = parse::parse(documents, &crate::volsync::Options::default());
            inputs
                .context
                .iter()
                .map(|object| {
                    let files: Vec<_> = object
                        .data_keys()
                        .into_iter()
                        .map(|key| object.file(key).and_then(|f| f.text.clone()))
                        .collect();
                    format!("{object:?} {files:?}")
                })
                .collect::<Vec<_>>()
        };
        let objects = read(&whole);
        assert_eq!(objects.len(), 4);
        assert_eq!(read(&pruned), objects);
        for (whole, pruned) in whole.iter().zip(&pruned) {
            assert!(
                format!("{:?}", pruned.root).len() < format!("{:?}", whole.root).len(),
                "{:?}",
                pruned.root
            );
        }
    }

    #[test]
    fn an_end_marker_after_a_plan_is_kept() {
        let text = format!("{PLAN}...\nkind: B\n");
        let output = post_render(text).output.expect("output");
        assert!(output.ends_with("...\nkind: B\n"), "{output}");
    }

    #[test]
    fn errors_point_at_the_line_of_the_stream() {
        let text = format!(
            "---\nkind: A\nx: yes\n---\n{}",
            PLAN.replace("pvc: web-data", "pvc: web-data\n      schedul: x")
        );
        let result = post_render(text);
        assert!(result.output.is_none());
        let lines: Vec<u32> = result
            .diagnostics
            .iter()
            .filter_map(|d| d.span.map(|s| s.line))
            .collect();
        // The unknown field, not the `yes` of the document passed through.
        assert_eq!(lines, [19], "{:?}", result.diagnostics);
    }
}
