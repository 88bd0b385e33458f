//! `mimamori serve`: the portal for caseworkers, reviewers and officers (Japanese web UI).
//!
//! Every page is a data access like any other: it passes the same Cedar check as the CLI verb
//! it mirrors (view_outreach, view_list, approve, reject, record_outcome, review_audit,
//! view_quality; prevalence through the query gateway) and lands in the audit log, allowed or
//! denied. Users log in with the Argon2id passwords of mimamori.toml and choose the purpose of
//! their session; sessions live in memory with an idle timeout; every form carries a CSRF token;
//! failed logins are limited per user and per address. No page carries a script or an external
//! asset.

mod caseworker;
mod html;
mod officer;
pub mod password;
mod reviewer;
pub mod session;
pub mod tls;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use crate::audit::{self, Decision};
use crate::config::{Config, Role};
use crate::gateway::Denied;
use html::{esc, page};
use session::{LoginLimiter, Session, Sessions, same_token};

/// How the portal is served.
pub enum Transport {
    /// TLS with the operator's certificate and key (PEM).
    Tls { cert: PathBuf, key: PathBuf },
    /// TLS with the workspace's self-signed certificate (made on first use).
    SelfSigned,
    /// Plain HTTP: loopback only, by explicit choice.
    PlainLoopback,
}

pub struct Options {
    pub workspace: PathBuf,
    pub listen: SocketAddr,
    pub transport: Transport,
    pub idle_timeout: Duration,
}

/// The portal's shared state.
pub struct App {
    workspace: PathBuf,
    sessions: Sessions,
    limiter: LoginLimiter,
    tls: bool,
    /// Verified against when the user is unknown, so that a wrong name costs as long as a
    /// wrong password.
    dummy_hash: String,
    /// Approvals and rejections of the verified audit log, followed as it grows.
    reviews: std::sync::Mutex<audit::Follower>,
    /// Users' credential fingerprints by mimamori.toml's (size, modification time).
    #[allow(clippy::type_complexity)]
    credentials:
        std::sync::Mutex<Option<((u64, Option<std::time::SystemTime>), std::collections::HashMap<String, String>)>>,
    #[allow(clippy::type_complexity)]
    linkage: std::sync::Mutex<Option<((u64, Option<std::time::SystemTime>), String)>>,
}

impl App {
    fn cookie_name(&self) -> &'static str {
        // __Host-: only over TLS, path /, no domain; browsers refuse it otherwise
        if self.tls { "__Host-mimamori" } else { "mimamori" }
    }

    fn cookie(&self, name: &str, value: &str, max_age: Option<u64>) -> String {
        let secure = if self.tls { "; Secure" } else { "" };
        let age = max_age.map_or(String::new(), |a| format!("; Max-Age={a}"));
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}{age}")
    }

    /// The fingerprint of `user`'s entry in mimamori.toml as the file is now (parsed again only
    /// when its size or modification time changes); `None` for a user no longer there.
    fn credential(&self, user: &str) -> Option<String> {
        let path = self.workspace.join(crate::config::FILE_NAME);
        let meta = std::fs::metadata(&path).ok()?;
        let stamp = (meta.len(), meta.modified().ok());
        let mut cache = self.credentials.lock().ok()?;
        if cache.as_ref().is_none_or(|(s, _)| *s != stamp) {
            let config = Config::load(&path).ok()?;
            let map = config.users.iter().map(|u| (u.name.clone(), session::credential(u))).collect();
            *cache = Some((stamp, map));
        }
        cache.as_ref().and_then(|(_, m)| m.get(user).cloned())
    }

    /// The digest of the current linkage (`linked/persons.parquet`), hashed again only when
    /// the file's size or modification time changes (`mimamori link` replaces it).
    fn linkage_digest(&self) -> Result<String> {
        let path = self.workspace.join("linked").join(linkage::link::PERSONS_FILE);
        let meta = std::fs::metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let stamp = (meta.len(), meta.modified().ok());
        let mut cache = self.linkage.lock().map_err(|_| anyhow::anyhow!("linkage digest poisoned"))?;
        match cache.as_ref() {
            Some((s, d)) if *s == stamp => Ok(d.clone()),
            _ => {
                let d = crate::risk::linkage_digest(&self.workspace)?;
                *cache = Some((stamp, d.clone()));
                Ok(d)
            }
        }
    }

    /// The approvals and rejections of the audit log, its chain verified (incrementally).
    fn review_entries(&self) -> Result<Vec<audit::Entry>> {
        let mut f = self.reviews.lock().map_err(|_| anyhow::anyhow!("audit follower poisoned"))?;
        Ok(f.update(&self.workspace).context("the audit log does not verify; approvals cannot be checked")?.to_vec())
    }

    fn login_cookie_name(&self) -> &'static str {
        if self.tls { "__Host-mimamori-login" } else { "mimamori-login" }
    }

    /// Writes the audit entry of a page the session was allowed to see.
    fn viewed(
        &self,
        s: &Session,
        action: &str,
        resource: &str,
        path: &str,
        mut detail: serde_json::Value,
    ) -> Result<()> {
        detail["page"] = json!(path);
        detail["via"] = json!("portal");
        crate::gate::record(&self.workspace, &s.user, &s.purpose, action, resource, detail)?;
        Ok(())
    }
}

