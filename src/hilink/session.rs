//! The HiLink session as a pure state machine: the session cookie, the queue of single-use
//! `__RequestVerificationToken`s, the error codes' meanings and classes, and the login guard that
//! keeps a wrong password from locking the stick's login.
//!
//! Takes parsed responses and the time; returns what the next request must carry or whether it may
//! be made. No sockets, no clocks (time is passed in).

use super::xml;
use std::time::{Duration, Instant};

/// Tokens kept at most (the 30 after a login plus a few from answers).
const MAX_TOKENS: usize = 40;
/// After a wrong password (or "too many tries") the login is not tried again for this long, unless
/// the configuration changes (a restart of the daemon).
pub const LOGIN_BACKOFF: Duration = Duration::from_secs(3600);

/// Cookie and token queue of one web session.
#[derive(Debug, Default)]
pub struct Session {
    cookie: Option<String>,
    /// Oldest first (a `Vec`: at most 40, and smaller than a `VecDeque` in the router binary).
    tokens: Vec<String>,
    /// A login succeeded in this session.
    pub logged_in: bool,
}

impl Session {
    /// Forget everything (after 125001/125002/125003 or a connection problem).
    pub fn reset(&mut self) {
        *self = Session::default();
    }

    /// A session exists and a token is ready for the next POST.
    pub fn ready(&self) -> bool {
        self.cookie.is_some() && !self.tokens.is_empty()
    }

    pub fn has_cookie(&self) -> bool {
        self.cookie.is_some()
    }

    /// Takes `<SesInfo>` (cookie) and `<TokInfo>` (token) of `/api/webserver/SesTokInfo`, or
    /// `<token>` of `/api/webserver/token`. Returns false when the answer has no token.
    pub fn start(&mut self, response: &str) -> bool {
        if let Some(ses) = xml::text(response, "SesInfo").filter(|s| !s.is_empty()) {
            let cookie = if ses.contains('=') {
                ses
            } else {
                format!("SessionID={ses}")
            };
            self.cookie = Some(cookie);
        }
        let token = xml::text(response, "TokInfo").or_else(|| xml::text(response, "token"));
        match token.filter(|t| !t.is_empty()) {
            Some(t) => {
                self.tokens.clear();
                self.push(t);
                true
            }
            None => false,
        }
    }

    /// Takes a `Set-Cookie: SessionID=…` (the stick renews the session at login).
    pub fn set_cookie(&mut self, cookie: &str) {
        if cookie.starts_with("SessionID=") {
            self.cookie = Some(cookie.to_string());
        }
    }

    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    /// The token for the next POST; each is used once.
    pub fn take_token(&mut self) -> Option<String> {
        (!self.tokens.is_empty()).then(|| self.tokens.remove(0))
    }

    /// The token the next POST will carry.
    pub fn peek_token(&self) -> Option<&str> {
        self.tokens.first().map(String::as_str)
    }

    /// Drops the `n` oldest queued tokens.
    pub fn discard_oldest(&mut self, n: usize) {
        self.tokens.drain(..n.min(self.tokens.len()));
    }

    pub fn tokens_left(&self) -> usize {
        self.tokens.len()
    }

    /// Queues the tokens an answer's headers carry: the 30 `#`-joined ones of
    /// `__RequestVerificationToken` after a login, else `…one`/`…two`, else the plain one.
    pub fn absorb<'a>(&mut self, header: impl Fn(&str) -> Option<&'a str>) {
        let plain = header("__RequestVerificationToken");
        if let Some(list) = plain.filter(|l| l.contains('#')) {
            for t in list.split('#') {
                self.push(t.to_string());
            }
        } else if let Some(one) = header("__RequestVerificationTokenone") {
            self.push(one.to_string());
            if let Some(two) = header("__RequestVerificationTokentwo") {
                self.push(two.to_string());
            }
        } else if let Some(t) = plain {
            self.push(t.to_string());
        }
    }

    fn push(&mut self, token: String) {
        let token = token.trim();
        if token.is_empty() || token.len() > 128 || self.tokens.iter().any(|t| t == token) {
            return;
        }
        if self.tokens.len() >= MAX_TOKENS {
            self.tokens.remove(0);
        }
        self.tokens.push(token.to_string());
    }
}

/// What an error code means for the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeClass {
    /// Token or session lost: start a fresh session and retry once.
    Session,
    /// The endpoint needs a login.
    LoginRequired,
    /// User name or password wrong: do not try again soon.
    LoginWrong,
    /// Too many login tries: the stick locked its login for a while.
    LoginLocked,
    /// Worth retrying later (busy, too fast, storage full, network timeout).
    Transient,
    /// Retrying will not help.
    Permanent,
}

