//! `report.html` of `mimamori demo`: the whole pipeline on one self-contained page (inline SVG,
//! no script, no external asset), in Japanese with English labels: what each department held
//! and pseudonymised, the linkage charts and quality estimates, indicator prevalence by district
//! (through the policy gateway, cells under k suppressed), a differentially private release and
//! the budget it spent, the model's calibration and fairness audit, the outreach lists' counts
//! and a summary of the audit log. Aggregates only: no record_ref, token or value.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;

use super::link_report::{self, esc};
use crate::audit::{self, Decision};
use crate::config::Config;
use crate::gateway::{Gateway, QueryRequest};
use crate::risk::ListState;

/// What the demo ran, for the report's first section.
pub struct Summary<'a> {
    pub households: u64,
    pub seed: u64,
    pub persons: u64,
    pub records_by_department: &'a BTreeMap<String, u64>,
    pub pseudonymised: &'a BTreeMap<String, u64>,
    pub linkage: &'a linkage::link::Quality,
    /// The risk report's sections, when a model was fitted.
    pub risk_sections: Option<&'a str>,
    pub lists: &'a [ListState],
}

/// The user the demo acts as (the officer of the default configuration) and its purposes.
const OFFICER: &str = "officer";
const INTERNAL: &str = "child_outreach";
const EXTERNAL: &str = "statistics_release";
/// ε of the demo's one external release (children per district).
const RELEASE_EPSILON: &str = "0.5";

/// Renders the report and writes it to `out` (through a temporary file); audited as
/// `demo-report` by `user`.
pub fn write(workspace: &Path, out: &Path, s: &Summary, user: &str) -> Result<()> {
    let html = render(workspace, s);
    let (decision, detail) = match &html {
        Ok(_) => (Decision::Allow, json!({ "aggregates_only": true })),
        Err(e) => (Decision::Deny, json!({ "error": format!("{e:#}") })),
    };
    audit::append(
        workspace,
        audit::Record { user, action: "demo-report", purpose: Some(INTERNAL), resource: "report", decision, detail },
    )?;
    let html = html?;
    let tmp = out.with_extension("html.tmp");
    std::fs::write(&tmp, html)
        .and_then(|_| std::fs::rename(&tmp, out))
        .with_context(|| format!("cannot write {}", out.display()))
}

