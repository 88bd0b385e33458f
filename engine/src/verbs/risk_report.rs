//! `WS/risk/report.html`, written by every `mimamori score` that fits a model: the model beside
//! the scorecard, calibration curves, each indicator's contribution and the fairness audit, as
//! one self-contained HTML file (inline SVG, no script, no external asset). Aggregates only.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use risk_model::evaluate::{CalibrationBin, Share};
use risk_model::model::Model;

use super::link_report::esc;
use super::score::Evaluation;

fn pct(s: &Share) -> String {
    match (s.value, s.ci95) {
        (Some(v), Some((lo, hi))) => {
            format!("{:.1}% <small>[{:.1}–{:.1}] {}/{}</small>", v * 100.0, lo * 100.0, hi * 100.0, s.k, s.n)
        }
        _ => "–".into(),
    }
}

/// Predicted against observed, per bin, with the diagonal.
fn calibration(title: &str, bins: &[CalibrationBin]) -> String {
    let (w, h, m) = (320.0, 320.0, 40.0);
    let x = |p: f64| m + p * (w - 2.0 * m);
    let y = |p: f64| h - m - p * (h - 2.0 * m);
    let mut s = format!(
        "<figure><figcaption>{}</figcaption><svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">",
        esc(title),
        esc(title)
    );
    let _ = write!(
        s,
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>",
        x(0.0),
        y(0.0),
        x(1.0),
        y(1.0)
    );
    let _ =
        write!(s, "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333\"/>", x(0.0), y(0.0), x(1.0), y(0.0));
    let _ =
        write!(s, "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333\"/>", x(0.0), y(0.0), x(0.0), y(1.0));
    for t in [0.0, 0.5, 1.0] {
        let _ =
            write!(s, "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{t}</text>", x(t), h - m + 16.0);
        let _ =
            write!(s, "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{t}</text>", m - 6.0, y(t) + 4.0);
    }
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">predicted 予測</text>",
        w / 2.0,
        h - 6.0
    );
    let mut path = String::new();
    for b in bins {
        let Some(o) = b.observed.value else { continue };
        let (px, py) = (x(b.mean_predicted), y(o));
        let _ = write!(path, "{}{px:.1},{py:.1}", if path.is_empty() { "M" } else { " L" });
        let r = (2.0 + (b.n as f64).log10() * 1.5).min(7.0);
        let _ = write!(
            s,
            "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"{r:.1}\" fill=\"#1f77b4\"><title>{} records: predicted {:.3}, observed {:.3}</title></circle>",
            b.n, b.mean_predicted, o
        );
    }
    let _ = write!(s, "<path d=\"{path}\" fill=\"none\" stroke=\"#1f77b4\"/></svg></figure>");
    s
}

/// Horizontal bars of each indicator's contribution to the calibrated log-odds.
fn contributions(model: &Model, labels: &BTreeMap<String, String>) -> String {
    let mut rows: Vec<(String, f64)> = model
        .features
        .iter()
        .enumerate()
        .map(|(j, n)| (labels.get(n).cloned().unwrap_or_else(|| n.clone()), model.platt_a * model.coefficients[j]))
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (w, row_h, left) = (760.0, 18.0, 330.0);
    let h = rows.len() as f64 * row_h + 30.0;
    let max = rows.iter().map(|r| r.1.abs()).fold(0.0, f64::max).max(1e-9);
    let zero = left + (w - left - 20.0) / 2.0;
    let scale = (w - left - 20.0) / 2.0 / max;
    let mut s = format!(
        "<figure><figcaption>each indicator's contribution to the log-odds (base {:.2}) 指標ごとの寄与</figcaption><svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"contributions\">",
        model.platt_a * model.intercept + model.platt_b
    );
    let _ = write!(s, "<line x1=\"{zero}\" y1=\"0\" x2=\"{zero}\" y2=\"{}\" stroke=\"#333\"/>", h - 20.0);
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let (x, bw) = if *v >= 0.0 { (zero, v * scale) } else { (zero + v * scale, -v * scale) };
        let colour = if *v >= 0.0 { "#d62728" } else { "#2ca02c" };
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{}\" fill=\"{colour}\"><title>{:+.2}</title></rect>",
            left - 6.0,
            y + 12.0,
            esc(label),
            row_h - 4.0,
            v
        );
    }
    s.push_str("</svg></figure>");
    s
}

