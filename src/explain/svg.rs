//! The week as an SVG heat map: one group per repository
//! (`<g class="repository" data-plan="…" data-repository="…">`), inside it
//! one row per day and one cell per hour, darker where more entries start,
//! outlined in red where the hour is crowded. Written as plain text: the
//! document is small and fixed in shape, and every text is escaped.

use std::fmt::Write as _;

use super::report::{DAYS, Report};

const MARGIN: u32 = 10;
const LABEL_WIDTH: u32 = 40;
const CELL_WIDTH: u32 = 18;
const CELL_HEIGHT: u32 = 14;
const HEADING: u32 = 34;
const BLOCK: u32 = HEADING + 7 * CELL_HEIGHT + 20;
const EMPTY: &str = "#eeeeee";
const LIGHT: (f64, f64, f64) = (198.0, 219.0, 239.0);
const DARK: (f64, f64, f64) = (8.0, 48.0, 107.0);
const CROWDED: &str = "#d7301f";

pub fn render(report: &Report) -> String {
    let width = 2 * MARGIN + LABEL_WIDTH + 24 * CELL_WIDTH;
    let top = 40;
    let height = top + BLOCK * report.repositories.len() as u32 + 30;
    // One scale for the whole picture, so repositories compare at a glance.
    let scale = report
        .repositories
        .iter()
        .flat_map(|r| r.week.iter().flatten())
        .copied()
        .max()
        .unwrap_or(0)
        .max(report.max_starts_per_hour + 1);

    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"10\">"
    );
    let _ = writeln!(
        out,
        "  <title>Entries starting per hour on each repository</title>\n  \
         <text x=\"{MARGIN}\" y=\"16\" font-size=\"12\" font-weight=\"bold\">Entries starting \
         per hour on each repository</text>\n  <text x=\"{MARGIN}\" y=\"30\">7 days from {} \
         ({})</text>",
        escape(&report.week_from_local),
        escape(&report.time_zone)
    );
    for (index, repository) in report.repositories.iter().enumerate() {
        let y = top + BLOCK * index as u32;
        let _ = writeln!(
            out,
            "  <g class=\"repository\" data-plan=\"{}\" data-repository=\"{}\" \
             transform=\"translate({MARGIN},{y})\">",
            escape(&repository.plan),
            escape(&repository.name)
        );
        let busiest = match &repository.busiest {
            Some(slot) => format!(
                "busiest: {} {:02}:00, {} starting",
                &slot.day[..3],
                slot.hour,
                slot.count
            ),
            None => "nothing scheduled".to_owned(),
        };
        let _ = writeln!(
            out,
            "    <text class=\"name\" y=\"12\" font-weight=\"bold\">{} (plan {}) \
             <tspan font-weight=\"normal\">{} — {}</tspan></text>",
            escape(&repository.name),
            escape(&repository.plan),
            escape(&repository.location),
            escape(&busiest)
        );
        for hour in (0..24).step_by(3) {
            let x = LABEL_WIDTH + hour * CELL_WIDTH + CELL_WIDTH / 2;
            let _ = writeln!(
                out,
                "    <text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" font-size=\"9\">{hour:02}</text>",
                HEADING - 4
            );
        }
        for (day_index, day) in DAYS.iter().enumerate() {
            let row_y = HEADING + day_index as u32 * CELL_HEIGHT;
            let _ = writeln!(out, "    <g class=\"day\" data-day=\"{day}\">");
            let _ = writeln!(
                out,
                "      <text y=\"{}\">{}</text>",
                row_y + CELL_HEIGHT - 3,
                &day[..3]
            );
            for hour in 0..24u32 {
                let count = repository.week[day_index][hour as usize];
                let names = &repository.slots[day_index][hour as usize];
                let crowded = count > report.max_starts_per_hour;
                let x = LABEL_WIDTH + hour * CELL_WIDTH;
                let class = if crowded { "hour crowded" } else { "hour" };
                let outline = if crowded {
                    format!(" stroke=\"{CROWDED}\" stroke-width=\"2\"")
                } else {
                    " stroke=\"#ffffff\"".to_owned()
                };
                let title = match count {
                    0 => format!("{day} {hour:02}:00–{hour:02}:59: nothing starts"),
                    _ => format!(
                        "{day} {hour:02}:00–{hour:02}:59: {count} starting{}: {}",
                        if crowded { " (crowded)" } else { "" },
                        names.join(", ")
                    ),
                };
                let _ = writeln!(
                    out,
                    "      <rect class=\"{class}\" data-hour=\"{hour}\" data-count=\"{count}\" \
                     x=\"{x}\" y=\"{row_y}\" width=\"{CELL_WIDTH}\" height=\"{CELL_HEIGHT}\" \
                     fill=\"{}\"{outline}><title>{}</title></rect>",
                    fill(count, scale),
                    escape(&title)
                );
            }
            out.push_str("    </g>\n");
        }
        out.push_str("  </g>\n");
    }
    let _ = writeln!(
        out,
        "  <text x=\"{MARGIN}\" y=\"{}\">Darker: more entries start in that hour. Red outline: \
         more than {} on one repository.</text>",
        height - 12,
        report.max_starts_per_hour
    );
    out.push_str("</svg>\n");
    out
}

fn fill(count: usize, scale: usize) -> String {
    if count == 0 {
        return EMPTY.to_owned();
    }
    let t = (count as f64 / scale.max(1) as f64).clamp(0.0, 1.0);
    let mix = |light: f64, dark: f64| (light + (dark - light) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(LIGHT.0, DARK.0),
        mix(LIGHT.1, DARK.1),
        mix(LIGHT.2, DARK.2)
    )
}

/// Escapes text for XML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot hold at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            escape("a<b>&\"c\"'\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;\u{fffd}"
        );
    }

    #[test]
    fn darker_for_more_and_grey_for_none() {
        assert_eq!(fill(0, 5), EMPTY);
        assert_eq!(fill(5, 5), "#08306b");
        assert!(
            fill(1, 5) > fill(4, 5),
            "lighter colours have higher hex digits"
        );
    }
}