/// The class and meaning of a HiLink error code.
pub fn classify(code: u32) -> (CodeClass, &'static str) {
    use CodeClass::*;
    match code {
        125001 => (Session, "wrong token"),
        125002 => (Session, "session or CSRF token invalid"),
        125003 => (Session, "session expired"),
        100003 => (LoginRequired, "login required"),
        108001 => (LoginWrong, "user name wrong"),
        108002 => (LoginWrong, "password wrong"),
        108006 => (LoginWrong, "user name or password wrong"),
        108007 => (
            LoginLocked,
            "too many login tries, login locked by the stick",
        ),
        108005 => (Transient, "too many users logged in"),
        100001 => (Transient, "unknown error"),
        100004 => (Transient, "system busy"),
        113004 => (Transient, "sending too fast"),
        113018 => (Transient, "SMS sending timed out"),
        113053 => (Transient, "SMS storage full"),
        100002 => (Permanent, "not supported by this stick"),
        100005 => (Permanent, "request format error"),
        100006 => (Permanent, "parameter error"),
        113017 => (Permanent, "illegal argument"),
        113054 => (Permanent, "number too long"),
        113055 => (Permanent, "message too long"),
        _ => (Transient, "unknown error code"),
    }
}

/// Keeps a failing login from being repeated: a wrong password or a locked login blocks further
/// tries until `LOGIN_BACKOFF` has passed (or the daemon restarts with a new configuration).
#[derive(Debug, Default)]
pub struct LoginGuard {
    blocked: Option<(Instant, String)>,
}

impl LoginGuard {
    /// `Err(reason)` while logins must not be tried.
    pub fn check(&self, now: Instant) -> Result<(), String> {
        match &self.blocked {
            Some((until, why)) if now < *until => Err(why.clone()),
            _ => Ok(()),
        }
    }

    pub fn failed(&mut self, now: Instant, code: u32) {
        let (_, meaning) = classify(code);
        let why = format!(
            "HiLink login refused: {meaning} ({code}); not trying again for {} min or until the configuration changes",
            LOGIN_BACKOFF.as_secs() / 60
        );
        self.blocked = Some((now + LOGIN_BACKOFF, why));
    }

    pub fn succeeded(&mut self) {
        self.blocked = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(h: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> + 'a {
        move |n| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| *v)
        }
    }

    #[test]
    fn sestokinfo_starts_a_session_with_cookie_and_token() {
        let mut s = Session::default();
        assert!(s.start("<SesInfo>SessionID=abc</SesInfo><TokInfo>t1</TokInfo>"));
        assert_eq!(s.cookie(), Some("SessionID=abc"));
        assert!(s.ready());
        assert_eq!(s.take_token().as_deref(), Some("t1"));
        assert!(!s.ready(), "a token is used once");
        let mut s = Session::default();
        assert!(s.start("<token>t9</token>"));
        assert!(!s.ready(), "no cookie yet");
        s.set_cookie("SessionID=x");
        assert!(s.ready());
    }

    #[test]
    fn tokens_come_from_one_two_or_the_hash_joined_login_list_each_once() {
        let mut s = Session::default();
        s.absorb(headers(&[
            ("__RequestVerificationTokenone", "a"),
            ("__RequestVerificationTokentwo", "b"),
            ("__RequestVerificationToken", "c"),
        ]));
        assert_eq!(
            (s.take_token(), s.take_token(), s.take_token()),
            (Some("a".into()), Some("b".into()), None)
        );
        let list: Vec<String> = (0..30).map(|i| format!("t{i}")).collect();
        let joined = list.join("#");
        s.absorb(headers(&[("__RequestVerificationToken", &joined)]));
        assert_eq!(s.tokens_left(), 30);
        s.absorb(headers(&[("__RequestVerificationToken", "t3")]));
        assert_eq!(
            s.tokens_left(),
            30,
            "a token already queued is not queued twice"
        );
        for want in &list {
            assert_eq!(s.take_token().as_ref(), Some(want));
        }
    }

    #[test]
    fn wrong_password_blocks_logins_for_the_backoff_only() {
        let t0 = Instant::now();
        let mut g = LoginGuard::default();
        assert!(g.check(t0).is_ok());
        g.failed(t0, 108006);
        let why = g.check(t0 + Duration::from_secs(60)).unwrap_err();
        assert!(
            why.contains("user name or password wrong (108006)"),
            "{why}"
        );
        assert!(g.check(t0 + LOGIN_BACKOFF).is_ok());
        g.failed(t0, 108007);
        assert!(g.check(t0).unwrap_err().contains("locked"));
        g.succeeded();
        assert!(g.check(t0).is_ok());
    }

    #[test]
    fn codes_are_classified() {
        assert_eq!(classify(125003).0, CodeClass::Session);
        assert_eq!(classify(113004).0, CodeClass::Transient);
        assert_eq!(classify(113054), (CodeClass::Permanent, "number too long"));
        assert_eq!(classify(999).0, CodeClass::Transient);
    }
}