/// The whole report.
pub fn render(municipality: &str, e: &Evaluation, model: &Model, labels: &BTreeMap<String, String>) -> String {
    format!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>{0} リスク指標とモデル</title><style>{STYLE}</style></head><body><h1>{0} — リスク指標とモデル (risk indicators and model)</h1>{1}</body></html>\n",
        esc(municipality),
        sections(e, model, labels)
    )
}

/// The stylesheet of the risk report (also used by the demo report).
pub(super) const STYLE: &str = "body{font-family:sans-serif;max-width:1000px;margin:1em auto;color:#222}table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th:first-child,td:first-child{text-align:left}figure{display:inline-block;margin:0.5em 1em 0.5em 0}small{color:#666}";

/// The report's sections without the document around them.
pub(super) fn sections(e: &Evaluation, model: &Model, labels: &BTreeMap<String, String>) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<p>as of {}: {} children in {} households scored; {} known-case households (要対協) marked, {} moved-out households left out. Labels: {} children ({} needing support). Figures are out-of-fold: each child is scored by a model that did not see its household.</p>",
        esc(&e.as_of),
        e.children_scored,
        e.households_scored,
        e.known_case_households,
        e.excluded_households,
        e.labels.positives + e.labels.negatives,
        e.labels.positives
    );
    if !e.unavailable_indicators.is_empty() {
        s.push_str("<p><strong>Not available in this workspace (利用できない指標):</strong> ");
        let items: Vec<String> =
            e.unavailable_indicators.iter().map(|(n, w)| format!("{} ({})", esc(n), esc(w))).collect();
        s.push_str(&items.join("; "));
        s.push_str("</p>");
    }
    let auc = |a: Option<f64>| a.map_or("–".into(), |v| format!("{v:.3}"));
    let _ = write!(
        s,
        "<h2>Model and scorecard (モデルとスコアカード)</h2><table><tr><th></th><th>AUC</th><th>precision, top 18% of children</th><th>recall, top 18%</th><th>precision at caseworker capacity</th></tr><tr><td>model</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr><tr><td>rule-based scorecard</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table><p><small>{}</small></p>",
        auc(e.model.auc),
        pct(&e.model.at_pilot_share.precision),
        pct(&e.model.at_pilot_share.recall),
        pct(&e.model.at_capacity.precision),
        auc(e.scorecard.auc),
        pct(&e.scorecard.at_pilot_share.precision),
        pct(&e.scorecard.at_pilot_share.recall),
        pct(&e.scorecard.at_capacity.precision),
        esc(e.pilot_reference)
    );
    s.push_str(&calibration(
        &format!("children: calibration (expected error {:.3})", e.expected_calibration_error),
        &e.calibration,
    ));
    s.push_str(&calibration(
        &format!("households: calibration (expected error {:.3})", e.household_expected_calibration_error),
        &e.household_calibration,
    ));
    s.push_str(&contributions(model, labels));
    s.push_str("<h2>Fairness audit (公平性の確認)</h2><table><tr><th>group</th><th>households</th><th>selected</th><th>precision</th><th>false positive</th><th>false negative</th></tr>");
    for r in &e.fairness {
        let _ = write!(
            s,
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.group),
            if r.attribute == "all" || r.attribute == "district" {
                String::new()
            } else {
                format!(" <small>({})</small>", esc(&r.attribute))
            },
            r.households,
            pct(&r.selection_rate),
            pct(&r.precision),
            pct(&r.false_positive_rate),
            pct(&r.false_negative_rate)
        );
    }
    s.push_str("</table>");
    if e.disparities.is_empty() {
        s.push_str("<p>No disparity beyond the configured bound.</p>");
    } else {
        s.push_str("<p><strong>Disparities (a list with one needs a reviewer's stated override):</strong></p><ul>");
        for d in &e.disparities {
            let _ = write!(s, "<li>{}</li>", esc(d));
        }
        s.push_str("</ul>");
    }
    s.push_str("<p><small>The data only assists: lists go to people who decide. Reasons describe circumstances and supports; no list labels a family.</small></p>");
    s
}
