//! The context objects of the input (ConfigMaps, Secrets, PVCs,
//! Namespaces), looked up by kind, namespace and name.

use std::collections::HashMap;

use crate::parse::ContextObject;

/// Context objects by kind, namespace and name.
pub(super) struct Context<'a> {
    objects: HashMap<(&'a str, &'a str, &'a str), &'a ContextObject>,
    /// Files of context objects already checked (document, key), so that
    /// a ConfigMap several entries use is reported once.
    looked_at: std::cell::RefCell<std::collections::BTreeSet<(usize, String)>>,
}

impl<'a> Context<'a> {
    pub(super) fn new(objects: &'a [ContextObject]) -> Self {
        Self {
            looked_at: Default::default(),
            objects: objects
                .iter()
                .map(|o| {
                    (
                        (
                            o.kind(),
                            o.namespace.as_deref().unwrap_or(""),
                            o.name.as_str(),
                        ),
                        o,
                    )
                })
                .collect(),
        }
    }

    pub(super) fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<&'a ContextObject> {
        self.objects.get(&(kind, namespace, name)).copied()
    }

    /// True the first time a file of a context object is asked about.
    pub(super) fn first_look(&self, object: &ContextObject, key: &str) -> bool {
        self.looked_at
            .borrow_mut()
            .insert((object.doc.0, key.to_owned()))
    }
}
