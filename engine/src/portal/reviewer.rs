//! Reviewers' pages: lists waiting for approval with their fairness audit, approve or reject
//! (two distinct reviewers), the audit log with search and verification, the DP budget per
//! purpose, and denied accesses. Officers may view the lists' state too (Cedar `view_list`).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Form, Path as UrlPath, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::html::{csrf_field, esc, notice, page, url};
use super::{App, Auth, PageError, Session, blocking, refused_form, workspace};
use crate::audit::{Decision, Entry};
use crate::config::{Config, Role};
use crate::risk::{self, ListState};
use crate::verbs::outreach;

fn allow(app: &App, s: &Session, action: &str, resource: &str) -> Result<Config, PageError> {
    let config = Config::load_workspace(workspace(app))?;
    crate::gate::workspace_action(workspace(app), &config, &s.user, &s.purpose, action, resource)?;
    Ok(config)
}

fn pct(s: &risk_model::evaluate::Share) -> String {
    match (s.value, s.ci95) {
        (Some(v), Some((lo, hi))) => format!(
            "{:.1}% <span class=\"muted\">[{:.1}–{:.1}]</span> ({}/{})",
            v * 100.0,
            lo * 100.0,
            hi * 100.0,
            s.k,
            s.n
        ),
        (Some(v), None) => format!("{:.1}% ({}/{})", v * 100.0, s.k, s.n),
        _ => "—".into(),
    }
}

