//! Officers' pages: the linkage quality report, and indicator prevalence by district through
//! the query gateway (suppressed under k exactly as `mimamori query` would).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::html::{esc, notice, page};
use super::{App, Auth, PageError, Session, blocking, workspace};
use crate::config::Config;
use crate::gateway::{Gateway, QueryRequest};

fn allow(app: &App, s: &Session, resource: &str) -> Result<(), PageError> {
    let config = Config::load_workspace(workspace(app))?;
    crate::gate::workspace_action(workspace(app), &config, &s.user, &s.purpose, "view_quality", resource)?;
    Ok(())
}

/// Scalar fields of a JSON object as table rows (nested objects by their path).
fn scalars(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                scalars(&p, x, out);
            }
        }
        Value::Array(a) => out.push((prefix.to_string(), format!("[{} 件]", a.len()))),
        Value::Number(n) => out.push((
            prefix.to_string(),
            n.as_f64().map_or(n.to_string(), |f| if f.fract() == 0.0 { format!("{f:.0}") } else { format!("{f:.4}") }),
        )),
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        Value::Bool(b) => out.push((prefix.to_string(), b.to_string())),
        Value::Null => {}
    }
}

pub async fn quality(State(app): State<Arc<App>>, auth: Auth) -> Response {
    let s = auth.session;
    blocking(Some(s.clone()), move || {
        allow(&app, &s, "linkage quality")?;
        let path = workspace(&app).join("linked").join(linkage::link::QUALITY_FILE);
        let mut body = String::new();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let v: Value = serde_json::from_str(&text).map_err(anyhow::Error::from)?;
                let mut rows = Vec::new();
                scalars("", &v, &mut rows);
                body.push_str(r#"<p><a href="/officer/link-report">連携レポート（図表つき）を開く</a></p><section class="card"><h2>quality.json（真値を使わない品質推定を含む）</h2><table><tbody>"#);
                for (k, x) in rows.iter().take(200) {
                    let _ = write!(body, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(x));
                }
                body.push_str("</tbody></table></section>");
            }
            Err(_) => body.push_str(&notice("", "まだ連携されていません（mimamori link）。")),
        }
        app.viewed(&s, "view_quality", "linkage quality", "/officer/quality", json!({}))?;
        Ok(Html(page("連携品質", Some(&s), "/officer/quality", &body)).into_response())
    })
    .await
}

pub async fn link_report(State(app): State<Arc<App>>, auth: Auth) -> Response {
    let s = auth.session;
    blocking(Some(s.clone()), move || {
        allow(&app, &s, "linkage report")?;
        let html =
            crate::verbs::link_report::render(workspace(&app)).map_err(|e| PageError::Refused(format!("{e:#}")))?;
        app.viewed(&s, "view_quality", "linkage report", "/officer/link-report", json!({}))?;
        Ok(Html(html).into_response())
    })
    .await
}

#[derive(Deserialize, Default)]
pub struct Prevalence {
    #[serde(default)]
    indicator: String,
}

pub async fn prevalence(State(app): State<Arc<App>>, auth: Auth, Query(q): Query<Prevalence>) -> Response {
    let s = auth.session;
    blocking(Some(s.clone()), move || {
        let indicators = risk_model::indicator::load(&crate::risk::dir(workspace(&app)).join("indicators"))
            .map_err(anyhow::Error::from)?;
        let features: Vec<_> = indicators.iter().filter(|i| i.has(risk_model::indicator::Use::Feature)).collect();
        let mut body = String::from(r#"<form method="get" action="/officer/prevalence" class="filters card"><div><label for="indicator">指標</label><select id="indicator" name="indicator">"#);
        for i in &features {
            let sel = if i.name == q.indicator { " selected" } else { "" };
            let _ = write!(body, r#"<option value="{}"{sel}>{}（{}）</option>"#, esc(&i.name), esc(&i.label), esc(&i.name));
        }
        body.push_str(r#"</select></div><div><button type="submit">集計する</button></div></form>"#);
        allow(&app, &s, "indicator prevalence")?;
        app.viewed(&s, "view_quality", "indicator prevalence", "/officer/prevalence", json!({ "indicator": q.indicator }))?;
        let Some(chosen) = features.iter().find(|i| i.name == q.indicator) else {
            body.push_str("<p>指標を選ぶと、地区ごとの該当するこどもの数を集計します（ゲートウェイを通り、k 人未満のセルは表示されません）。</p>");
            return Ok(Html(page("指標の地区別集計", Some(&s), "/officer/prevalence", &body)).into_response());
        };
        // the name is one of the loaded indicators' (a code name), never the user's text
        let sql = format!(
            "SELECT district, sum(CASE WHEN \"{}\" THEN 1 ELSE 0 END) AS flagged FROM risk.features GROUP BY district ORDER BY district",
            chosen.name
        );
        let gateway = Gateway::open(workspace(&app))?;
        match gateway.query(&QueryRequest { user: &s.user, purpose: &s.purpose, sql: &sql, external: None }) {
            Ok(r) => {
                let _ = write!(body, "<h2>{}</h2>", esc(&chosen.label));
                body.push_str(r#"<table><thead><tr><th>地区</th><th class="num">該当するこども</th></tr></thead><tbody>"#);
                for cells in r.rows()? {
                    let _ = write!(
                        body,
                        r#"<tr><td>{}</td><td class="num">{}</td></tr>"#,
                        esc(cells.first().map_or("", String::as_str)),
                        esc(cells.get(1).map_or("", String::as_str))
                    );
                }
                body.push_str("</tbody></table>");
                let _ = write!(
                    body,
                    // how many cells were withheld stays in the audit log (shown, it would answer a
                    // question about a withheld cell)
                    r#"<p class="muted">{} 人未満を表しうる地区は表示しません ・ ゲートウェイの書き換え: {} ・ 監査ログ #{}</p>"#,
                    gateway.config().min_group_size,
                    esc(&r.rewrites.join("; ")),
                    r.audit_seq
                );
            }
            Err(e) if e.downcast_ref::<crate::gateway::Denied>().is_some() => return Err(PageError::Denied),
            Err(e) => body.push_str(&notice("error", &format!("集計できませんでした: {e:#}"))),
        }
        Ok(Html(page("指標の地区別集計", Some(&s), "/officer/prevalence", &body)).into_response())
    })
    .await
}