fn render(workspace: &Path, s: &Summary) -> Result<String> {
    let gateway = Gateway::open(workspace)?;
    let config = gateway.config();
    let k = config.min_group_size;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>{0} みまもり デモ報告 (demo report)</title><style>{1}\
         nav a{{margin-right:1em}}section{{border-top:2px solid #4e79a7;margin-top:1.5em}}td.num,th.num{{text-align:right}}.muted{{color:#666;font-size:13px}}</style></head><body>\
         <h1>{0} — みまもり デモ報告 <small>demo report</small></h1>\
         <p class=\"muted\">合成データの自治体（{2} 世帯、seed {3}）で、仮名化から連携、指標、アウトリーチ名簿、監査までを一度に実行した結果です。\
         すべて集計値で、氏名・住所・生年月日などの識別子やトークンは含みません。Synthetic municipality; aggregates only.</p>\
         <nav><a href=\"#pipeline\">処理の流れ</a><a href=\"#linkage\">連携</a><a href=\"#prevalence\">指標の地区別集計</a><a href=\"#dp\">差分プライバシー</a><a href=\"#risk\">モデルと公平性</a><a href=\"#outreach\">アウトリーチ名簿</a><a href=\"#audit\">監査ログ</a></nav>",
        esc(&config.municipality_name),
        link_report::STYLE,
        s.households,
        s.seed
    );
    pipeline(&mut h, s);
    let _ = write!(
        h,
        "<section id=\"linkage\"><h2>連携 <small>Linkage</small></h2>{}</section>",
        link_report::sections(workspace)?
    );
    prevalence(&mut h, workspace, &gateway, k)?;
    dp_release(&mut h, workspace, &gateway, config)?;
    match s.risk_sections {
        Some(r) => {
            let _ = write!(h, "<section id=\"risk\"><h2>指標・モデル・公平性 <small>Risk model, calibration, fairness</small></h2>{r}</section>");
        }
        None => h.push_str("<section id=\"risk\"><h2>指標・モデル・公平性 <small>Risk model</small></h2><p>必要のあるこどもとないこどもが少なすぎてモデルを当てはめられず、名簿はスコアカードで順位付けしました（--households を増やしてください）。Too few labelled children to fit the model: lists ranked by the scorecard.</p></section>"),
    }
    outreach(&mut h, s.lists);
    audit_summary(&mut h, workspace)?;
    h.push_str("<p class=\"muted\">データは判断を補助するだけで、決めるのは人です。名簿は支援の可能性と理由を示し、家庭にラベルを付けません。The data only assists: people decide.</p></body></html>\n");
    Ok(h)
}

fn pipeline(h: &mut String, s: &Summary) {
    h.push_str("<section id=\"pipeline\"><h2>処理の流れ <small>Pipeline</small></h2><table><thead><tr><th>部署 department</th><th class=\"num\">抽出の件数 records</th><th class=\"num\">仮名化した件数 pseudonymised</th></tr></thead><tbody>");
    for (dept, n) in s.records_by_department {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"num\">{n}</td><td class=\"num\">{}</td></tr>",
            esc(dept),
            s.pseudonymised.get(dept).map_or_else(|| "–".to_string(), u64::to_string)
        );
    }
    let q = s.linkage;
    let _ = write!(
        h,
        "</tbody></table><p>合成人口 {} 人 → 連携後 {} 人・{} 世帯 (persons, households after linkage){}。\
         各部署は自分の抽出を自分の鍵で仮名化し、氏名は部署の外に出ていません (each custodian pseudonymised its own extract; vaults and keys stayed with the custodians).</p></section>",
        s.persons,
        q.persons.persons,
        q.households.households,
        q.truth.as_ref().map_or(String::new(), |t| format!(
            "；正解との比較 (against the truth): 人のペア F1 {:.4}、世帯のペア F1 {:.4}",
            t.persons.pair_f1, t.households.pair_f1
        ))
    );
}

/// Released cells by district.
type Cells = BTreeMap<String, String>;

