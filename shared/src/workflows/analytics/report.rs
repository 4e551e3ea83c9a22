//! What a business owner reads at a glance: the usage report as one HTML page with its charts
//! drawn in inline SVG (no script, no external style, font or image), and the same figures as a
//! CSV a spreadsheet opens. Every bar and point carries its period and value (`data-period`,
//! `data-value`) and a tooltip, and a table repeats the figures for screen readers.

use crate::domain::analytics::{Period, Summary};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use std::fmt::Write as _;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;

/// One series of a chart: its CSS class, its name, a value per period (`None`: no value).
struct Series<'a> {
    class: &'a str,
    label: &'a str,
    values: Vec<Option<f64>>,
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn scale_max(series: &[Series]) -> f64 {
    series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold(0.0_f64, |a, b| a.max(*b))
        .max(1.0)
}

/// A percentage's chart keeps its axis at 100 (an automation rate above it is possible:
/// several replies to one message).
fn percent_max(series: &[Series]) -> f64 {
    scale_max(series).max(100.0)
}

/// The chart's frame: title, axis with its top and zero, legend, first and last period.
fn frame(out: &mut String, id: &str, title: &str, unit: &str, max: f64, names: &[String]) {
    let _ = write!(
        out,
        "<figure><figcaption>{}</figcaption><svg id=\"{}\" role=\"img\" aria-label=\"{}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" preserveAspectRatio=\"none\">",
        text(title),
        attr(id),
        attr(title)
    );
    let base = HEIGHT - BOTTOM;
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{base}\"/>\
         <line class=\"axis\" x1=\"{LEFT}\" y1=\"{base}\" x2=\"{WIDTH}\" y2=\"{base}\"/>\
         <text class=\"tick\" x=\"{x}\" y=\"{y}\" text-anchor=\"end\">{top}{unit}</text>\
         <text class=\"tick\" x=\"{x}\" y=\"{base}\" text-anchor=\"end\">0</text>",
        x = LEFT - 6.0,
        y = TOP + 10.0,
        top = number(max),
        unit = text(unit),
    );
    if let (Some(first), Some(last)) = (names.first(), names.last()) {
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{LEFT}\" y=\"{y}\">{}</text>\
             <text class=\"tick\" x=\"{WIDTH}\" y=\"{y}\" text-anchor=\"end\">{}</text>",
            text(first),
            text(last),
            y = HEIGHT - 8.0,
        );
    }
}

fn legend(out: &mut String, series: &[Series]) {
    out.push_str("</svg><p class=\"legend\">");
    for s in series {
        let _ = write!(
            out,
            "<span class=\"key {}\"></span>{} ",
            attr(s.class),
            text(s.label)
        );
    }
    out.push_str("</p></figure>");
}

fn bar_chart(out: &mut String, id: &str, title: &str, names: &[String], series: &[Series]) {
    let max = scale_max(series);
    frame(out, id, title, "", max, names);
    let plot = HEIGHT - BOTTOM - TOP;
    let group = (WIDTH - LEFT) / names.len().max(1) as f64;
    let bar = group * 0.8 / series.len().max(1) as f64;
    for (i, name) in names.iter().enumerate() {
        for (j, s) in series.iter().enumerate() {
            let value = s.values[i].unwrap_or(0.0);
            let height = value / max * plot;
            let _ = write!(
                out,
                "<rect class=\"bar {class}\" data-period=\"{period}\" data-value=\"{v}\" \
                 x=\"{x:.2}\" y=\"{y:.2}\" width=\"{bar:.2}\" height=\"{height:.2}\">\
                 <title>{tip}</title></rect>",
                class = attr(s.class),
                period = attr(name),
                v = number(value),
                x = LEFT + i as f64 * group + group * 0.1 + j as f64 * bar,
                y = HEIGHT - BOTTOM - height,
                tip = text(&format!("{name}: {} {}", number(value), s.label)),
            );
        }
    }
    legend(out, series);
}

