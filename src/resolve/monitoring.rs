//! `spec.monitoring`: the alert, Pushgateway and dashboard settings of a
//! plan, checked. What they produce is decided in `crate::monitoring`.

use super::PlanResolver;
use super::checks;
use super::defaults;
use super::error::ResolveError;
use crate::model::{DashboardSettings, Monitoring, PrometheusRuleSettings};

impl PlanResolver<'_, '_> {
    pub(super) fn monitoring(&mut self) -> Monitoring {
        let Some(spec) = self.input.spec.monitoring.clone() else {
            return Monitoring::default();
        };
        let at = self.root.key("spec").key("monitoring");
        let prometheus_rule = spec.prometheus_rule.map(|rule| {
            let at_rule = at.key("prometheusRule");
            self.check_labels(&rule.labels, &at_rule.key("labels"));
            let severity = rule
                .severity
                .unwrap_or_else(|| defaults::ALERT_SEVERITY.to_owned());
            if let Err(e) = checks::label_value(&severity).and_then(|()| {
                if severity.is_empty() {
                    Err("is empty".to_owned())
                } else {
                    Ok(())
                }
            }) {
                let d = at_rule.key("severity").invalid_name(
                    "severity",
                    &severity,
                    e,
                    "use a label value such as `warning` or `critical`",
                );
                self.report(d);
            }
            PrometheusRuleSettings {
                labels: rule.labels,
                severity,
            }
        });
        let pushgateway_url = spec.pushgateway.map(|pushgateway| {
            if let Err(problem) = pushgateway_url(&pushgateway.url) {
                let d = at.key("pushgateway").key("url").error(
                    &ResolveError::InvalidPushgatewayUrl {
                        url: pushgateway.url.clone(),
                        problem,
                    },
                    "write the Pushgateway's base URL, such as `http://pushgateway.monitoring:9091`",
                );
                self.report(d);
            }
            pushgateway.url.trim_end_matches('/').to_owned()
        });
        let dashboard = spec.dashboard.map(|dashboard| {
            let at_dashboard = at.key("dashboard");
            self.check_labels(&dashboard.labels, &at_dashboard.key("labels"));
            let namespace = self.namespace(
                "dashboard",
                &self.input.metadata.name.clone(),
                dashboard.namespace.as_ref(),
                &at_dashboard,
            );
            DashboardSettings {
                labels: dashboard.labels,
                namespace,
            }
        });
        Monitoring {
            prometheus_rule,
            pushgateway_url,
            dashboard,
        }
    }
}

/// A base URL the mover can append `/metrics/job/…` to: http or https, a
/// host, no credentials, query or fragment.
fn pushgateway_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or("does not start with `http://` or `https://`")?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err("has no host".into());
    }
    if host.contains('@') {
        return Err("carries credentials; the mover sends none".into());
    }
    if rest.contains(['?', '#']) {
        return Err("has a query or a fragment".into());
    }
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains a blank or a control character".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::pushgateway_url;

    #[test]
    fn a_pushgateway_url_is_a_plain_http_base() {
        assert!(pushgateway_url("http://pushgateway.monitoring:9091").is_ok());
        assert!(pushgateway_url("https://pg.example/prefix/").is_ok());
        for bad in [
            "pushgateway:9091",
            "http://",
            "http://user:pw@pg:9091",
            "http://pg:9091/?x=1",
            "http://pg 9091",
        ] {
            assert!(pushgateway_url(bad).is_err(), "{bad}");
        }
    }
}