/// Runs the portal until interrupted.
pub fn serve(o: Options) -> Result<()> {
    if !o.workspace.is_dir() {
        bail!("workspace {} does not exist", o.workspace.display());
    }
    let config = Config::load_workspace(&o.workspace)?;
    if matches!(o.transport, Transport::PlainLoopback) && !o.listen.ip().is_loopback() {
        bail!(
            "plain HTTP is allowed on a loopback address only ({} is not); drop --insecure-http to serve over TLS",
            o.listen
        );
    }
    let without_password: Vec<&str> =
        config.users.iter().filter(|u| u.password_hash.is_none()).map(|u| u.name.as_str()).collect();
    let tls = !matches!(o.transport, Transport::PlainLoopback);
    let app = Arc::new(App {
        workspace: o.workspace.clone(),
        sessions: Sessions::new(o.idle_timeout),
        limiter: LoginLimiter::default(),
        tls,
        dummy_hash: password::hash("a password nobody has, for timing")?,
        reviews: std::sync::Mutex::new(audit::Follower::new(crate::risk::is_review_entry)),
        credentials: std::sync::Mutex::new(None),
        linkage: std::sync::Mutex::new(None),
    });
    let router = router(app);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mimamori-portal")
        .build()
        .context("cannot start the portal's runtime")?;
    let scheme = if tls { "https" } else { "http" };
    let tls_files = match &o.transport {
        Transport::Tls { cert, key } => Some((cert.clone(), key.clone(), false)),
        Transport::SelfSigned => Some(tls::self_signed(&o.workspace, o.listen.ip())?),
        Transport::PlainLoopback => None,
    };
    runtime.block_on(async move {
        // Ctrl+C ends the process: sessions live in memory only and every write (audit log,
        // outcomes, approvals) is synced before its response is sent
        let handle = axum_server::Handle::new();
        let announce = handle.clone();
        let users_note = if without_password.is_empty() {
            String::new()
        } else {
            format!(
                "\nusers without a password cannot log in until `mimamori user add --workspace WS --name NAME` sets one: {}",
                without_password.join(", ")
            )
        };
        let self_signed_note = match &tls_files {
            Some((cert, _, _)) if matches!(o.transport, Transport::SelfSigned) => {
                format!("\nself-signed certificate for local use: {}", cert.display())
            }
            _ => String::new(),
        };
        tokio::spawn(async move {
            if let Some(addr) = announce.listening().await {
                let _ = crate::print_stdout(&format!(
                    "mimamori portal listening on {scheme}://{addr}/ (Ctrl+C stops it){self_signed_note}{users_note}\n"
                ));
            }
        });
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        match tls_files {
            Some((cert, key, _)) => {
                let config = axum_server::tls_openssl::OpenSSLConfig::from_pem_file(&cert, &key)
                    .with_context(|| format!("cannot use the certificate {} and key {}", cert.display(), key.display()))?;
                // TCP_NODELAY: a response's header and body writes must not wait for the
                // client's delayed ACK (40 ms per page otherwise)
                let acceptor = axum_server::tls_openssl::OpenSSLAcceptor::new(config)
                    .acceptor(axum_server::accept::NoDelayAcceptor::new());
                axum_server::bind(o.listen)
                    .acceptor(acceptor)
                    .handle(handle)
                    .serve(service)
                    .await
                    .with_context(|| format!("cannot serve on {}", o.listen))
            }
            None => axum_server::bind(o.listen)
                .acceptor(axum_server::accept::NoDelayAcceptor::new())
                .handle(handle)
                .serve(service)
                .await
                .with_context(|| format!("cannot serve on {}", o.listen)),
        }
    })
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/assets/portal.css", get(css))
        .route("/lists", get(caseworker::lists))
        .route("/lists/{id}", get(caseworker::list))
        .route("/lists/{id}/print", get(caseworker::print))
        .route("/households/{id}", get(caseworker::household))
        .route("/households/{id}/outcome", post(caseworker::record))
        .route("/review", get(reviewer::lists))
        .route("/review/lists/{id}", get(reviewer::list))
        .route("/review/lists/{id}/approve", post(reviewer::approve))
        .route("/review/lists/{id}/reject", post(reviewer::reject))
        .route("/audit", get(reviewer::audit))
        .route("/audit/verify", post(reviewer::verify))
        .route("/budget", get(reviewer::budget))
        .route("/denied", get(reviewer::denied))
        .route("/officer/quality", get(officer::quality))
        .route("/officer/link-report", get(officer::link_report))
        .route("/officer/prevalence", get(officer::prevalence))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(app.clone(), security_headers))
        .with_state(app)
}

