//! `mimamori link-report`: the charts a linkage officer needs, as one self-contained HTML file
//! (inline SVG, no script, no external asset): match-weight histogram with the threshold, m and
//! u per field and level, a waterfall of one borderline pair, cluster sizes, blocking rules and
//! the model's own quality estimates. It reads only aggregates and comparison levels from
//! WS/linked/, never a record_ref or a value.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use arrow_array::{Array, Float32Array, UInt8Array};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value, json};

use crate::audit;
use crate::gate;

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn load(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {}; run `mimamori link` first", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// A vertical bar chart: (label, value) pairs, optional vertical marker at a label position.
fn bars(title: &str, data: &[(String, f64)], marker: Option<(f64, &str)>, log: bool) -> String {
    let (w, h, left, bottom) = (720.0, 240.0, 56.0, 36.0);
    let n = data.len().max(1) as f64;
    let bw = (w - left - 10.0) / n;
    let scale = |v: f64| if log { (v + 1.0).log10() } else { v };
    let max = data.iter().map(|d| scale(d.1)).fold(0.0, f64::max).max(1e-9);
    let mut s = format!(
        "<figure><figcaption>{}</figcaption><svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">",
        esc(title),
        esc(title)
    );
    let plot_h = h - bottom - 10.0;
    for (i, (label, v)) in data.iter().enumerate() {
        let bh = scale(*v) / max * plot_h;
        let x = left + i as f64 * bw;
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#4e79a7\"><title>{}: {}</title></rect>",
            10.0 + plot_h - bh,
            (bw - 1.0).max(0.5),
            esc(label),
            v
        );
        let every = (n / 12.0).ceil().max(1.0) as usize;
        if i % every == 0 {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
                x + bw / 2.0,
                h - bottom + 14.0,
                esc(label)
            );
        }
    }
    if let Some((pos, text)) = marker {
        let x = left + pos * bw;
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"10\" y2=\"{:.1}\" stroke=\"#e15759\" stroke-width=\"2\"/><text x=\"{:.1}\" y=\"22\" font-size=\"11\" fill=\"#e15759\">{}</text>",
            10.0 + plot_h,
            x + 4.0,
            esc(text)
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{left}\" x2=\"{left}\" y1=\"10\" y2=\"{:.1}\" stroke=\"#333\"/><text x=\"4\" y=\"20\" font-size=\"10\">{}</text></svg></figure>",
        10.0 + plot_h,
        if log { "log" } else { "" }
    );
    s
}

/// m and u of each level of each field, as paired horizontal bars with the weight.
fn m_u(model: &Value) -> String {
    let mut s = String::from(
        "<table class=\"mu\"><thead><tr><th>field 項目</th><th>level 水準</th><th>m (match)</th><th>u (non-match)</th><th>weight log₂(m/u)</th></tr></thead><tbody>",
    );
    let empty = Vec::new();
    let fields = model["fields"].as_array().unwrap_or(&empty);
    for (f, field) in fields.iter().enumerate() {
        let levels = field["levels"].as_array().unwrap_or(&empty);
        for (l, label) in levels.iter().enumerate().rev() {
            let m = model["m"][f][l].as_f64().unwrap_or(0.0);
            let u = model["u"][f][l].as_f64().unwrap_or(0.0);
            let w = model["weights"][f][l].as_f64().unwrap_or(0.0);
            let bar = |p: f64, colour: &str| {
                format!(
                    "<svg width=\"160\" height=\"12\"><rect width=\"{:.1}\" height=\"12\" fill=\"{colour}\"/></svg> {p:.4}",
                    (p * 160.0).max(0.5)
                )
            };
            let wbar = format!(
                "<svg width=\"160\" height=\"12\"><rect x=\"{:.1}\" width=\"{:.1}\" height=\"12\" fill=\"{}\"/></svg> {w:+.1}",
                if w < 0.0 { 80.0 + (w * 4.0).max(-80.0) } else { 80.0 },
                (w.abs() * 4.0).min(80.0),
                if w < 0.0 { "#e15759" } else { "#59a14f" }
            );
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{wbar}</td></tr>",
                if l + 1 == levels.len() { esc(field["name"].as_str().unwrap_or("")) } else { String::new() },
                esc(label.as_str().unwrap_or("")),
                bar(m, "#4e79a7"),
                bar(u, "#f28e2b")
            );
        }
    }
    s.push_str("</tbody></table>");
    s
}

