//! Caseworkers' pages: the approved outreach list of their own districts, each household's
//! reasons and the supports that may help, recording what a visit found, a print view.
//! Lists and households carry pseudonymous household ids only: names reach the caseworker
//! from the custodians' re-identified list (`mimamori reidentify`), never through the portal.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Form, Path as UrlPath, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use policies::DistrictResource;
use serde::Deserialize;
use serde_json::json;

use super::html::{csrf_field, esc, notice, page, url};
use super::{App, Auth, PageError, blocking, refused_form, workspace};
use crate::config::Config;
use crate::risk::{self, ListState, Outcome};
use crate::verbs::outreach;

/// Whether the audit log holds two distinct approvals of exactly this list and no rejection.
fn approved(entries: &[crate::audit::Entry], l: &ListState) -> bool {
    risk::approvals_in(entries, l).len() >= risk::APPROVALS_NEEDED && !risk::rejected_in(entries, l)
}

/// Cedar's `view_outreach` on a district or one of its households (a denial is logged).
fn check_view(
    app: &App,
    config: &Config,
    s: &super::Session,
    resource: DistrictResource,
    district: &str,
) -> Result<(), PageError> {
    crate::gate::district_action(workspace(app), config, &s.user, &s.purpose, "view_outreach", resource, district)?;
    Ok(())
}

/// The caseworker's districts as mimamori.toml says now (not as at login).
fn districts(app: &App, user: &str) -> anyhow::Result<(Config, Vec<String>)> {
    let config = Config::load_workspace(workspace(app))?;
    let d = config.users.iter().find(|u| u.name == user).map(|u| u.districts.clone()).unwrap_or_default();
    Ok((config, d))
}

