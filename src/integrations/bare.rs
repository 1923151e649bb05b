//! A bare `kopiaplan` with a stream on standard input: Helm 3 runs it so
//! (`--post-renderer kopiaplan`), and so do kustomize and kpt when it is an
//! exec KRM function (kustomize cannot pass arguments). A ResourceList gets
//! the KRM function, anything else the post-renderer.

use super::krm;
use super::post_render::{self, PostRendered};
use crate::parse;

/// What a bare `kopiaplan` does with standard input as read.
#[derive(Debug)]
pub enum Bare {
    /// A stream without plans, not a ResourceList: written as it came.
    Unchanged(Vec<u8>),
    /// One ResourceList, for the KRM function.
    ResourceList(String),
    /// The stream post-rendered, or why it was not.
    Rendered(PostRendered),
}

/// Sorts standard input as a bare `kopiaplan` must. A chart without plans
/// that does not name the ResourceList kind passes through unread
/// ([`post_render::post_render_bytes`]); any other stream is read. Plain
/// text has no escapes, and a plain scalar folded over lines gets a space:
/// a kind's name is in the text as it is in the value.
pub fn bare(bytes: Vec<u8>) -> Bare {
    if parse::plain_and_no_resource_list(&bytes) {
        return Bare::Unchanged(bytes);
    }
    match post_render::decode(bytes) {
        Ok(text) if krm::is_resource_list(&text) => Bare::ResourceList(text),
        Ok(text) => Bare::Rendered(post_render::post_render(text)),
        Err(failed) => Bare::Rendered(failed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n";

    fn sorted(text: &str) -> &'static str {
        match bare(text.as_bytes().to_vec()) {
            Bare::Unchanged(bytes) => {
                assert_eq!(bytes, text.as_bytes());
                "unchanged"
            }
            Bare::ResourceList(_) => "list",
            Bare::Rendered(_) => "rendered",
        }
    }

    #[test]
    fn only_a_stream_that_names_the_kind_is_read_to_tell_a_resource_list() {
        let chart = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\n";
        assert_eq!(sorted(chart), "unchanged");
        assert_eq!(sorted(LIST), "list");
        assert_eq!(sorted(&format!("# head\n---\n{LIST}")), "list");
        // Two objects: no ResourceList, whichever is first; a stream that
        // names the kind is read to tell.
        assert_eq!(sorted(&format!("{LIST}---\n{chart}")), "rendered");
        assert_eq!(sorted(&format!("{chart}---\n{LIST}")), "rendered");
        assert_eq!(
            sorted(&chart.replace("ConfigMap", "ResourceList")),
            "rendered"
        );
        // Not ASCII, so not plain: read.
        assert_eq!(sorted("# é\napiVersion: v1\nkind: ConfigMap\n"), "rendered");
        assert_eq!(sorted(""), "unchanged");
        assert_eq!(sorted("# only a comment\n"), "unchanged");
    }
}
