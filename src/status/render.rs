//! `kopiaplan status` as text (one line per entry, aligned; the state in
//! colour on a terminal) or JSON.

use super::{EntryStatus, State};
use crate::monitoring::rules::human_duration;

/// The two largest units of a duration: `4d 9h`, `13m 59s`.
fn short(seconds: i64) -> String {
    human_duration(seconds)
        .split(' ')
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The table: a header, then one line per entry.
pub fn text(entries: &[EntryStatus], colour: bool) -> String {
    let header = [
        "NAMESPACE",
        "ENTRY",
        "COMPONENT",
        "STATE",
        "LAST SUCCESS",
        "AGE/THRESHOLD",
        "RESULT",
        "SNAPSHOT",
        "SIZE",
        "DURATION",
        "NEXT RUN",
    ];
    let rows: Vec<(State, [String; 11])> = entries
        .iter()
        .map(|e| {
            let dash = || "-".to_owned();
            (
                e.state,
                [
                    e.namespace.clone(),
                    e.entry.clone(),
                    e.component.clone(),
                    e.state.as_str().to_owned(),
                    e.last_success
                        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                        .unwrap_or_else(|| "never".to_owned()),
                    format!(
                        "{}/{}",
                        e.age_seconds.map(short).unwrap_or_else(dash),
                        e.threshold_seconds.map(short).unwrap_or_else(dash)
                    ),
                    e.last_result.clone().unwrap_or_else(dash),
                    e.snapshot_id.clone().unwrap_or_else(dash),
                    e.bytes.map(human_bytes).unwrap_or_else(dash),
                    e.duration_seconds
                        .map(|d| short(d as i64))
                        .unwrap_or_else(dash),
                    e.next_run
                        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                        .unwrap_or_else(dash),
                ],
            )
        })
        .collect();
    let mut widths = header.map(str::len);
    for (_, row) in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String], state: Option<State>| {
        let mut out = String::new();
        for (index, (cell, width)) in cells.iter().zip(widths).enumerate() {
            let padded = format!("{cell:<width$}");
            match (index, state) {
                (3, Some(state)) if colour => out.push_str(&paint(state, &padded)),
                _ => out.push_str(&padded),
            }
            if index + 1 < cells.len() {
                out.push_str("  ");
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(&header.map(str::to_owned), None);
    for (state, row) in &rows {
        out.push_str(&line(row, Some(*state)));
    }
    for entry in entries {
        if let Some(warning) = &entry.warning {
            out.push_str(&format!(
                "warning: {} {}/{}: {warning}\n",
                entry.component, entry.namespace, entry.entry
            ));
        }
    }
    out
}

fn paint(state: State, text: &str) -> String {
    let code = match state {
        State::Ok => "32",
        State::Running => "36",
        State::Paused => "33",
        State::Stale | State::Failed => "1;31",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// `1.5 GiB`, `120 B`.
pub fn human_bytes(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

pub fn json(entries: &[EntryStatus]) -> String {
    serde_json::to_string_pretty(entries).unwrap_or_default() + "\n"
}