/// The borderline review pair nearest the threshold, as a waterfall of weights.
fn waterfall(linked: &Path, model: &Value) -> Result<String> {
    let path = linked.join(linkage::link::REVIEW_FILE);
    let file = File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .with_context(|| format!("cannot read {}", path.display()))?;
    let threshold = model["threshold"].as_f64().unwrap_or(0.5);
    let tw = (threshold / (1.0 - threshold)).log2();
    let empty = Vec::new();
    let fields = model["fields"].as_array().unwrap_or(&empty);
    let mut best: Option<(f64, f64, Vec<Option<u8>>)> = None;
    for batch in reader {
        let batch = batch?;
        let Some(w) =
            batch.column_by_name("match_weight").and_then(|c| c.as_any().downcast_ref::<Float32Array>().cloned())
        else {
            bail!("{}: no match_weight column", path.display());
        };
        // written before the one-to-one adjustment existed: none
        let one_to_one =
            batch.column_by_name("one_to_one_weight").and_then(|c| c.as_any().downcast_ref::<Float32Array>().cloned());
        for i in 0..batch.num_rows() {
            let weight = w.value(i) as f64;
            if best.as_ref().is_some_and(|b| (b.0 - tw).abs() <= (weight - tw).abs()) {
                continue;
            }
            let levels = fields
                .iter()
                .map(|f| {
                    let name = format!("gamma_{}", f["name"].as_str().unwrap_or(""));
                    batch
                        .column_by_name(&name)
                        .and_then(|c| c.as_any().downcast_ref::<UInt8Array>().cloned())
                        .and_then(|c| c.is_valid(i).then(|| c.value(i)))
                })
                .collect();
            best = Some((weight, one_to_one.as_ref().map_or(0.0, |a| a.value(i) as f64), levels));
        }
    }
    let Some((total, one_to_one, levels)) = best else {
        return Ok("<p>No borderline pairs. 境界付近の候補ペアはありません。</p>".into());
    };
    let lambda = model["lambda"].as_f64().unwrap_or(1e-6);
    let prior = (lambda / (1.0 - lambda)).log2();
    let mut steps: Vec<(String, f64)> = vec![("prior 事前".into(), prior)];
    for (f, l) in levels.iter().enumerate() {
        let name = fields[f]["name"].as_str().unwrap_or("");
        match l {
            Some(l) => steps.push((
                format!("{name}: {}", fields[f]["levels"][*l as usize].as_str().unwrap_or("")),
                model["weights"][f][*l as usize].as_f64().unwrap_or(0.0),
            )),
            None => steps.push((format!("{name}: unknown 不明"), 0.0)),
        }
    }
    let explained: f64 = steps.iter().map(|s| s.1).sum();
    steps.push(("term frequency 頻度補正".into(), total - one_to_one - explained));
    if one_to_one != 0.0 {
        steps.push(("other candidates (one record per person) 他の候補".into(), one_to_one));
    }
    let (w, row) = (720.0, 20.0);
    let h = row * (steps.len() as f64 + 2.0);
    let lo = steps.iter().scan(0.0, |acc, s| {
        *acc += s.1;
        Some(*acc)
    });
    let cumulative: Vec<f64> = lo.collect();
    let min = cumulative.iter().copied().chain([0.0, tw]).fold(f64::INFINITY, f64::min) - 2.0;
    let max = cumulative.iter().copied().chain([0.0, tw, prior]).fold(f64::NEG_INFINITY, f64::max) + 2.0;
    let x = |v: f64| 300.0 + (v - min) / (max - min) * (w - 310.0);
    let mut s = format!(
        "<figure><figcaption>Waterfall of the borderline pair nearest the threshold (weight {total:+.2}; threshold {tw:+.2}) 閾値付近のペアの重みの内訳</figcaption><svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\">"
    );
    let mut at = 0.0;
    for (i, (label, v)) in steps.iter().enumerate() {
        let y = 10.0 + i as f64 * row;
        let (a, b) = (x(at), x(at + v));
        let _ = write!(
            s,
            "<text x=\"4\" y=\"{:.1}\" font-size=\"11\">{}</text><rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{v:+.2}</text>",
            y + 13.0,
            esc(label),
            a.min(b),
            (a - b).abs().max(1.0),
            row - 4.0,
            if *v < 0.0 { "#e15759" } else { "#59a14f" },
            a.max(b) + 4.0,
            y + 13.0
        );
        at += v;
    }
    let _ = write!(
        s,
        "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"6\" y2=\"{1:.1}\" stroke=\"#333\" stroke-dasharray=\"4 2\"/><text x=\"{2:.1}\" y=\"{1:.1}\" font-size=\"10\">threshold 閾値</text></svg></figure>",
        x(tw),
        h - 6.0,
        x(tw) + 3.0
    );
    Ok(s)
}