/// Children and each feature indicator's children by district, one gateway query each (a cell
/// with fewer than k flagged children is withheld by the gateway and shown as —). How many
/// cells the gateway withheld stays in the audit log: shown, it would answer a question about
/// a withheld cell.
fn prevalence(h: &mut String, workspace: &Path, gateway: &Gateway, k: u32) -> Result<()> {
    h.push_str("<section id=\"prevalence\"><h2>指標の地区別集計 <small>Indicator prevalence by district</small></h2>");
    let indicators_dir = crate::risk::dir(workspace).join("indicators");
    let indicators = match risk_model::indicator::load(&indicators_dir) {
        Ok(i) => i,
        Err(e) => {
            let _ =
                write!(h, "<p>指標を読めませんでした (indicators not readable): {}</p></section>", esc(&e.to_string()));
            return Ok(());
        }
    };
    let features: Vec<_> = indicators.iter().filter(|i| i.has(risk_model::indicator::Use::Feature)).collect();
    // (label, code name, SQL); names are the loaded indicators' code names, never user text
    let mut queries = vec![(
        "こども children".to_string(),
        String::new(),
        "SELECT district, count(*) AS n FROM risk.features GROUP BY district".to_string(),
    )];
    for i in &features {
        queries.push((
            i.label.clone(),
            i.name.clone(),
            format!(
                "SELECT district, sum(CASE WHEN \"{}\" THEN 1 ELSE 0 END) AS n FROM risk.features GROUP BY district",
                i.name
            ),
        ));
    }
    let mut table: Vec<(String, String, Result<Cells, String>)> = Vec::new();
    let mut districts: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut audit_seqs = Vec::new();
    for (label, name, sql) in queries {
        let row = match gateway.query(&QueryRequest { user: OFFICER, purpose: INTERNAL, sql: &sql, external: None }) {
            Ok(r) => {
                audit_seqs.push(r.audit_seq);
                let cells: Cells = r
                    .rows()?
                    .into_iter()
                    .map(|c| (c.first().cloned().unwrap_or_default(), c.get(1).cloned().unwrap_or_default()))
                    .collect();
                districts.extend(cells.keys().cloned());
                Ok(cells)
            }
            Err(e) => Err(format!("{e:#}")),
        };
        table.push((label, name, row));
    }
    h.push_str("<div style=\"overflow-x:auto\"><table><thead><tr><th>指標 indicator</th>");
    for d in &districts {
        let _ = write!(h, "<th class=\"num\">{}</th>", if d.is_empty() { "地区不明 unknown".into() } else { esc(d) });
    }
    h.push_str("</tr></thead><tbody>");
    for (label, name, row) in &table {
        let _ = write!(h, "<tr><td>{} <small>{}</small></td>", esc(label), esc(name));
        match row {
            Ok(cells) => {
                for d in &districts {
                    let _ = write!(
                        h,
                        "<td class=\"num\">{}</td>",
                        cells.get(d).map_or_else(|| "—".to_string(), |v| esc(v))
                    );
                }
            }
            Err(e) => {
                let _ = write!(
                    h,
                    "<td colspan=\"{}\">ゲートウェイが拒否 (denied): {}</td>",
                    districts.len().max(1),
                    esc(e)
                );
            }
        }
        h.push_str("</tr>");
    }
    let _ = write!(
        h,
        "</tbody></table></div><p class=\"muted\">ゲートウェイ経由 (through the policy gateway, audit #{}–#{})。\
         — は {k} 人未満を表しうるため非表示にしたセル (a cell that could describe fewer than {k} children is withheld)。</p></section>",
        audit_seqs.first().copied().unwrap_or_default(),
        audit_seqs.last().copied().unwrap_or_default(),
    );
    Ok(())
}

/// One external release (children per district, differentially private) and every purpose's
/// budget as the DP ledger holds it.
fn dp_release(h: &mut String, workspace: &Path, gateway: &Gateway, config: &Config) -> Result<()> {
    h.push_str("<section id=\"dp\"><h2>差分プライバシーによる公表 <small>Differentially private release</small></h2>");
    let sql = "SELECT district, count(DISTINCT person_id) AS children FROM extracts.registry GROUP BY district";
    match gateway.query(&QueryRequest { user: OFFICER, purpose: EXTERNAL, sql, external: Some(RELEASE_EPSILON) }) {
        Ok(r) => {
            let _ = write!(
                h,
                "<p>住民記録の地区ごとの人数を ε = {RELEASE_EPSILON} で公表した場合の値です (residents per district as released outside, ε = {RELEASE_EPSILON}; audit #{})。雑音は暗号論的乱数から作られ、再実行ごとに変わります。</p><table><thead><tr><th>地区 district</th><th class=\"num\">公表値 released</th><th class=\"num\">95% 誤差 error</th></tr></thead><tbody>",
                r.audit_seq
            );
            for row in r.rows()? {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">±{}</td></tr>",
                    esc(row.first().map_or("", String::as_str)),
                    esc(row.get(1).map_or("", String::as_str)),
                    esc(row.get(2).map_or("", String::as_str))
                );
            }
            h.push_str("</tbody></table>");
        }
        Err(e) => {
            let _ = write!(h, "<p>ゲートウェイが拒否しました (denied by the gateway): {}</p>", esc(&format!("{e:#}")));
        }
    }
    let (spending, _) = crate::gateway::budget_spending(workspace, config)?;
    h.push_str("<h3>目的ごとの予算 <small>Budget per purpose</small></h3><table><thead><tr><th>目的 purpose</th><th class=\"num\">ε 予算</th><th class=\"num\">ε 使用済み spent</th><th class=\"num\">δ 予算</th><th class=\"num\">δ 使用済み</th><th class=\"num\">公表数 releases</th></tr></thead><tbody>");
    for row in &spending {
        let p = row.purpose;
        let _ = write!(
            h,
            "<tr><td>{} <small>{}</small></td><td class=\"num\">{}</td><td class=\"num\">{:.4}</td><td class=\"num\">{}</td><td class=\"num\">{:.2e}</td><td class=\"num\">{}</td></tr>",
            esc(&p.label),
            esc(&p.id),
            esc(&p.dp_epsilon),
            row.spent.epsilon,
            esc(&p.dp_delta),
            row.spent.delta,
            row.releases
        );
    }
    h.push_str("</tbody></table></section>");
    Ok(())
}

