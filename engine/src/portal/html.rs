//! Pages as strings: every value that is not markup goes through [`esc`]. No scripts, no
//! external assets: one stylesheet served by the portal itself.

use std::fmt::Write as _;

use super::session::Session;
use crate::config::Role;

/// The stylesheet served at `/assets/portal.css`.
pub const CSS: &str = include_str!("portal.css");

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment or query value.
pub fn url(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The hidden CSRF field of a form.
pub fn csrf_field(token: &str) -> String {
    format!(r#"<input type="hidden" name="csrf" value="{}">"#, esc(token))
}

pub fn role_japanese(role: Role) -> &'static str {
    match role {
        Role::DataLinkageOfficer => "データ連携担当",
        Role::Caseworker => "地区担当（ケースワーカー）",
        Role::Reviewer => "審査担当",
        Role::Custodian => "原課の管理者",
    }
}

/// The menu of a role: (path, label).
fn menu(role: Role) -> &'static [(&'static str, &'static str)] {
    match role {
        Role::Caseworker => &[("/lists", "支援リスト")],
        Role::Reviewer => &[
            ("/review", "リストの審査"),
            ("/audit", "監査ログ"),
            ("/budget", "DP予算"),
            ("/denied", "拒否されたアクセス"),
        ],
        Role::DataLinkageOfficer => &[
            ("/officer/quality", "連携品質"),
            ("/officer/prevalence", "指標の地区別集計"),
            ("/review", "リストの状況"),
        ],
        Role::Custodian => &[],
    }
}

/// A whole page: header with the role's menu and logout, then `body`.
pub fn page(title: &str, session: Option<&Session>, current: &str, body: &str) -> String {
    let mut nav = String::new();
    let mut who = String::new();
    if let Some(s) = session {
        for (path, label) in menu(s.role) {
            let here = if current.starts_with(path) { r#" aria-current="page""# } else { "" };
            let _ = write!(nav, r#"<a href="{path}"{here}>{label}</a>"#);
        }
        let _ = write!(
            who,
            r#"<div class="who"><span>{} （{}） ・ 目的: {}</span><form class="inline" method="post" action="/logout">{}<button type="submit">ログアウト</button></form></div>"#,
            esc(&s.display_name),
            role_japanese(s.role),
            esc(&s.purpose),
            csrf_field(&s.csrf)
        );
    }
    format!(
        r##"<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — みまもり</title>
<link rel="stylesheet" href="/assets/portal.css">
</head>
<body>
<a class="skip" href="#main">本文へ移動</a>
<header><div class="bar"><span class="brand">みまもり（見守り）</span><nav aria-label="メニュー">{nav}</nav>{who}</div></header>
<main id="main">
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"##,
        title = esc(title),
    )
}

/// A notice box (`kind`: "", "error" or "ok").
pub fn notice(kind: &str, text: &str) -> String {
    format!(r#"<div class="notice {kind}" role="status">{}</div>"#, esc(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(url("chuo-2026-04-01-ab/c d"), "chuo-2026-04-01-ab%2Fc%20d");
        let p = page("<b>", None, "/", "");
        assert!(p.contains("<title>&lt;b&gt; — みまもり</title>"));
        assert!(!p.contains("<script"), "pages carry no script");
    }
}
