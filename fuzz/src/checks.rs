//! One function per fuzz target: hand the bytes to an entry point, render
//! every diagnostic it gives, and assert what holds for any input. A panic
//! or a failed assertion is a finding.
//!
//! Bytes that are not UTF-8 are decoded lossily, as the CLI does to quote
//! the line of the first bad byte; the not-UTF-8 diagnostic itself is
//! tested in tests/it/cli.rs.

use kopiaplan::diagnostics::{self, Diagnostics, SourceMap};
use kopiaplan::load::stream;
use kopiaplan::parse::{self, Role};

/// Words of the libraries underneath that must never reach a user: each
/// was once in a message (issue 17) and says nothing about the input.
const INTERNAL_WORDS: &[&str] = &[
    "DuplicateKeyPolicy",
    "budget breached",
    "weak recursion",
    "recursion limit exceeded",
    "Options",
    "serde",
    "saphyr",
    "internal error",
];

fn text_of(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

fn sources_of(text: String) -> SourceMap {
    let mut sources = SourceMap::default();
    sources.add("fuzz.yaml".to_owned(), text);
    sources
}

/// Renders each diagnostic both ways and checks its message speaks the
/// user's language.
fn render_all(diagnostics: &Diagnostics, sources: &SourceMap) {
    for diagnostic in diagnostics.iter() {
        let rendered = diagnostics::render(diagnostic, sources);
        assert!(!rendered.is_empty());
        let _ = diagnostics::to_json(diagnostic, sources);
        // Quoted text (`…`) is the user's own, and may say anything.
        let own_words: String = diagnostic
            .message
            .split('`')
            .step_by(2)
            .collect::<Vec<_>>()
            .join(" ");
        // A word the input itself holds may be the user's, quoted with a
        // backtick inside it that splits the quote above.
        let in_input = |word: &str| sources.files().any(|(_, file)| file.text.contains(word));
        for word in INTERNAL_WORDS {
            assert!(
                !own_words.contains(word) || in_input(word),
                "a library internal reached a message: {}",
                diagnostic.message
            );
        }
    }
}

/// A failure that names no error would exit 1 with nothing to say.
fn assert_failure_explained(diagnostics: &Diagnostics) {
    assert!(
        diagnostics.has_errors(),
        "a failure without an error diagnostic"
    );
}

/// Loading a YAML stream: bytes → documents with positions.
pub fn load(data: &[u8]) {
    let sources = sources_of(text_of(data));
    let (_documents, diagnostics) = kopiaplan::load::parse(&sources);
    render_all(&diagnostics, &sources);
}

/// `compile` and `validate` on one file: the whole pipeline, then the YAML
/// writer on what it built.
pub fn compile(data: &[u8]) {
    let sources = sources_of(text_of(data));
    match kopiaplan::compile_sources(&sources) {
        Ok(compiled) => {
            render_all(&compiled.diagnostics, &sources);
            let written = kopiaplan::output::to_yaml(&compiled.objects);
            assert!(written.is_ok(), "compiled objects that cannot be written");
        }
        Err(diagnostics) => {
            assert_failure_explained(&diagnostics);
            render_all(&diagnostics, &sources);
        }
    }
}

/// `post-render`: every document that is not a plan (nor context a plan
/// reads) comes out byte for byte, in order; workloads, which plans read
/// too, as well.
///
/// A stream the command passes through unread, as bytes, is one the
/// post-renderer would have returned unchanged; a bare `kopiaplan` passes
/// through only what is no ResourceList.
pub fn post_render(data: &[u8]) {
    use kopiaplan::integrations::bare::{self, Bare};
    use kopiaplan::integrations::post_render::{self, Written};
    let text = text_of(data);
    let result = post_render::post_render(text.clone());
    let unread = match post_render::post_render_bytes(data.to_vec(), Vec::new(), true) {
        Written::Unchanged(bytes) => {
            assert_eq!(bytes, data);
            true
        }
        Written::Rendered(read) if std::str::from_utf8(data).is_ok() => {
            assert_eq!(read.output, result.output);
            false
        }
        Written::Rendered(read) => {
            assert!(read.output.is_none() && read.diagnostics.has_errors());
            false
        }
    };
    if unread {
        assert_eq!(result.output.as_deref(), Some(text.as_str()));
        assert!(!kopiaplan::parse::may_be_compiled(&text));
    }
    if let Bare::Unchanged(bytes) = bare::bare(data.to_vec()) {
        assert!(unread && bytes == data);
        assert!(!kopiaplan::integrations::krm::is_resource_list(&text));
    }
    let Some(output) = result.output else {
        assert_failure_explained(&result.diagnostics);
        render_all(&result.diagnostics, &result.sources);
        return;
    };
    render_all(&result.diagnostics, &result.sources);
    let mut rest = output.as_str();
    for raw in stream::split(&text) {
        let document = raw.text(&text);
        let passes_through = stream::peek(document).is_some_and(|heads| {
            heads.iter().all(|head| {
                matches!(
                    parse::role(head.api_version.as_deref(), head.kind.as_deref()),
                    Role::Other | Role::Workload
                )
            })
        });
        if !passes_through {
            continue;
        }
        match rest.find(document) {
            Some(at) => rest = &rest[at + document.len()..],
            None => panic!("a passed-through document changed or moved: {document:?}"),
        }
    }
}

/// `krm`: a ResourceList in, a ResourceList out, failed or not.
pub fn krm(data: &[u8]) {
    let input = text_of(data);
    let result = kopiaplan::integrations::krm::resource_list(input.clone());
    render_all(&result.diagnostics, &result.sources);
    assert!(
        !result.failed() || result.diagnostics.has_errors(),
        "a failed run without an error"
    );
    // A compiled ResourceList reads back. Kept items are written as their
    // own text, with whatever the user wrote in them (a scalar YAML 1.1
    // tools read otherwise): only what the input had may be flagged.
    if let (false, Some(output)) = (result.diagnostics.has_errors(), result.output) {
        let sources = sources_of(output.clone());
        let (documents, diagnostics) = kopiaplan::load::parse(&sources);
        let (_, input_diagnostics) = kopiaplan::load::parse(&sources_of(input.clone()));
        for problem in diagnostics.iter().filter(|d| d.is_error()) {
            assert!(
                input_diagnostics
                    .iter()
                    .any(|d| d.code == problem.code && d.message == problem.message),
                "the output does not read back: {}",
                problem.message
            );
        }
        assert!(
            documents.len() == 1
                && documents[0].root.get("kind").and_then(|k| k.as_str()) == Some("ResourceList"),
            "the output is not one ResourceList"
        );
        // Kept items (written as their own text where that is safe) read
        // back as the values they came with, in their order.
        let items = |root: &kopiaplan::load::Node| -> Vec<serde_json::Value> {
            match root.get("items").map(|items| items.to_json()) {
                Some(serde_json::Value::Array(items)) => items,
                _ => Vec::new(),
            }
        };
        let generated = |item: &serde_json::Value| {
            item["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kopiaplan"
        };
        let output = kopiaplan::load::parse_single(kopiaplan::diagnostics::FileId(0), &output);
        let input = kopiaplan::load::parse_single(kopiaplan::diagnostics::FileId(0), &input);
        if let (Ok(Some(output)), Ok(Some(input))) = (output, input) {
            let input = items(&input);
            let mut remaining = input.iter();
            for kept in items(&output).iter().filter(|item| !generated(item)) {
                assert!(
                    remaining.any(|item| item == kept),
                    "a kept item does not read back as an input item, in order: {kept}"
                );
            }
        }
    }
}

/// `convert`: VolSync objects → BackupPlans. What it writes must compile
/// to the objects the VolSync input compiles to, source annotations aside.
pub fn convert(data: &[u8]) {
    let sources = sources_of(text_of(data));
    let (documents, diagnostics) = kopiaplan::load::parse(&sources);
    let options = kopiaplan::volsync::Options::default();
    let converted =
        match kopiaplan::volsync::convert::convert(&sources, &documents, diagnostics, &options) {
            Ok(converted) => converted,
            Err(diagnostics) => {
                assert_failure_explained(&diagnostics);
                render_all(&diagnostics, &sources);
                return;
            }
        };
    render_all(&converted.diagnostics, &sources);
    let direct = match kopiaplan::compile_sources(&sources) {
        Ok(compiled) => compiled,
        Err(_) => panic!("convert accepted an input that compile refuses"),
    };
    let again_sources = sources_of(converted.yaml.clone());
    let again = match kopiaplan::compile_sources(&again_sources) {
        Ok(compiled) => compiled,
        Err(diagnostics) => {
            let rendered: Vec<String> = diagnostics
                .iter()
                .map(|d| diagnostics::render(d, &again_sources))
                .collect();
            panic!(
                "the converted plan does not compile:\n{}\n{}",
                converted.yaml,
                rendered.concat()
            );
        }
    };
    assert_eq!(
        without_sources(&direct.objects),
        without_sources(&again.objects),
        "convert then compile differs from compile"
    );
}

/// The objects as JSON without the annotations that name input files and
/// lines (also inside the JSON a launcher's ConfigMap holds), which differ
/// between an input and its conversion.
pub fn without_sources(objects: &[kopiaplan::output::Object]) -> Vec<serde_json::Value> {
    objects
        .iter()
        .map(|object| {
            let mut value = object.value().into_owned();
            strip_source_annotations(&mut value);
            value
        })
        .collect()
}

fn strip_source_annotations(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(annotations)) = map.get_mut("annotations") {
                annotations.retain(|key, _| key != "kopiaplan.dev/source");
            }
            map.values_mut().for_each(strip_source_annotations);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_source_annotations),
        // The launcher's ConfigMap holds the objects it creates as JSON text.
        serde_json::Value::String(text) if text.contains("kopiaplan.dev/source") => {
            *text = text
                .lines()
                .filter(|line| !line.contains("kopiaplan.dev/source"))
                .collect::<Vec<_>>()
                .join("\n");
        }
        _ => {}
    }
}