fn line_chart(
    out: &mut String,
    id: &str,
    title: &str,
    unit: &str,
    names: &[String],
    series: &[Series],
) {
    let max = if unit == "%" {
        percent_max(series)
    } else {
        scale_max(series)
    };
    frame(out, id, title, unit, max, names);
    let plot = HEIGHT - BOTTOM - TOP;
    let step = (WIDTH - LEFT) / names.len().max(1) as f64;
    for s in series {
        let points: Vec<(f64, f64, &String, f64)> = names
            .iter()
            .zip(&s.values)
            .enumerate()
            .filter_map(|(i, (name, v))| {
                v.map(|v| {
                    (
                        LEFT + step * (i as f64 + 0.5),
                        HEIGHT - BOTTOM - v / max * plot,
                        name,
                        v,
                    )
                })
            })
            .collect();
        let path: Vec<String> = points
            .iter()
            .map(|(x, y, _, _)| format!("{x:.2},{y:.2}"))
            .collect();
        let _ = write!(
            out,
            "<polyline class=\"line {}\" points=\"{}\"/>",
            attr(s.class),
            path.join(" ")
        );
        for (x, y, name, v) in points {
            let _ = write!(
                out,
                "<circle class=\"point {class}\" data-period=\"{period}\" data-value=\"{value}\" \
                 cx=\"{x:.2}\" cy=\"{y:.2}\" r=\"3\"><title>{tip}</title></circle>",
                class = attr(s.class),
                period = attr(name),
                value = number(v),
                tip = text(&format!("{name}: {}{unit} {}", number(v), s.label)),
            );
        }
    }
    legend(out, series);
}

/// A duration for people: `45 s`, `12 min`, `3 h`.
pub fn readable_seconds(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7_200 => format!("{} min", s / 60),
        s => format!("{} h", s / 3_600),
    }
}