/// Headers on every response: no framing, no sniffing, no caching of data pages,
/// same-origin referrers only (form posts then carry their Origin), a CSP that allows the portal's own stylesheet and nothing else (the linkage report, with
/// its inline SVG styles, gets inline styles too), HSTS over TLS.
async fn security_headers(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let inline_styles = req.uri().path() == "/officer/link-report";
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let csp = if inline_styles {
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    } else {
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    };
    let pairs = [
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (k, v) in pairs {
        h.insert(k, HeaderValue::from_static(v));
    }
    if app.tls {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    res
}

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], html::CSS).into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Html(page("ページが見つかりません", None, "", "<p><a href=\"/\">トップへ</a></p>")))
        .into_response()
}

/// What went wrong with a request, as the user sees it.
pub enum PageError {
    /// Not allowed (the audit log holds the policy's reasons).
    Denied,
    NotFound,
    /// A refusal to show on the page (e.g. the same reviewer approving twice).
    Refused(String),
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for PageError {
    fn from(e: anyhow::Error) -> Self {
        if e.downcast_ref::<Denied>().is_some() { PageError::Denied } else { PageError::Internal(e) }
    }
}

impl From<crate::config::ConfigError> for PageError {
    fn from(e: crate::config::ConfigError) -> Self {
        PageError::Internal(e.into())
    }
}

impl PageError {
    /// An action's failure as the user sees it: a denial stays a denial (its reasons are in
    /// the audit log); anything else is shown as a refusal.
    fn refusal(e: anyhow::Error) -> PageError {
        if e.downcast_ref::<Denied>().is_some() { PageError::Denied } else { PageError::Refused(format!("{e:#}")) }
    }

    fn response(self, s: Option<&Session>) -> Response {
        match self {
            PageError::Denied => (
                StatusCode::FORBIDDEN,
                Html(page(
                    "このページを表示する権限がありません",
                    s,
                    "",
                    "<p>この操作はあなたの役割・担当地区・利用目的では許可されていません。記録は監査ログに残ります。</p><p><a href=\"/\">トップへ戻る</a></p>",
                )),
            )
                .into_response(),
            PageError::NotFound => not_found_page(s),
            PageError::Refused(m) => (
                StatusCode::CONFLICT,
                Html(page("操作できませんでした", s, "", &format!("{}<p class=\"noprint\"><a href=\"/\">トップへ戻る</a></p>", html::notice("error", &m)))),
            )
                .into_response(),
            PageError::Internal(e) => {
                tracing::error!("portal: {e:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Html(page("処理できませんでした", s, "", "<p>サーバーで問題が起きました。管理者にご連絡ください（詳細はサーバーのログにあります）。</p>")),
                )
                    .into_response()
            }
        }
    }
}

fn not_found_page(s: Option<&Session>) -> Response {
    (StatusCode::NOT_FOUND, Html(page("ページが見つかりません", s, "", "<p><a href=\"/\">トップへ</a></p>")))
        .into_response()
}

/// Runs blocking work (files, the audit log, the gateway) off the async threads and renders
/// its result.
async fn blocking<F>(s: Option<Session>, f: F) -> Response
where
    F: FnOnce() -> Result<Response, PageError> + Send + 'static,
{
    // denials written by the page's checks say where they came from, as allowed views do
    let context = s.as_ref().map(|s| json!({ "via": "portal", "page": s.page }));
    let run = move || match context {
        Some(c) => crate::gate::with_denial_detail(c, f),
        None => f(),
    };
    match tokio::task::spawn_blocking(run).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => e.response(s.as_ref()),
        Err(_) => PageError::Internal(anyhow::anyhow!("a page task failed")).response(s.as_ref()),
    }
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// A request of a logged-in user. Without a live session: GET pages redirect to the login,
/// anything else is refused.
pub struct Auth {
    pub id: String,
    pub session: Session,
    /// The host the request was sent to: the Host header (HTTP/1.1) or the URI's authority
    /// (HTTP/2, which Chromium negotiates over TLS).
    pub host: String,
}

impl FromRequestParts<Arc<App>> for Auth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let mut live =
            cookie_value(&parts.headers, app.cookie_name()).and_then(|id| app.sessions.touch(&id).map(|s| (id, s)));
        if let Some((id, s)) = &live {
            // the user's entry in mimamori.toml must be as it was at login
            if app.credential(&s.user).as_deref() != Some(s.credential.as_str()) {
                app.sessions.end(id);
                live = None;
            }
        }
        match live {
            Some((id, mut session)) => {
                session.page = parts.uri.path().to_string();
                let host = parts
                    .headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_string)
                    .or_else(|| parts.uri.authority().map(|a| a.as_str().to_string()))
                    .unwrap_or_default();
                Ok(Auth { id, session, host })
            }
            None if parts.method == Method::GET => Err(Redirect::to("/login").into_response()),
            None => Err((
                StatusCode::FORBIDDEN,
                Html(page("ログインしてください", None, "", "<p><a href=\"/login\">ログイン</a></p>")),
            )
                .into_response()),
        }
    }
}