/// The report as one HTML document.
pub fn render(workspace: &Path) -> Result<String> {
    Ok(format!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>連携品質レポート Linkage report</title><style>{STYLE}</style></head><body><h1>連携品質レポート <small>Linkage report</small></h1>{}</body></html>\n",
        sections(workspace)?
    ))
}

/// The stylesheet of the linkage report (also used by the demo report).
pub(super) const STYLE: &str = "body{font-family:system-ui,'Hiragino Sans','Noto Sans JP',sans-serif;max-width:980px;margin:1em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px;text-align:left}figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}.mu td{white-space:nowrap}small{color:#666}";

/// The report's sections (from the first summary line to the cluster sizes), without the
/// document around them.
pub(super) fn sections(workspace: &Path) -> Result<String> {
    let linked = workspace.join("linked");
    let quality = load(&linked.join(linkage::link::QUALITY_FILE))?;
    let model = load(&linked.join(linkage::link::MODEL_FILE))?;
    let empty = Vec::new();
    let threshold = model["threshold"].as_f64().unwrap_or(0.5);
    let tw = (threshold / (1.0 - threshold)).log2();

    let hist: Vec<(String, f64)> = quality["weight_histogram"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|b| (b[0].as_i64().unwrap_or(0).to_string(), b[1].as_f64().unwrap_or(0.0)))
        .collect();
    let first = hist.first().and_then(|h| h.0.parse::<f64>().ok()).unwrap_or(0.0);
    let weights = bars(
        "Match weight of candidate pairs (log₂ odds; count, log scale) 候補ペアの一致重み",
        &hist,
        Some((tw - first, "threshold 閾値")),
        true,
    );
    let sizes: Vec<(String, f64)> = quality["persons"]["size_histogram"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|b| (b[0].as_i64().unwrap_or(0).to_string(), b[1].as_f64().unwrap_or(0.0)))
        .collect();
    let clusters = bars("Records per person (persons, log scale) 1人あたりのレコード数", &sizes, None, true);

    let e = &quality["expected"];
    let p = &quality["persons"];
    let mut rules = String::from(
        "<table><thead><tr><th>blocking rule ブロッキング規則</th><th>candidate pairs 候補ペア</th><th>new pairs 新規</th><th>largest groups 最大グループ</th></tr></thead><tbody>",
    );
    for r in quality["blocking"].as_array().unwrap_or(&empty) {
        let cols: Vec<&str> = r["columns"].as_array().unwrap_or(&empty).iter().filter_map(|c| c.as_str()).collect();
        let _ = write!(
            rules,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&cols.join(" + ")),
            r["skipped"].as_str().map_or_else(
                || match r["pairs_a_year_apart"].as_u64() {
                    Some(n) => format!("{} ({n} a birth year apart 生年が1年違い)", r["pairs"]),
                    None => r["pairs"].to_string(),
                },
                |s| format!("skipped: {}", esc(s))
            ),
            r["new_pairs"],
            esc(&r["largest_groups"].to_string())
        );
    }
    rules.push_str("</tbody></table>");
    let household_fields = model["household_level_fields"].to_string();
    let mut html = String::new();
    let _ = write!(
        html,
        "<p>{} records 件 → {} persons 人, {} households 世帯. Threshold 閾値 p ≥ {:.3}.</p>\
         <h2>Model's own estimate モデル自身による推定 (no truth needed)</h2>\
         <table><tr><th>precision 適合率</th><td>{:.4}</td><th>recall 再現率 (of candidate pairs)</th><td>{:.4}</td><th>F1</th><td>{:.4}</td></tr>\
         <tr><th>merges refused 制約で拒否</th><td>{}</td><th>bridges 橋</th><td>{}</td><th>low-confidence records 低信頼</th><td>{}</td></tr></table>",
        quality["records"],
        p["persons"],
        quality["households"]["households"],
        threshold,
        e["precision"].as_f64().unwrap_or(0.0),
        e["recall"].as_f64().unwrap_or(0.0),
        e["f1"].as_f64().unwrap_or(0.0),
        p["refused_merges"],
        p["bridges"],
        p["low_confidence_records"]
    );
    if let Some(t) = quality.get("truth").filter(|t| !t.is_null()) {
        let _ = write!(
            html,
            "<h2>Against the truth 正解との比較 (evaluation)</h2><table><tr><th></th><th>pair precision</th><th>pair recall</th><th>pair F1</th><th>cluster F1</th></tr><tr><th>persons 人</th><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td></tr><tr><th>households 世帯</th><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td></tr></table>",
            t["persons"]["pair_precision"].as_f64().unwrap_or(0.0),
            t["persons"]["pair_recall"].as_f64().unwrap_or(0.0),
            t["persons"]["pair_f1"].as_f64().unwrap_or(0.0),
            t["persons"]["cluster_f1"].as_f64().unwrap_or(0.0),
            t["households"]["pair_precision"].as_f64().unwrap_or(0.0),
            t["households"]["pair_recall"].as_f64().unwrap_or(0.0),
            t["households"]["pair_f1"].as_f64().unwrap_or(0.0),
            t["households"]["cluster_f1"].as_f64().unwrap_or(0.0)
        );
    }
    let _ = write!(
        html,
        "<h2>Blocking ブロッキング</h2>{rules}<h2>Match weights 一致重み</h2>{weights}{}<h2>m and u per level 水準ごとの m と u</h2><p>Household-level fields left out of the person model 世帯単位の項目（人の照合には不使用）: {}</p>{}<h2>Persons 人のクラスタ</h2>{clusters}",
        waterfall(&linked, &model)?,
        esc(&household_fields),
        m_u(&model)
    );
    Ok(html)
}

/// Writes the report (to `out`, default `WS/linked/report.html`) and returns where.
/// Writes the charts of the last linkage (aggregates only) after the policies allowed
/// `view_quality` for the user (see [`gate::officer_actor`] when none is named).
pub fn run(workspace: &Path, out: Option<&Path>, user: Option<&str>, purpose: &str) -> Result<PathBuf> {
    let (config, source) = gate::workspace_config(workspace)?;
    let user = gate::officer_actor(&config, user)?;
    gate::with_denial_detail(json!({"via": "link-report"}), || {
        gate::workspace_action(workspace, &config, &user, purpose, "view_quality", "linked")
    })?;
    let out: PathBuf = out.map_or_else(|| workspace.join("linked").join("report.html"), Path::to_path_buf);
    let detail = json!({"login": audit::os_user(), "configuration": source.as_str(), "aggregates_only": true});
    let html =
        gate::log_failure_with(workspace, &user, purpose, "link-report", "linked", detail.clone(), render(workspace))?;
    gate::record(workspace, &user, purpose, "link-report", "linked", detail)?;
    let tmp = out.with_extension("html.tmp");
    std::fs::write(&tmp, html)
        .and_then(|_| std::fs::rename(&tmp, &out))
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(out)
}