fn outreach(h: &mut String, lists: &[ListState]) {
    h.push_str("<section id=\"outreach\"><h2>アウトリーチ名簿 <small>Outreach lists</small></h2><table><thead><tr><th>地区 district</th><th class=\"num\">対応可能件数 capacity</th><th class=\"num\">掲載世帯 listed</th><th class=\"num\">既知の事例 known cases</th><th class=\"num\">容量超過 beyond capacity</th><th>順位付け ranking</th></tr></thead><tbody>");
    let mut total = (0, 0, 0, 0);
    for l in lists {
        let _ = write!(
            h,
            "<tr><td>{} <small>{}</small></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&l.district_name),
            esc(&l.district),
            l.capacity,
            l.listed,
            l.known_cases,
            l.beyond_capacity,
            esc(&l.ranking)
        );
        total = (total.0 + l.capacity, total.1 + l.listed, total.2 + l.known_cases, total.3 + l.beyond_capacity);
    }
    let _ = write!(
        h,
        "<tr><th>計 total</th><th class=\"num\">{}</th><th class=\"num\">{}</th><th class=\"num\">{}</th><th class=\"num\">{}</th><th></th></tr></tbody></table>\
         <p class=\"muted\">名簿は2人の審査者の承認を待っています。承認後、各部署の保管者が再識別し、地区担当が訪問します (each list awaits two reviewers; the custodians then re-identify it for the caseworkers).</p></section>",
        total.0, total.1, total.2, total.3
    );
}

fn audit_summary(h: &mut String, workspace: &Path) -> Result<()> {
    h.push_str("<section id=\"audit\"><h2>監査ログ <small>Audit log</small></h2>");
    match audit::verify(workspace) {
        Ok(entries) => {
            let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
            for e in &entries {
                let d = match e.decision {
                    Decision::Allow => "allow 許可",
                    Decision::Deny => "deny 拒否",
                    Decision::Error => "error 不成立",
                };
                *counts.entry((e.action.as_str(), d)).or_default() += 1;
            }
            let _ = write!(
                h,
                "<p>{} 件の記録、ハッシュの連鎖と署名付きチェックポイントを検証済み (entries verified: hash chain and signed checkpoints intact)。</p><table><thead><tr><th>操作 action</th><th>判定 decision</th><th class=\"num\">件数 entries</th></tr></thead><tbody>",
                entries.len()
            );
            for ((action, decision), n) in counts {
                let _ = write!(h, "<tr><td>{}</td><td>{decision}</td><td class=\"num\">{n}</td></tr>", esc(action));
            }
            h.push_str("</tbody></table>");
        }
        Err(e) => {
            let _ = write!(
                h,
                "<p><strong>監査ログの検証に失敗しました (audit log verification failed):</strong> {}</p>",
                esc(&format!("{e:#}"))
            );
        }
    }
    h.push_str("</section>");
    Ok(())
}