/// The refusal of a form whose CSRF token is not the session's, or that comes from another
/// origin; `None` when the form may be handled.
fn refused_form(auth: &Auth, headers: &HeaderMap, token: &str) -> Option<Response> {
    let cross_site = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .is_some_and(|origin| origin.split_once("://").map(|(_, rest)| rest) != Some(auth.host.as_str()));
    if cross_site || !same_token(token, &auth.session.csrf) {
        return Some((
            StatusCode::FORBIDDEN,
            Html(page(
                "フォームの確認に失敗しました",
                Some(&auth.session),
                "",
                "<p>このフォームは受け付けられません（確認用トークンが一致しません）。ページを開き直してから操作してください。</p>",
            )),
        )
            .into_response());
    }
    None
}

async fn home(auth: Auth) -> Response {
    let to = match auth.session.role {
        Role::Caseworker => "/lists",
        Role::Reviewer => "/review",
        Role::DataLinkageOfficer => "/officer/quality",
        Role::Custodian => {
            return Html(page(
                "ポータルで使える画面はありません",
                Some(&auth.session),
                "/",
                "<p>原課の管理者の作業（仮名化・再識別）は、各課の端末で <code>mimamori pseudonymise</code> と <code>mimamori reidentify</code> で行います。</p>",
            ))
            .into_response();
        }
    };
    Redirect::to(to).into_response()
}