fn card(out: &mut String, id: &str, label: &str, value: &str) {
    let _ = write!(
        out,
        "<div class=\"card\" id=\"{}\"><span class=\"value\">{}</span>\
         <span class=\"label\">{}</span></div>",
        attr(id),
        text(value),
        text(label)
    );
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;\
margin:2rem auto;max-width:760px;padding:0 1rem;color:#1d2733}\
h1{font-size:1.5rem;margin:0}p.period{color:#5b6875;margin:.25rem 0 1.5rem}\
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:.75rem}\
.card{border:1px solid #d8dee4;border-radius:8px;padding:.75rem}\
.card .value{display:block;font-size:1.4rem;font-weight:600}\
.card .label{color:#5b6875;font-size:.85rem}\
figure{margin:2rem 0 0}figcaption{font-weight:600;margin-bottom:.5rem}\
svg{width:100%;height:220px;display:block}\
.axis{stroke:#9aa5b1;stroke-width:1}.tick{font-size:11px;fill:#5b6875}\
.bar.in,.key.in{fill:#1f7a5a;background:#1f7a5a}\
.bar.out,.key.out{fill:#8fc7b1;background:#8fc7b1}\
.bar.opt_out,.key.opt_out{fill:#c2410c;background:#c2410c}\
.bar.opt_in,.key.opt_in{fill:#2563eb;background:#2563eb}\
.line{fill:none;stroke-width:2}.point{stroke:none}\
.line.rate{stroke:#1f7a5a}.point.rate,.key.rate{fill:#1f7a5a;background:#1f7a5a}\
.line.median{stroke:#2563eb}.point.median,.key.median{fill:#2563eb;background:#2563eb}\
.line.p90{stroke:#c2410c}.point.p90,.key.p90{fill:#c2410c;background:#c2410c}\
.legend{font-size:.85rem;color:#5b6875}\
.key{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin:0 .3rem 0 .8rem}\
table{border-collapse:collapse;margin-top:2rem;font-size:.85rem;width:100%}\
th,td{border-bottom:1px solid #e5e9ed;padding:.3rem;text-align:right}\
th:first-child,td:first-child{text-align:left}";

/// The report page of `periods` (days or months) for the business named `business`.
pub fn report_html(
    business: &str,
    from: &str,
    to: &str,
    periods: &[Period],
    total: &Summary,
) -> String {
    let names: Vec<String> = periods.iter().map(|p| p.name.clone()).collect();
    let of = |f: &dyn Fn(&Summary) -> Option<f64>| -> Vec<Option<f64>> {
        periods.iter().map(|p| f(&p.summary)).collect()
    };
    let mut out = String::with_capacity(16_384);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Usage report · {name}</title><style>{STYLE}</style></head><body>\
         <h1>Usage report · {name}</h1><p class=\"period\">{from} to {to}</p><div class=\"cards\">",
        name = text(business),
        from = text(from),
        to = text(to),
    );
    card(
        &mut out,
        "messages-in",
        "messages received",
        &total.messages_in.to_string(),
    );
    card(
        &mut out,
        "messages-out",
        "messages sent",
        &total.messages_out.to_string(),
    );
    card(
        &mut out,
        "automation-rate",
        "answered by the assistant",
        &total
            .automation_rate
            .map_or("–".to_owned(), |r| format!("{}%", number(r))),
    );
    card(
        &mut out,
        "opt-outs",
        "opt-outs",
        &total.opt_outs.to_string(),
    );
    card(
        &mut out,
        "response-median",
        "median first response",
        &total
            .response_median_seconds
            .map_or("–".to_owned(), |s| format!("≤ {}", readable_seconds(s))),
    );
    out.push_str("</div>");
    bar_chart(
        &mut out,
        "messages",
        "Messages",
        &names,
        &[
            Series {
                class: "in",
                label: "received",
                values: of(&|s| Some(s.messages_in as f64)),
            },
            Series {
                class: "out",
                label: "sent",
                values: of(&|s| Some(s.messages_out as f64)),
            },
        ],
    );
    line_chart(
        &mut out,
        "automation",
        "Automation rate (assistant replies per customer message)",
        "%",
        &names,
        &[Series {
            class: "rate",
            label: "automated",
            values: of(&|s| s.automation_rate),
        }],
    );
    bar_chart(
        &mut out,
        "consent",
        "Opt-outs and opt-ins",
        &names,
        &[
            Series {
                class: "opt_out",
                label: "opt-outs",
                values: of(&|s| Some(s.opt_outs as f64)),
            },
            Series {
                class: "opt_in",
                label: "opt-ins",
                values: of(&|s| Some(s.opt_ins as f64)),
            },
        ],
    );
    line_chart(
        &mut out,
        "response",
        "First response time (bucket bound, seconds)",
        " s",
        &names,
        &[
            Series {
                class: "median",
                label: "median",
                values: of(&|s| s.response_median_seconds.map(|v| v as f64)),
            },
            Series {
                class: "p90",
                label: "90th percentile",
                values: of(&|s| s.response_p90_seconds.map(|v| v as f64)),
            },
        ],
    );
    out.push_str(
        "<table><thead><tr><th>period</th><th>received</th><th>sent</th><th>automated</th>\
         <th>opt-outs</th><th>opt-ins</th><th>median response</th></tr></thead><tbody>",
    );
    for p in periods {
        let s = &p.summary;
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            text(&p.name),
            s.messages_in,
            s.messages_out,
            s.automation_rate
                .map_or("–".to_owned(), |r| format!("{}%", number(r))),
            s.opt_outs,
            s.opt_ins,
            s.response_median_seconds
                .map_or("–".to_owned(), |v| format!("≤ {}", readable_seconds(v))),
        );
    }
    out.push_str("</tbody></table></body></html>");
    out
}

/// The figures as CSV: a row per period with the summary's columns, then every counter that
/// occurs in the range (sorted by name), 0 where a period has none.
pub fn report_csv(periods: &[Period]) -> String {
    let mut metrics: Vec<&String> = periods.iter().flat_map(|p| p.counts.keys()).collect();
    metrics.sort();
    metrics.dedup();
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "period",
        "messages_in",
        "messages_out",
        "ai_replies",
        "agent_messages",
        "campaign_messages",
        "automation_rate",
        "handoffs",
        "opt_ins",
        "opt_outs",
        "responses",
        "response_median_seconds",
        "response_p90_seconds",
    ]
    .map(str::to_owned)
    .to_vec();
    header.extend(metrics.iter().map(|m| (*m).clone()));
    let _ = writer.write_record(&header);
    for p in periods {
        let s = &p.summary;
        let optional = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
        let mut row = vec![
            p.name.clone(),
            s.messages_in.to_string(),
            s.messages_out.to_string(),
            s.ai_replies.to_string(),
            s.agent_messages.to_string(),
            s.campaign_messages.to_string(),
            s.automation_rate.map_or(String::new(), number),
            s.handoffs.to_string(),
            s.opt_ins.to_string(),
            s.opt_outs.to_string(),
            s.responses.to_string(),
            optional(s.response_median_seconds),
            optional(s.response_p90_seconds),
        ];
        row.extend(
            metrics
                .iter()
                .map(|m| p.counts.get(*m).copied().unwrap_or(0).to_string()),
        );
        let _ = writer.write_record(&row);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}