/// The schedule and `H` parser: the first line is what a plan writes, the
/// rest the seed. A schedule it accepts is one a cron parser accepts.
pub fn schedule(data: &[u8]) {
    let text = text_of(data);
    let (written, seed) = text.split_once('\n').unwrap_or((text.as_str(), "seed"));
    if let Ok(schedule) = kopiaplan::resolve::schedule::resolve(written, seed) {
        assert!(
            is_kubernetes_cron(&schedule),
            "{schedule:?} (from {written:?}) is not a schedule Kubernetes parses"
        );
    }
}

const MACROS: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// The five-field grammar of Kubernetes' CronJob controller (robfig/cron's
/// standard parser), written out again here as an oracle independent of the
/// parser kopiaplan uses: lists of `*`, `?`, numbers, names and ranges, each
/// with an optional `/step`, within each field's bounds.
pub fn is_kubernetes_cron(schedule: &str) -> bool {
    if schedule.starts_with('@') {
        return MACROS.contains(&schedule);
    }
    const MONTHS: &[&str] = &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let fields: Vec<&str> = schedule.split(' ').collect();
    if fields.len() != 5 {
        return false;
    }
    let bounds: [(u32, u32, &[&str], u32); 5] = [
        (0, 59, &[], 0),
        (0, 23, &[], 0),
        (1, 31, &[], 0),
        (1, 12, MONTHS, 1),
        (0, 6, DAYS, 0),
    ];
    fields
        .iter()
        .zip(bounds)
        .all(|(field, (low, high, names, first))| {
            let number = |text: &str| -> Option<u32> {
                if let Some(position) = names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
                    return u32::try_from(position).ok().map(|p| p + first);
                }
                if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                text.parse().ok().filter(|n| (low..=high).contains(n))
            };
            // robfig/cron splits a list with strings.FieldsFunc: empty
            // items (`,15`) are dropped.
            field.split(',').any(|item| !item.is_empty())
                && field
                    .split(',')
                    .filter(|item| !item.is_empty())
                    .all(|item| {
                        let range = match item.split_once('/') {
                            Some((range, step)) => match step.parse::<u32>() {
                                Ok(number)
                                    if number > 0 && step.bytes().all(|b| b.is_ascii_digit()) =>
                                {
                                    range
                                }
                                _ => return false,
                            },
                            None => item,
                        };
                        if range == "*" || range == "?" {
                            return true;
                        }
                        match range.split_once('-') {
                            Some((from, to)) => {
                                matches!((number(from), number(to)), (Some(a), Some(b)) if a <= b)
                            }
                            None => number(range).is_some(),
                        }
                    })
        })
}

/// The additional-arguments checker: the first line is the Kopia command
/// (`snapshot create`, `restore`…), each further line one argument.
pub fn additional_args(data: &[u8]) {
    let text = text_of(data);
    let mut lines = text.split('\n');
    let command = lines.next().unwrap_or_default();
    let arguments: Vec<String> = lines.map(str::to_owned).collect();
    for problem in kopiaplan::kopia::args::check(command, &arguments) {
        assert!(problem.index < arguments.len().max(1));
        assert!(!problem.message.is_empty());
    }
}
