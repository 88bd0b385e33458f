//! Portal sessions: random 256-bit ids held in memory only (a restart logs everyone out), an
//! idle timeout and an absolute lifetime, one CSRF token per session, and a login limiter.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};

use crate::config::Role;

/// A session never outlives this, however active.
pub const MAX_LIFETIME: Duration = Duration::from_secs(8 * 3600);

/// Failed logins counted over this window.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed logins of one user name within the window before further attempts are refused.
pub const MAX_FAILURES_PER_USER: usize = 5;
/// Failed logins from one address within the window before further attempts are refused.
pub const MAX_FAILURES_PER_ADDRESS: usize = 20;

/// 32 random bytes from the OS CSPRNG, hex.
pub fn random_token() -> Result<String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| anyhow!("the OS random source failed: {e}"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// The fingerprint of a user's entry that a session depends on.
pub fn credential(u: &crate::config::User) -> String {
    let text =
        format!("{}\n{}\n{}\n{}", u.password_hash.as_deref().unwrap_or(""), u.role, u.districts.join(","), u.name);
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

/// Compares two tokens in time independent of where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A logged-in user.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: String,
    pub display_name: String,
    pub role: Role,
    /// The purpose chosen at login: every access of the session is made under it.
    pub purpose: String,
    pub csrf: String,
    /// Fingerprint of the user's entry (password hash, role, districts) at login: a session
    /// ends when mimamori.toml changes it (a reset password, a moved caseworker).
    pub credential: String,
    /// The path of the request this copy of the session serves (set per request).
    pub page: String,
    created: Instant,
    last_seen: Instant,
}

/// The sessions of one portal process.
pub struct Sessions {
    idle: Duration,
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    pub fn new(idle: Duration) -> Sessions {
        Sessions { idle, map: Mutex::new(HashMap::new()) }
    }

    /// Starts a session; returns its id (the cookie's value).
    pub fn start(&self, user: &str, display_name: &str, role: Role, purpose: &str, credential: &str) -> Result<String> {
        let id = random_token()?;
        let now = Instant::now();
        let s = Session {
            user: user.to_string(),
            display_name: display_name.to_string(),
            role,
            purpose: purpose.to_string(),
            csrf: random_token()?,
            credential: credential.to_string(),
            page: String::new(),
            created: now,
            last_seen: now,
        };
        let mut map = self.map.lock().map_err(|_| anyhow!("session store poisoned"))?;
        map.retain(|_, s| !expired(s, now, self.idle));
        map.insert(id.clone(), s);
        Ok(id)
    }

    /// The live session of `id`, its idle clock restarted; an expired one is removed.
    pub fn touch(&self, id: &str) -> Option<Session> {
        self.touch_at(id, Instant::now())
    }

    fn touch_at(&self, id: &str, now: Instant) -> Option<Session> {
        let mut map = self.map.lock().ok()?;
        let s = map.get_mut(id)?;
        if expired(s, now, self.idle) {
            map.remove(id);
            return None;
        }
        s.last_seen = now;
        Some(s.clone())
    }

    pub fn end(&self, id: &str) -> Option<Session> {
        self.map.lock().ok()?.remove(id)
    }
}

fn expired(s: &Session, now: Instant, idle: Duration) -> bool {
    now.duration_since(s.last_seen) > idle || now.duration_since(s.created) > MAX_LIFETIME
}

/// Failed logins per user name and per client address over a sliding window.
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<Vec<(Instant, String, IpAddr)>>,
}

impl LoginLimiter {
    /// Whether a login of `user` from `addr` may be tried now; if so the attempt is counted as
    /// a failure at once (in the same step, so that attempts sent in parallel cannot all pass
    /// the check before any is counted) until [`LoginLimiter::succeeded`] forgives it.
    pub fn attempt(&self, user: &str, addr: IpAddr) -> bool {
        self.attempt_at(user, addr, Instant::now())
    }

    fn attempt_at(&self, user: &str, addr: IpAddr, now: Instant) -> bool {
        let Ok(mut f) = self.failures.lock() else { return false };
        f.retain(|(t, _, _)| now.duration_since(*t) < LOGIN_WINDOW);
        let allowed = f.iter().filter(|(_, u, _)| u == user).count() < MAX_FAILURES_PER_USER
            && f.iter().filter(|(_, _, a)| *a == addr).count() < MAX_FAILURES_PER_ADDRESS;
        if allowed {
            f.push((now, user.to_string(), addr));
        }
        allowed
    }

    /// A successful login clears the user's failures.
    pub fn succeeded(&self, user: &str) {
        if let Ok(mut f) = self.failures.lock() {
            f.retain(|(_, u, _)| u != user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_session_expires_and_an_active_one_lives() -> Result<()> {
        let s = Sessions::new(Duration::from_secs(60));
        let id = s.start("cw", "担当", Role::Caseworker, "child_outreach", "c")?;
        let t0 = Instant::now();
        assert!(s.touch_at(&id, t0 + Duration::from_secs(50)).is_some());
        // 50 s after the last touch: still within the idle timeout
        assert!(s.touch_at(&id, t0 + Duration::from_secs(100)).is_some());
        assert!(s.touch_at(&id, t0 + Duration::from_secs(161)).is_none());
        // once expired it is gone for good
        assert!(s.touch_at(&id, t0 + Duration::from_secs(162)).is_none());
        assert!(s.touch("not a session").is_none());
        Ok(())
    }

    #[test]
    fn sessions_have_distinct_ids_and_tokens() -> Result<()> {
        let s = Sessions::new(Duration::from_secs(60));
        let a = s.start("a", "a", Role::Reviewer, "p", "c")?;
        let b = s.start("a", "a", Role::Reviewer, "p", "c")?;
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        let (sa, sb) = (s.touch(&a).ok_or_else(|| anyhow!("a"))?, s.touch(&b).ok_or_else(|| anyhow!("b"))?);
        assert_ne!(sa.csrf, sb.csrf);
        assert!(s.end(&a).is_some());
        assert!(s.touch(&a).is_none());
        Ok(())
    }

    #[test]
    fn repeated_failures_lock_a_user_for_the_window() {
        let l = LoginLimiter::default();
        let addr: IpAddr = [127, 0, 0, 1].into();
        let t0 = Instant::now();
        // attempts count before they are verified: parallel ones cannot all pass
        for i in 0..MAX_FAILURES_PER_USER {
            assert!(l.attempt_at("cw", addr, t0 + Duration::from_secs(i as u64)));
        }
        assert!(!l.attempt_at("cw", addr, t0 + Duration::from_secs(10)));
        // another user from the same address is not locked by these
        assert!(l.attempt_at("reviewer1", addr, t0 + Duration::from_secs(10)));
        l.succeeded("reviewer1");
        assert!(l.attempt_at("cw", addr, t0 + LOGIN_WINDOW + Duration::from_secs(10)));
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "abcd"));
    }
}