fn status_tag(l: &ListState, approvals: usize, rejected: bool) -> String {
    if rejected || !l.rejections.is_empty() {
        r#"<span class="tag bad">差し戻し</span>"#.into()
    } else if approvals >= risk::APPROVALS_NEEDED {
        r#"<span class="tag ok">承認済み</span>"#.into()
    } else {
        format!(r#"<span class="tag warn">承認待ち（{approvals}/{}）</span>"#, risk::APPROVALS_NEEDED)
    }
}

pub async fn lists(State(app): State<Arc<App>>, auth: Auth) -> Response {
    let s = auth.session;
    blocking(Some(s.clone()), move || {
        allow(&app, &s, "view_list", "outreach lists")?;
        let lists = risk::read_lists(workspace(&app))?;
        let entries = app.review_entries()?;
        let mut body = String::from(
            r#"<p>各地区のリストは、異なる2人の審査担当が承認して初めて原課での再識別と地区担当への表示に進みます。公平性の監査で差が見つかったリストは、承認の理由の記載が必要です。</p>
<table><thead><tr><th>地区</th><th>リスト</th><th>時点</th><th>順位づけ</th><th class="num">掲載／上限</th><th class="num">要対協</th><th>公平性</th><th>承認</th><th>状態</th></tr></thead><tbody>"#,
        );
        for l in &lists {
            let by = risk::approvals_in(&entries, l);
            let rejected = risk::rejected_in(&entries, l);
            let _ = write!(
                body,
                r#"<tr><td>{}</td><td><a href="/review/lists/{}">{}</a></td><td>{}</td><td>{}</td><td class="num">{}／{}</td><td class="num">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                esc(&l.district_name),
                url(&l.list_id),
                esc(&l.list_id),
                esc(&l.as_of),
                if l.ranking == "model" { "校正済みモデル" } else { "スコアカード" },
                l.listed,
                l.capacity,
                l.known_cases,
                if l.disparities.is_empty() { r#"<span class="tag ok">差なし</span>"#.to_string() } else { format!(r#"<span class="tag bad">差あり {}件</span>"#, l.disparities.len()) },
                if by.is_empty() { "—".to_string() } else { esc(&by.join("、")) },
                status_tag(l, by.len(), rejected)
            );
        }
        body.push_str("</tbody></table>");
        if lists.is_empty() {
            body.push_str("<p>リストはまだありません（<code>mimamori outreach</code> で作成されます）。</p>");
        }
        app.viewed(&s, "view_list", "outreach lists", "/review", json!({ "lists": lists.len() }))?;
        Ok(Html(page("リストの審査", Some(&s), "/review", &body)).into_response())
    })
    .await
}

#[derive(Deserialize, Default)]
pub struct Msg {
    #[serde(default)]
    msg: String,
}

fn list_page(app: &App, s: &Session, id: &str, message: &str) -> Result<Response, PageError> {
    allow(app, s, "view_list", &format!("outreach list {id}"))?;
    let Ok(state) = risk::find_list(workspace(app), id) else {
        app.viewed(
            s,
            "view_list",
            &format!("outreach list {id}"),
            &format!("/review/lists/{id}"),
            json!({ "refused": "no such list" }),
        )?;
        return Err(PageError::NotFound);
    };
    let entries = app.review_entries()?;
    let by = risk::approvals_in(&entries, &state);
    let rejected = risk::rejected_in(&entries, &state);
    let mut body = match message {
        "approved" => notice("ok", "承認を記録しました。"),
        "rejected" => notice("ok", "差し戻しを記録しました。"),
        _ => String::new(),
    };
    let _ = write!(
        body,
        r#"<section class="card"><p>{} ・ {} 時点 ・ 順位づけ: {} ・ 掲載 {} 世帯（上限 {}）、要対協登録済み {} 世帯（参考表示）、下限確率を超えたが上限で載らなかった世帯 {}</p>
<p>状態: {} ・ 監査ログ上の承認者: {}</p></section>"#,
        esc(&state.district_name),
        esc(&state.as_of),
        if state.ranking == "model" {
            "校正済みモデル"
        } else {
            "スコアカード（ラベル不足のため）"
        },
        state.listed,
        state.capacity,
        state.known_cases,
        state.beyond_capacity,
        status_tag(&state, by.len(), rejected),
        if by.is_empty() { "まだいません".to_string() } else { esc(&by.join("、")) }
    );
    if !state.unavailable_indicators.is_empty() {
        body.push_str(r#"<section class="card"><h2>使えなかった指標</h2><ul>"#);
        for (name, why) in &state.unavailable_indicators {
            let _ = write!(body, "<li>{}: {}</li>", esc(name), esc(why));
        }
        body.push_str("</ul></section>");
    }
    body.push_str(r#"<h2>公平性の監査（世帯単位、95%信頼区間）</h2><table><thead><tr><th>区分</th><th>グループ</th><th class="num">世帯</th><th>選定率</th><th>適合率</th><th>偽陽性率</th><th>偽陰性率</th></tr></thead><tbody>"#);
    for g in &state.fairness {
        let _ = write!(
            body,
            r#"<tr><td>{}</td><td>{}</td><td class="num">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(&g.attribute),
            esc(&g.group),
            g.households,
            pct(&g.selection_rate),
            pct(&g.precision),
            pct(&g.false_positive_rate),
            pct(&g.false_negative_rate)
        );
    }
    body.push_str("</tbody></table>");
    if state.disparities.is_empty() {
        body.push_str(&notice("ok", "設定された上限を超える差は見つかりませんでした。"));
    } else {
        body.push_str(r#"<div class="notice error"><strong>上限を超える差:</strong><ul>"#);
        for d in &state.disparities {
            let _ = write!(body, "<li>{}</li>", esc(d));
        }
        body.push_str("</ul>承認するには理由の記載が必要です。</div>");
    }
    if s.role == Role::Reviewer && state.rejections.is_empty() && !by.contains(&s.user) {
        let override_field = if state.disparities.is_empty() {
            String::new()
        } else {
            r#"<label for="override">差があっても承認する理由（記録されます）</label><textarea id="override" name="override_fairness" required></textarea>"#.into()
        };
        let _ = write!(
            body,
            r#"<section class="card noprint"><h2>審査</h2>
<form method="post" action="/review/lists/{id}/approve">{csrf}{override_field}<p><button type="submit">このリストを承認する</button></p></form>
<form method="post" action="/review/lists/{id}/reject">{csrf}<label for="reason">差し戻す理由</label><textarea id="reason" name="reason" required></textarea><p><button type="submit" class="danger">差し戻す</button></p></form>
</section>"#,
            id = url(id),
            csrf = csrf_field(&s.csrf),
        );
    } else if by.contains(&s.user) {
        body.push_str(&notice("", "あなたはこのリストを承認済みです。もう1人、別の審査担当の承認が必要です。"));
    }
    app.viewed(
        s,
        "view_list",
        &format!("outreach list {id}"),
        &format!("/review/lists/{id}"),
        json!({ "approvals": by.len() }),
    )?;
    Ok(Html(page(&format!("リスト {id}"), Some(s), "/review", &body)).into_response())
}

pub async fn list(
    State(app): State<Arc<App>>,
    auth: Auth,
    UrlPath(id): UrlPath<String>,
    Query(m): Query<Msg>,
) -> Response {
    let s = auth.session;
    blocking(Some(s.clone()), move || list_page(&app, &s, &id, &m.msg)).await
}

#[derive(Deserialize)]
pub struct ApproveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    override_fairness: String,
}

pub async fn approve(
    State(app): State<Arc<App>>,
    auth: Auth,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    Form(f): Form<ApproveForm>,
) -> Response {
    if let Some(r) = refused_form(&auth, &headers, &f.csrf) {
        return r;
    }
    let s = auth.session;
    blocking(Some(s.clone()), move || {
        let reason = Some(f.override_fairness.trim()).filter(|r| !r.is_empty());
        outreach::approve_list(workspace(&app), &id, &s.user, &s.purpose, reason, &s.user)
            .map_err(PageError::refusal)?;
        Ok(Redirect::to(&format!("/review/lists/{}?msg=approved", url(&id))).into_response())
    })
    .await
}

#[derive(Deserialize)]
pub struct RejectForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

pub async fn reject(
    State(app): State<Arc<App>>,
    auth: Auth,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    Form(f): Form<RejectForm>,
) -> Response {
    if let Some(r) = refused_form(&auth, &headers, &f.csrf) {
        return r;
    }
    let s = auth.session;
    blocking(Some(s.clone()), move || {
        outreach::reject_list(workspace(&app), &id, &s.user, &s.purpose, &f.reason, &s.user)
            .map_err(PageError::refusal)?;
        Ok(Redirect::to(&format!("/review/lists/{}?msg=rejected", url(&id))).into_response())
    })
    .await
}

#[derive(Deserialize, Default)]
pub struct AuditFilter {
    #[serde(default)]
    user: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    since: String,
}

/// Rows of the audit log shown at most on one page (newest first).
const MAX_ROWS: usize = 300;

fn entry_rows(entries: &[&Entry]) -> String {
    let mut t = String::from(
        r#"<table><thead><tr><th class="num">#</th><th>日時 (UTC)</th><th>ユーザー</th><th>操作</th><th>目的</th><th>対象</th><th>判定</th><th>詳細</th></tr></thead><tbody>"#,
    );
    for e in entries.iter().rev().take(MAX_ROWS) {
        let decision = match e.decision {
            Decision::Allow => r#"<span class="tag ok">許可</span>"#,
            Decision::Deny => r#"<span class="tag bad">拒否</span>"#,
            Decision::Error => r#"<span class="tag warn">エラー</span>"#,
        };
        let mut detail = e.detail.to_string();
        if detail.chars().count() > 240 {
            detail = detail.chars().take(240).collect::<String>() + "…";
        }
        let _ = write!(
            t,
            r#"<tr><td class="num">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>"#,
            e.seq,
            esc(e.time.get(..19).unwrap_or(&e.time)),
            esc(&e.user),
            esc(&e.action),
            esc(e.purpose.as_deref().unwrap_or("")),
            esc(&e.resource),
            decision,
            esc(&detail)
        );
    }
    t.push_str("</tbody></table>");
    t
}

pub async fn audit(State(app): State<Arc<App>>, auth: Auth, Query(f): Query<AuditFilter>) -> Response {
    let s = auth.session;
    blocking(Some(s.clone()), move || {
        allow(&app, &s, "review_audit", "audit log")?;
        let mut body = format!(
            r#"<form method="get" action="/audit" class="filters card noprint">
<div><label for="f-user">ユーザー</label><input type="text" id="f-user" name="user" value="{}"></div>
<div><label for="f-action">操作</label><input type="text" id="f-action" name="action" value="{}"></div>
<div><label for="f-decision">判定</label><select id="f-decision" name="decision"><option value="">すべて</option><option value="allow"{}>許可</option><option value="deny"{}>拒否</option><option value="error"{}>エラー</option></select></div>
<div><label for="f-q">語句</label><input type="text" id="f-q" name="q" value="{}"></div>
<div><label for="f-since">以降 (YYYY-MM-DD)</label><input type="text" id="f-since" name="since" value="{}"></div>
<div><button type="submit">検索</button></div>
</form>
<form method="post" action="/audit/verify" class="noprint">{}<button type="submit" class="secondary">ハッシュチェーンを検証する</button></form>"#,
            esc(&f.user),
            esc(&f.action),
            if f.decision == "allow" { " selected" } else { "" },
            if f.decision == "deny" { " selected" } else { "" },
            if f.decision == "error" { " selected" } else { "" },
            esc(&f.q),
            esc(&f.since),
            csrf_field(&s.csrf)
        );
        let entries = match crate::audit::verify(workspace(&app)) {
            Ok(e) => e,
            Err(e) => {
                body.push_str(&notice("error", &format!("監査ログの検証に失敗しました。表示できません: {e:#}")));
                app.viewed(&s, "review_audit", "audit log", "/audit", json!({ "verified": false }))?;
                return Ok(Html(page("監査ログ", Some(&s), "/audit", &body)).into_response());
            }
        };
        let q = f.q.to_lowercase();
        let shown: Vec<&Entry> = entries
            .iter()
            .filter(|e| f.user.is_empty() || e.user == f.user)
            .filter(|e| f.action.is_empty() || e.action == f.action)
            .filter(|e| match f.decision.as_str() {
                "allow" => e.decision == Decision::Allow,
                "deny" => e.decision == Decision::Deny,
                "error" => e.decision == Decision::Error,
                _ => true,
            })
            .filter(|e| f.since.is_empty() || e.time.as_str() >= f.since.as_str())
            .filter(|e| q.is_empty() || e.resource.to_lowercase().contains(&q) || e.detail.to_string().to_lowercase().contains(&q))
            .collect();
        let _ = write!(
            body,
            r#"<p>{} 件中 {} 件が該当（新しい順に最大 {} 件を表示）。ハッシュチェーンは検証済みです。</p>{}"#,
            entries.len(),
            shown.len(),
            MAX_ROWS,
            entry_rows(&shown)
        );
        app.viewed(
            &s,
            "review_audit",
            "audit log",
            "/audit",
            json!({ "user": f.user, "action": f.action, "decision": f.decision, "q": f.q, "since": f.since, "matched": shown.len() }),
        )?;
        Ok(Html(page("監査ログ", Some(&s), "/audit", &body)).into_response())
    })
    .await
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn verify(State(app): State<Arc<App>>, auth: Auth, headers: HeaderMap, Form(f): Form<CsrfOnly>) -> Response {
    if let Some(r) = refused_form(&auth, &headers, &f.csrf) {
        return r;
    }
    let s = auth.session;
    blocking(Some(s.clone()), move || {
        allow(&app, &s, "review_audit", "audit log")?;
        let (ok, body) = match crate::audit::verify(workspace(&app)) {
            Ok(e) => (
                true,
                notice(
                    "ok",
                    &format!(
                        "監査ログは改ざんされていません（{} 件、最初から最後までハッシュチェーンが一致）。",
                        e.len()
                    ),
                ),
            ),
            Err(e) => (false, notice("error", &format!("監査ログに問題があります: {e:#}"))),
        };
        app.viewed(&s, "review_audit", "audit log", "/audit/verify", json!({ "verified": ok }))?;
        let body = format!("{body}<p><a href=\"/audit\">監査ログへ戻る</a></p>");
        Ok(Html(page("監査ログの検証", Some(&s), "/audit", &body)).into_response())
    })
    .await
}

pub async fn budget(State(app): State<Arc<App>>, auth: Auth) -> Response {
    let s = auth.session;
    blocking(Some(s.clone()), move || {
        let config = allow(&app, &s, "review_audit", "dp budget")?;
        let (spending, releases) = crate::gateway::budget_spending(workspace(&app), &config)?;
        let mut body = String::from(
            r#"<p>外部に公表する集計は差分プライバシー（dp-core）で雑音を加え、利用目的ごとの予算から差し引かれます。</p>
<table><thead><tr><th>目的</th><th>法的根拠</th><th class="num">ε 予算</th><th class="num">ε 使用済み</th><th class="num">δ 予算</th><th class="num">δ 使用済み</th><th class="num">公表数</th></tr></thead><tbody>"#,
        );
        for row in &spending {
            let p = row.purpose;
            let _ = write!(
                body,
                r#"<tr><td>{}<br><span class="muted">{}</span></td><td>{}</td><td class="num">{}</td><td class="num">{:.4}</td><td class="num">{}</td><td class="num">{:.2e}</td><td class="num">{}</td></tr>"#,
                esc(&p.label),
                esc(&p.id),
                esc(&p.legal_basis),
                esc(&p.dp_epsilon),
                row.spent.epsilon,
                esc(&p.dp_delta),
                row.spent.delta,
                row.releases
            );
        }
        body.push_str("</tbody></table>");
        app.viewed(&s, "review_audit", "dp budget", "/budget", json!({ "releases": releases }))?;
        Ok(Html(page("差分プライバシーの予算", Some(&s), "/budget", &body)).into_response())
    })
    .await
}

pub async fn denied(State(app): State<Arc<App>>, auth: Auth) -> Response {
    let s = auth.session;
    blocking(Some(s.clone()), move || {
        allow(&app, &s, "review_audit", "audit log")?;
        let entries = crate::audit::verify(workspace(&app))?;
        let shown: Vec<&Entry> = entries.iter().filter(|e| e.decision == Decision::Deny).collect();
        let body = format!(
            "<p>ポリシーにより拒否されたアクセス（クエリ、ポータルの閲覧、承認、ログイン失敗を含む）: {} 件（新しい順に最大 {} 件）。</p>{}",
            shown.len(),
            MAX_ROWS,
            entry_rows(&shown)
        );
        app.viewed(&s, "review_audit", "audit log", "/denied", json!({ "denied": shown.len() }))?;
        Ok(Html(page("拒否されたアクセス", Some(&s), "/denied", &body)).into_response())
    })
    .await
}
