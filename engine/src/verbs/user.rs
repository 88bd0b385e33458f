//! `mimamori user add`: a portal user with an Argon2id password hash, written into
//! mimamori.toml in place (comments and layout kept), validated before it replaces the file.

use std::io::BufRead;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::json;
use toml::Spanned;

use crate::config::{Config, FILE_NAME, Role};
use crate::portal::password;
use crate::staging::write_atomically;

/// What `user add` was asked to do.
pub struct Args<'a> {
    pub workspace: &'a Path,
    pub name: &'a str,
    pub role: Option<Role>,
    pub districts: &'a [String],
    pub department: Option<&'a str>,
    pub display_name: Option<&'a str>,
    pub password_stdin: bool,
}

#[derive(Deserialize)]
struct UserSpans {
    #[serde(rename = "user", default)]
    users: Vec<UserSpan>,
}

#[derive(Deserialize)]
struct UserSpan {
    name: Spanned<String>,
    #[serde(default)]
    password_hash: Option<Spanned<String>>,
}

/// A TOML basic string holding `s`.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

pub fn run(a: &Args) -> Result<()> {
    let path = a.workspace.join(FILE_NAME);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}; create the workspace with `mimamori init`", path.display()))?;
    let config = Config::parse(&text, &path)?;
    let existing = config.users.iter().find(|u| u.name == a.name);
    if let Some(u) = existing {
        if a.role.is_some_and(|r| r != u.role) {
            bail!("user {} exists with role {}; edit mimamori.toml to change a role", a.name, u.role);
        }
        if !a.districts.is_empty() || a.department.is_some() || a.display_name.is_some() {
            bail!(
                "user {} exists; `user add` only sets the password of an existing user (edit mimamori.toml for the rest)",
                a.name
            );
        }
    } else if a.role.is_none() {
        bail!("user {} is not in {}; give --role to add them", a.name, path.display());
    }

    let password = read_password(a.password_stdin)?;
    let hash = password::hash(&password)?;

    let spans: UserSpans = toml::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))?;
    let new_text = match spans.users.iter().find(|u| u.name.get_ref() == a.name) {
        Some(UserSpan { password_hash: Some(h), .. }) => {
            format!("{}{}{}", &text[..h.span().start], quoted(&hash), &text[h.span().end..])
        }
        Some(UserSpan { name, .. }) => {
            let line_end = text[name.span().end..].find('\n').map_or(text.len(), |i| name.span().end + i + 1);
            let sep = if line_end == text.len() && !text.ends_with('\n') { "\n" } else { "" };
            format!("{}{sep}password_hash = {}\n{}", &text[..line_end], quoted(&hash), &text[line_end..])
        }
        None => {
            let Some(role) = a.role else { bail!("user {} needs --role", a.name) };
            let mut block = format!("\n[[user]]\nname = {}\n", quoted(a.name));
            if let Some(d) = a.display_name {
                block.push_str(&format!("display_name = {}\n", quoted(d)));
            }
            block.push_str(&format!("role = {}\n", quoted(role.as_str())));
            if !a.districts.is_empty() {
                let list: Vec<String> = a.districts.iter().map(|d| quoted(d)).collect();
                block.push_str(&format!("districts = [{}]\n", list.join(", ")));
            }
            if let Some(d) = a.department {
                block.push_str(&format!("department = {}\n", quoted(d)));
            }
            block.push_str(&format!("password_hash = {}\n", quoted(&hash)));
            let sep = if text.ends_with('\n') { "" } else { "\n" };
            format!("{text}{sep}{block}")
        }
    };
    // the new file must be a valid configuration before it replaces the old one
    Config::parse(&new_text, &path)?;
    crate::audit::append(
        a.workspace,
        crate::audit::Record {
            user: &crate::audit::os_user(),
            action: "user_add",
            purpose: None,
            resource: &format!("user {}", a.name),
            decision: crate::audit::Decision::Allow,
            detail: json!({ "new_user": existing.is_none(), "role": a.role.or(existing.map(|u| u.role)) }),
        },
    )?;
    write_atomically(&path, new_text.as_bytes())?;
    crate::print_stdout(&format!(
        "{} user {} in {} (Argon2id hash; the password itself is not stored)\n",
        if existing.is_some() { "set the password of" } else { "added" },
        a.name,
        path.display()
    ))?;
    Ok(())
}

/// The new password: one line of stdin with --password-stdin, else typed twice on the terminal.
fn read_password(from_stdin: bool) -> Result<zeroize::Zeroizing<String>> {
    let password = if from_stdin {
        let mut line = zeroize::Zeroizing::new(String::new());
        std::io::stdin().lock().read_line(&mut line).context("cannot read the password from stdin")?;
        zeroize::Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_string())
    } else {
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            bail!("no terminal to type the password on; pass it on one line of stdin with --password-stdin");
        }
        let first = zeroize::Zeroizing::new(rpassword::prompt_password("新しいパスワード (new password): ")?);
        let second = zeroize::Zeroizing::new(rpassword::prompt_password("もう一度 (again): ")?);
        if *first != *second {
            bail!("the two passwords differ; nothing was changed");
        }
        first
    };
    password::check_strength(&password)?;
    Ok(password)
}
