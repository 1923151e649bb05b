//! The context objects of the input (ConfigMaps, Secrets, PVCs,
//! Namespaces), looked up by kind, namespace and name.

use std::collections::HashMap;

use crate::parse::ContextObject;

/// Context objects by kind, namespace and name.
pub(super) struct Context<'a> {
    objects: HashMap<(&'a str, &'a str, &'a str), &'a ContextObject>,
    /// The workloads of the input and the cluster context.
    pub(super) workloads: &'a [crate::parse::Workload],
    /// Whether mover settings are inferred from them (`--no-infer`: not).
    pub(super) infer: bool,
    /// Files of context objects already checked (document, key), so that
    /// a ConfigMap several entries use is reported once.
    looked_at: std::cell::RefCell<std::collections::BTreeSet<(usize, String)>>,
}

impl<'a> Context<'a> {
    /// An object of the input wins over the cluster context's object of
    /// the same kind, namespace and name: the input is what will be applied.
    pub(super) fn new(objects: impl IntoIterator<Item = &'a ContextObject>) -> Self {
        let mut by_name = HashMap::new();
        let (input, cluster): (Vec<_>, Vec<_>) = objects.into_iter().partition(|o| !o.cluster);
        for o in input.into_iter().chain(cluster) {
            by_name
                .entry((
                    o.kind(),
                    o.namespace.as_deref().unwrap_or(""),
                    o.name.as_str(),
                ))
                .or_insert(o);
        }
        Self {
            looked_at: Default::default(),
            objects: by_name,
            workloads: &[],
            infer: false,
        }
    }

    /// The context with the workloads settings may be inferred from.
    pub(super) fn with_workloads(
        self,
        workloads: &'a [crate::parse::Workload],
        infer: bool,
    ) -> Self {
        Self {
            workloads,
            infer,
            ..self
        }
    }

    /// The objects of a kind in a namespace, by name.
    pub(super) fn in_namespace(&self, kind: &str, namespace: &str) -> Vec<&'a ContextObject> {
        let mut found: Vec<&ContextObject> = self
            .objects
            .iter()
            .filter(|((k, n, _), _)| *k == kind && (*n == namespace || n.is_empty()))
            .map(|(_, object)| *object)
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found
    }

    /// A claim of a chart's stream often names no namespace (Helm applies
    /// it to the release's): it is found in every namespace, after one
    /// that names it. A ConfigMap or Secret is looked up by a name the
    /// input spells: the post-renderer reads only those of a chart's that a
    /// plan names (`integrations::post_render::plan_scalars`).
    pub(super) fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<&'a ContextObject> {
        self.objects
            .get(&(kind, namespace, name))
            .or_else(|| match kind {
                "PersistentVolumeClaim" => self.objects.get(&(kind, "", name)),
                _ => None,
            })
            .copied()
    }

    /// True the first time a file of a context object is asked about.
    pub(super) fn first_look(&self, object: &ContextObject, key: &str) -> bool {
        self.looked_at
            .borrow_mut()
            .insert((object.doc.0, key.to_owned()))
    }
}
