//! The values kopiaplan chooses when a plan leaves a field out.

pub const DEFAULT_CACHE_CAPACITY: &str = "8Gi";
pub const DEFAULT_SCHEDULE: &str = "H H * * *";
/// The official kubectl image: distroless, so launchers run one kubectl
/// command per container.
pub const DEFAULT_LAUNCHER_IMAGE: &str = "registry.k8s.io/kubectl:v1.33.0";

/// A launcher container runs one kubectl command: small, and bounded.
pub(super) fn default_launcher_resources() -> k8s_openapi::api::core::v1::ResourceRequirements {
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    k8s_openapi::api::core::v1::ResourceRequirements {
        requests: Some(
            [
                ("cpu".to_owned(), Quantity("10m".into())),
                ("memory".to_owned(), Quantity("32Mi".into())),
            ]
            .into(),
        ),
        limits: Some([("memory".to_owned(), Quantity("128Mi".into()))].into()),
        ..Default::default()
    }
}