fn login_page(app: &App, error: Option<&str>, status: StatusCode) -> Response {
    let token = match session::random_token() {
        Ok(t) => t,
        Err(e) => return PageError::Internal(e).response(None),
    };
    let purposes = Config::load_workspace(&app.workspace).map(|c| c.purposes).unwrap_or_default();
    let options: String = purposes
        .iter()
        .map(|p| format!(r#"<option value="{}">{}（{}）</option>"#, esc(&p.id), esc(&p.label), esc(&p.id)))
        .collect();
    let body = format!(
        r#"<div class="login card">
{err}
<form method="post" action="/login">
<input type="hidden" name="csrf" value="{token}">
<label for="user">ユーザー名</label>
<input type="text" id="user" name="user" autocomplete="username" required autofocus>
<label for="password">パスワード</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<label for="purpose">利用目的</label>
<select id="purpose" name="purpose">{options}</select>
<p class="muted">この後のすべての閲覧・操作は、選んだ利用目的のもとで監査ログに記録されます。</p>
<button type="submit">ログイン</button>
</form>
</div>"#,
        err = error.map(|e| html::notice("error", e)).unwrap_or_default(),
    );
    let mut res = (status, Html(page("ログイン", None, "/login", &body))).into_response();
    if let Ok(v) = HeaderValue::from_str(&app.cookie(app.login_cookie_name(), &token, Some(1800))) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn login_form(State(app): State<Arc<App>>) -> Response {
    let a = app.clone();
    match tokio::task::spawn_blocking(move || login_page(&a, None, StatusCode::OK)).await {
        Ok(r) => r,
        Err(_) => PageError::Internal(anyhow::anyhow!("login page")).response(None),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    purpose: String,
}

fn log_login(
    app: &App,
    user: &str,
    purpose: Option<&str>,
    decision: Decision,
    detail: serde_json::Value,
) -> Result<()> {
    audit::append(
        &app.workspace,
        audit::Record { user, action: "login", purpose, resource: "portal", decision, detail },
    )?;
    Ok(())
}

async fn login(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let a = app.clone();
    let result = tokio::task::spawn_blocking(move || login_blocking(&a, peer.ip(), &headers, f)).await;
    match result {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => PageError::Internal(e).response(None),
        Err(_) => PageError::Internal(anyhow::anyhow!("login task")).response(None),
    }
}

fn login_blocking(app: &App, ip: IpAddr, headers: &HeaderMap, f: LoginForm) -> Result<Response> {
    let expected = cookie_value(headers, app.login_cookie_name()).unwrap_or_default();
    if expected.is_empty() || !same_token(&f.csrf, &expected) {
        return Ok(login_page(
            app,
            Some("ログインフォームの有効期限が切れました。もう一度入力してください。"),
            StatusCode::FORBIDDEN,
        ));
    }
    let config = Config::load_workspace(&app.workspace)?;
    let user = config.users.iter().find(|u| u.name == f.user);
    // a name that is no user is not written to the log (it could be anything typed there)
    let logged_name = user.map_or("(unknown user)", |u| u.name.as_str());
    if !app.limiter.attempt(&f.user, ip) {
        log_login(
            app,
            logged_name,
            None,
            Decision::Deny,
            json!({ "reason": "too many failed logins", "address": ip.to_string() }),
        )?;
        return Ok(login_page(
            app,
            Some("ログインの失敗が続いたため、しばらく受け付けません。15分ほど後にもう一度お試しください。"),
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let hash = user.and_then(|u| u.password_hash.as_deref()).unwrap_or(&app.dummy_hash);
    let matches = password::verify(&f.password, hash) && user.is_some_and(|u| u.password_hash.is_some());
    let Some(user) = user.filter(|_| matches) else {
        log_login(
            app,
            logged_name,
            None,
            Decision::Deny,
            json!({ "reason": "wrong user name or password", "address": ip.to_string() }),
        )?;
        return Ok(login_page(app, Some("ユーザー名またはパスワードが違います。"), StatusCode::UNAUTHORIZED));
    };
    let Some(purpose) = config.purposes.iter().find(|p| p.id == f.purpose && p.roles.contains(&user.role)) else {
        log_login(
            app,
            &user.name,
            Some(&f.purpose),
            Decision::Deny,
            json!({ "reason": "the purpose is not approved for the user's role" }),
        )?;
        return Ok(login_page(
            app,
            Some("選んだ利用目的は、あなたの役割には承認されていません。"),
            StatusCode::FORBIDDEN,
        ));
    };
    app.limiter.succeeded(&user.name);
    let display = user.display_name.clone().unwrap_or_else(|| user.name.clone());
    let id = app.sessions.start(&user.name, &display, user.role, &purpose.id, &session::credential(user))?;
    log_login(app, &user.name, Some(&purpose.id), Decision::Allow, json!({ "address": ip.to_string() }))?;
    let mut res = Redirect::to("/").into_response();
    let h = res.headers_mut();
    h.append(header::SET_COOKIE, HeaderValue::from_str(&app.cookie(app.cookie_name(), &id, None))?);
    h.append(header::SET_COOKIE, HeaderValue::from_str(&app.cookie(app.login_cookie_name(), "", Some(0)))?);
    Ok(res)
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(State(app): State<Arc<App>>, auth: Auth, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    if let Some(r) = refused_form(&auth, &headers, &f.csrf) {
        return r;
    }
    let a = app.clone();
    let s = auth.session.clone();
    let id = auth.id.clone();
    blocking(Some(auth.session), move || {
        a.sessions.end(&id);
        audit::append(
            &a.workspace,
            audit::Record {
                user: &s.user,
                action: "logout",
                purpose: Some(&s.purpose),
                resource: "portal",
                decision: Decision::Allow,
                detail: json!({}),
            },
        )?;
        let mut res = Redirect::to("/login").into_response();
        res.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_str(&a.cookie(a.cookie_name(), "", Some(0))).map_err(anyhow::Error::from)?,
        );
        Ok(res)
    })
    .await
}

/// The workspace of the portal, for the page modules.
fn workspace(app: &App) -> &Path {
    &app.workspace
}