pub async fn lists(State(app): State<Arc<App>>, auth: Auth) -> Response {
    let s = auth.session;
    blocking(Some(s.clone()), move || {
        let (config, own) = districts(&app, &s.user)?;
        if own.is_empty() {
            // no district: the policy decides (and logs) on the district of nobody
            check_view(&app, &config, &s, DistrictResource::District(""), "")?;
        }
        let all = risk::read_lists(workspace(&app))?;
        let entries = app.review_entries()?;
        let mut body = String::new();
        let mut shown = Vec::new();
        for d in &own {
            check_view(&app, &config, &s, DistrictResource::District(d), d)?;
            let name = config.districts.iter().find(|x| &x.id == d).map_or(d.as_str(), |x| x.name.as_str());
            let _ = write!(body, r#"<section class="card"><h2>{}</h2>"#, esc(name));
            match all.iter().find(|l| &l.district == d) {
                Some(l) if approved(&entries, l) => {
                    shown.push(l.list_id.clone());
                    let _ = write!(
                        body,
                        r#"<p><a href="/lists/{}">{} 時点のリスト</a>（{} 世帯、うち要対協登録済み {} 世帯） <span class="tag ok">承認済み</span></p><p class="muted"><a href="/lists/{}/print">印刷用の表示</a></p>"#,
                        url(&l.list_id),
                        esc(&l.as_of),
                        l.listed + l.known_cases,
                        l.known_cases,
                        url(&l.list_id)
                    );
                }
                Some(l) => {
                    let _ = write!(
                        body,
                        r#"<p>{} 時点のリストは審査中です（2人の審査担当の承認後に表示されます）。 <span class="tag warn">{}</span></p>"#,
                        esc(&l.as_of),
                        if l.rejections.is_empty() { "承認待ち" } else { "差し戻し" }
                    );
                }
                None => body.push_str("<p>この地区のリストはまだ作成されていません。</p>"),
            }
            body.push_str("</section>");
        }
        app.viewed(&s, "view_outreach", &format!("outreach lists of districts {}", own.join(",")), "/lists", json!({ "lists": shown }))?;
        Ok(Html(page("支援リスト", Some(&s), "/lists", &body)).into_response())
    })
    .await
}

/// The list, if the caseworker may see it: their district's, approved, still on the current
/// linkage.
fn allowed_list(app: &App, s: &super::Session, id: &str) -> Result<(ListState, Vec<risk::ListRow>), PageError> {
    let config = Config::load_workspace(workspace(app))?;
    let found = risk::find_list_rows(workspace(app), id).ok();
    // no such list is checked as the district of nobody: the same answer (and denial in the
    // audit log) as another district's list
    let district = found.as_ref().map_or("", |(state, _)| state.district.as_str());
    check_view(app, &config, s, DistrictResource::District(district), district)?;
    let Some((state, rows)) = found else { return Err(PageError::Denied) };
    let refused = if !approved(&app.review_entries()?, &state) {
        Some(("not approved", "このリストはまだ承認されていません（2人の審査担当の承認が必要です）。"))
    } else if risk::check_linkage_digest(&state, &app.linkage_digest()?).is_err() {
        Some((
            "built on an earlier linkage",
            "このリストは古い連携結果にもとづいています。リストが作り直され、承認されるまでお待ちください。",
        ))
    } else {
        None
    };
    if let Some((why, text)) = refused {
        // the view was allowed by the policies but shows nothing: logged as such
        app.viewed(
            s,
            "view_outreach",
            &format!("outreach list {id}"),
            &format!("/lists/{id}"),
            json!({ "refused": why }),
        )?;
        return Err(PageError::Refused(text.into()));
    }
    Ok((state, rows))
}

/// The latest recorded outcome of each household of a list.
fn outcomes(app: &App, list_id: &str) -> anyhow::Result<BTreeMap<u64, risk::RecordedOutcome>> {
    Ok(risk::read_outcomes(workspace(app))?
        .into_iter()
        .filter(|o| o.list_id == list_id)
        .map(|o| (o.household_id, o))
        .collect())
}

fn bullets(text: &str) -> String {
    let items: Vec<String> =
        text.split('；').filter(|t| !t.trim().is_empty()).map(|t| format!("<li>{}</li>", esc(t))).collect();
    if items.is_empty() { "—".into() } else { format!(r#"<ul class="reasons">{}</ul>"#, items.concat()) }
}

fn list_page(app: &App, s: &super::Session, id: &str, print: bool) -> Result<Response, PageError> {
    let (state, rows) = allowed_list(app, s, id)?;
    let recorded = outcomes(app, id)?;
    let mut body = format!(
        r#"<p>{} ・ {} 時点 ・ {} 世帯（うち要対協登録済み {} 世帯、参考表示）</p>
<div class="notice">このリストは「支援が届いていないかもしれない家庭」を見つけるための手がかりです。判断は訪問・面談のうえで行ってください。リストにあることは、家庭に問題があるという意味ではありません。</div>"#,
        esc(&state.district_name),
        esc(&state.as_of),
        rows.len(),
        state.known_cases
    );
    if !print {
        let _ = write!(
            body,
            r#"<p class="noprint"><a href="/lists/{}/print">印刷用の表示</a>（Ctrl+P で印刷）</p>"#,
            url(id)
        );
    }
    body.push_str(r#"<table><thead><tr><th class="num">順位</th><th>世帯番号（仮名）</th><th class="num">こども</th><th>気になる点</th><th>届いていないかもしれない支援</th><th>状況</th>"#);
    if print {
        body.push_str("<th>訪問メモ</th>");
    }
    body.push_str("</tr></thead><tbody>");
    for r in &rows {
        let status = match (r.known_case, recorded.get(&r.household_id)) {
            (_, Some(o)) => format!(r#"<span class="tag ok">記録済み: {}</span>"#, esc(o.outcome.japanese())),
            (true, None) => r#"<span class="tag known">要対協登録済み</span>"#.into(),
            (false, None) => r#"<span class="tag warn">未訪問</span>"#.into(),
        };
        let household = if print {
            r.household_id.to_string()
        } else {
            format!(r#"<a href="/households/{0}">{0}</a>"#, r.household_id)
        };
        let _ = write!(
            body,
            r#"<tr><td class="num">{}</td><td>{}</td><td class="num">{}</td><td>{}</td><td>{}</td><td>{}</td>{}</tr>"#,
            r.rank,
            household,
            r.children,
            bullets(&r.reasons),
            bullets(&r.supports),
            status,
            if print { "<td style=\"min-width:12em\"></td>" } else { "" }
        );
    }
    body.push_str("</tbody></table>");
    let path = format!("/lists/{id}{}", if print { "/print" } else { "" });
    app.viewed(
        s,
        "view_outreach",
        &format!("outreach list {id}"),
        &path,
        json!({ "households": rows.len(), "print": print }),
    )?;
    let title = format!("支援リスト {}", state.district_name);
    Ok(Html(page(&title, Some(s), "/lists", &body)).into_response())
}

pub async fn list(State(app): State<Arc<App>>, auth: Auth, UrlPath(id): UrlPath<String>) -> Response {
    let s = auth.session;
    blocking(Some(s.clone()), move || list_page(&app, &s, &id, false)).await
}

pub async fn print(State(app): State<Arc<App>>, auth: Auth, UrlPath(id): UrlPath<String>) -> Response {
    let s = auth.session;
    blocking(Some(s.clone()), move || list_page(&app, &s, &id, true)).await
}

/// The household's approved list and row, if the caseworker may see it. Every refusal (no
/// such household, not on an approved list, another district) is the same 403.
fn allowed_household(app: &App, s: &super::Session, id: &str) -> Result<(ListState, risk::ListRow), PageError> {
    let config = Config::load_workspace(workspace(app))?;
    let household: u64 = id.parse().unwrap_or(u64::MAX);
    let on = outreach::approved_list_holding(workspace(app), household, &app.review_entries()?)?;
    let district = on.as_ref().map(|(l, _)| l.district.clone()).unwrap_or_default();
    check_view(app, &config, s, DistrictResource::Household(household), &district)?;
    let Some((list, row)) = on else { return Err(PageError::Denied) };
    if risk::check_linkage_digest(&list, &app.linkage_digest()?).is_err() {
        // a list of an earlier linkage names other records now: nothing of it is shown
        app.viewed(
            s,
            "view_outreach",
            &format!("household {household}"),
            &format!("/households/{id}"),
            json!({ "refused": "built on an earlier linkage" }),
        )?;
        return Err(PageError::Denied);
    }
    Ok((list, row))
}

fn household_page(app: &App, s: &super::Session, id: &str, message: Option<String>) -> Result<Response, PageError> {
    let (list, row) = allowed_household(app, s, id)?;
    let history: Vec<risk::RecordedOutcome> = risk::read_outcomes(workspace(app))?
        .into_iter()
        .filter(|o| o.household_id == row.household_id && o.list_id == list.list_id)
        .collect();
    let mut body = message.unwrap_or_default();
    let _ = write!(
        body,
        r#"<p>{} ・ リスト <a href="/lists/{}">{}</a> の {} 番目 ・ こども {} 人{}</p>
<section class="card"><h2>気になる点</h2>{}</section>
<section class="card"><h2>届いていないかもしれない支援</h2>{}</section>"#,
        esc(&list.district_name),
        url(&list.list_id),
        esc(&list.as_of),
        row.rank,
        row.children,
        if row.known_case {
            r#" ・ <span class="tag known">要対協登録済み（既に支援中）</span>"#
        } else {
            ""
        },
        bullets(&row.reasons),
        bullets(&row.supports)
    );
    body.push_str(r#"<section class="card"><h2>記録</h2>"#);
    if history.is_empty() {
        body.push_str("<p>まだ記録はありません。</p>");
    } else {
        body.push_str("<table><thead><tr><th>日時</th><th>結果</th><th>記録者</th><th>メモ</th></tr></thead><tbody>");
        for o in &history {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&o.time),
                esc(o.outcome.japanese()),
                esc(&o.user),
                if o.noted { "ケース記録にあり" } else { "—" }
            );
        }
        body.push_str("</tbody></table>");
    }
    let _ = write!(
        body,
        r#"<form method="post" action="/households/{}/outcome" class="noprint">{}
<fieldset><legend>訪問・連絡の結果を記録する</legend>
<label><input type="radio" name="outcome" value="confirmed" required> 支援が必要と確認</label>
<label><input type="radio" name="outcome" value="no-need"> 支援不要</label>
<label><input type="radio" name="outcome" value="already-supported"> 既に支援中</label>
<label><input type="radio" name="outcome" value="unreachable"> 連絡がとれない</label>
<label for="note">メモ（任意）</label>
<textarea id="note" name="note" aria-describedby="note-help"></textarea>
<p id="note-help" class="muted">メモには氏名などが含まれうるため、ワークスペースには保存されません（書いたかどうかだけが記録されます）。記録後に表示される内容をケース記録に転記してください。</p>
<button type="submit">記録する</button>
</fieldset></form></section>"#,
        row.household_id,
        csrf_field(&s.csrf)
    );
    app.viewed(
        s,
        "view_outreach",
        &format!("household {}", row.household_id),
        &format!("/households/{id}"),
        json!({ "list_id": list.list_id }),
    )?;
    Ok(Html(page(&format!("世帯 {}", row.household_id), Some(s), "/lists", &body)).into_response())
}

pub async fn household(State(app): State<Arc<App>>, auth: Auth, UrlPath(id): UrlPath<String>) -> Response {
    let s = auth.session;
    blocking(Some(s.clone()), move || household_page(&app, &s, &id, None)).await
}

#[derive(Deserialize)]
pub struct OutcomeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    note: String,
}

pub async fn record(
    State(app): State<Arc<App>>,
    auth: Auth,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    Form(f): Form<OutcomeForm>,
) -> Response {
    if let Some(r) = refused_form(&auth, &headers, &f.csrf) {
        return r;
    }
    let s = auth.session;
    blocking(Some(s.clone()), move || {
        let outcome = match f.outcome.as_str() {
            "confirmed" => Outcome::Confirmed,
            "no-need" => Outcome::NoNeed,
            "already-supported" => Outcome::AlreadySupported,
            "unreachable" => Outcome::Unreachable,
            _ => {
                // checked and logged like any access to the household before the form is refused
                allowed_household(&app, &s, &id)?;
                app.viewed(&s, "record_outcome", &format!("household {id}"), &s.page, json!({ "refused": "no outcome chosen" }))?;
                return Err(PageError::Refused("結果を1つ選んでください。".into()));
            }
        };
        let household: u64 = id.parse().unwrap_or(u64::MAX);
        let noted = !f.note.trim().is_empty();
        outreach::record_outcome(workspace(&app), household, outcome, &s.user, &s.purpose, noted, &s.user)
            .map_err(PageError::refusal)?;
        let mut message = notice("ok", &format!("記録しました: {}", outcome.japanese()));
        if noted {
            let _ = write!(
                message,
                r#"<div class="card"><h2>書いたメモ（ケース記録に転記してください。ここには保存されません）</h2><pre style="white-space:pre-wrap">{}</pre></div>"#,
                esc(&f.note)
            );
        }
        household_page(&app, &s, &id, Some(message))
    })
    .await
}
