//! One HiLink stick's web API over plain HTTP: every call carries the session cookie and a fresh
//! single-use token, takes the next tokens from the answer, starts a new session and retries once
//! on 125001/125002/125003, logs in when the stick asks for it (guarded against lockouts).
//!
//! The socket I/O of the HiLink backend; the session logic itself is the pure `session.rs`, the XML
//! is `xml.rs`. It knows endpoints, not the spool.

use super::session::{classify, CodeClass, LoginGuard, Session};
use super::{password, xml};
use crate::net::http_client::{request, Endpoint, Limits};
use crate::net::response::{HttpError, Response};
use std::fmt;
use std::time::Instant;

/// Why a call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StickError {
    /// The stick is unreachable or answered broken HTTP.
    Http(HttpError),
    /// An `<error><code>` answer.
    Api { code: u32, class: CodeClass },
    /// Logging in is not possible now (wrong password, locked, no credentials).
    Login(String),
    /// The answer is neither `<response>` nor `<error>`.
    Unexpected(String),
}

impl StickError {
    /// Retrying later may help.
    pub fn is_transient(&self) -> bool {
        match self {
            StickError::Http(_) | StickError::Login(_) | StickError::Unexpected(_) => true,
            StickError::Api { class, .. } => *class != CodeClass::Permanent,
        }
    }
}

impl fmt::Display for StickError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StickError::Http(e) => write!(f, "HiLink stick: {e}"),
            StickError::Api { code, .. } => {
                write!(
                    f,
                    "HiLink stick answered error {code} ({})",
                    classify(*code).1
                )
            }
            StickError::Login(why) => f.write_str(why),
            StickError::Unexpected(what) => write!(f, "HiLink stick answered unexpectedly: {what}"),
        }
    }
}

impl From<HttpError> for StickError {
    fn from(e: HttpError) -> Self {
        StickError::Http(e)
    }
}

/// Login credentials (`--hilink-user`, `--hilink-password`).
#[derive(Clone, Debug)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

/// A connection to one stick (one web session at a time).
pub struct Stick {
    ep: Endpoint,
    limits: Limits,
    session: Session,
    credentials: Option<Credentials>,
    guard: LoginGuard,
    /// Requests made (for tests and diagnostics).
    pub requests: u32,
}

impl Stick {
    pub fn new(ep: Endpoint, limits: Limits, credentials: Option<Credentials>) -> Stick {
        Stick {
            ep,
            limits,
            session: Session::default(),
            credentials,
            guard: LoginGuard::default(),
            requests: 0,
        }
    }

    /// `GET /api/<path>`; the inner XML of `<response>`.
    pub fn get(&mut self, path: &str) -> Result<String, StickError> {
        self.call(path, None)
    }

    /// `POST /api/<path>` with a request body from `xml::RequestXml`.
    pub fn post(&mut self, path: &str, body: &str) -> Result<String, StickError> {
        self.call(path, Some(body))
    }

    fn call(&mut self, path: &str, body: Option<&str>) -> Result<String, StickError> {
        let mut retried = false;
        loop {
            let result = self.call_once(path, body);
            match result {
                Err(StickError::Api {
                    class: CodeClass::Session,
                    ..
                }) if !retried => {
                    self.session.reset();
                }
                Err(StickError::Api {
                    class: CodeClass::LoginRequired,
                    ..
                }) if !retried => {
                    self.session.logged_in = false;
                    self.login()?;
                }
                Err(StickError::Http(_)) => {
                    // The stick may have rebooted: next call starts a new session.
                    self.session.reset();
                    return result;
                }
                other => return other,
            }
            retried = true;
        }
    }

    fn call_once(&mut self, path: &str, body: Option<&str>) -> Result<String, StickError> {
        self.ensure_session()?;
        if self.credentials.is_some() && !self.session.logged_in {
            self.login()?;
        }
        let resp = self.exchange(path, body)?;
        answer(&resp)
    }

    /// One HTTP request with cookie and (for a POST) the next token; absorbs the answer's tokens.
    fn exchange(&mut self, path: &str, body: Option<&str>) -> Result<Response, StickError> {
        let url = ["/api/", path].concat();
        let cookie = self.session.cookie().map(str::to_string);
        let token = match body {
            Some(_) => self.session.take_token(),
            None => None,
        };
        let mut headers: Vec<(&str, &str)> = Vec::with_capacity(3);
        if let Some(c) = cookie.as_deref() {
            headers.push(("Cookie", c));
        }
        if let Some(t) = token.as_deref() {
            headers.push(("__RequestVerificationToken", t));
        }
        self.requests = self.requests.wrapping_add(1);
        let resp = match body {
            Some(b) => {
                headers.push(("Content-Type", "application/xml"));
                request(&self.ep, &self.limits, "POST", &url, &headers, b.as_bytes())?
            }
            None => request(&self.ep, &self.limits, "GET", &url, &headers, b"")?,
        };
        self.session.absorb(|n| resp.header(n));
        for c in resp.cookies() {
            self.session.set_cookie(c);
        }
        Ok(resp)
    }

    /// Starts a session when none is ready: `SesTokInfo`, else `/api/webserver/token`.
    fn ensure_session(&mut self) -> Result<(), StickError> {
        if self.session.ready() {
            return Ok(());
        }
        let keep_login = self.session.logged_in && self.session.has_cookie();
        for &path in &["webserver/SesTokInfo", "webserver/token"] {
            let resp = self.exchange(path, None)?;
            match answer(&resp) {
                Ok(inner) if self.session.start(&inner) => {
                    self.session.logged_in = keep_login;
                    if !self.session.has_cookie() {
                        return Err(StickError::Unexpected("no session cookie".into()));
                    }
                    return Ok(());
                }
                Ok(_) | Err(StickError::Api { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StickError::Unexpected(
            "neither /api/webserver/SesTokInfo nor /api/webserver/token gave a token".into(),
        ))
    }

    /// `state-login`, then `user/login` with the password type the stick names.
    fn login(&mut self) -> Result<(), StickError> {
        let Some(cred) = self.credentials.clone() else {
            return Err(StickError::Login(
                "the HiLink stick requires a login: set --hilink-user and --hilink-password".into(),
            ));
        };
        self.guard
            .check(Instant::now())
            .map_err(StickError::Login)?;
        self.ensure_session()?;
        let state = answer(&self.exchange("user/state-login", None)?)?;
        if xml::text(&state, "State").as_deref() == Some("0") {
            self.session.logged_in = true;
            return Ok(());
        }
        let ptype: u32 = xml::text(&state, "password_type")
            .and_then(|t| t.parse().ok())
            .unwrap_or(4);
        self.ensure_session()?;
        // The token the login POST will carry is the one the password is salted with.
        let Some(token) = self.session.peek_token().map(str::to_string) else {
            return Err(StickError::Unexpected("no token for the login".into()));
        };
        let pw = password::encode(ptype, &cred.user, &cred.password, &token);
        let body = xml::RequestXml::new()
            .elem("Username", &cred.user)
            .elem("Password", &pw)
            .elem("password_type", &ptype.to_string())
            .finish();
        let stale = self.session.tokens_left().saturating_sub(1);
        let resp = self.exchange("user/login", Some(&body))?;
        match answer(&resp) {
            Ok(_) => {
                // Tokens of the session before the login are void; the answer brought new ones.
                self.session.discard_oldest(stale);
                self.guard.succeeded();
                self.session.logged_in = true;
                Ok(())
            }
            Err(StickError::Api { code, class }) => match class {
                CodeClass::LoginWrong | CodeClass::LoginLocked => {
                    self.guard.failed(Instant::now(), code);
                    let why = self.guard.check(Instant::now()).err().unwrap_or_default();
                    Err(StickError::Login(why))
                }
                _ => Err(StickError::Api { code, class }),
            },
            Err(e) => Err(e),
        }
    }
}

/// The `<response>` inner XML, or the error it carries.
fn answer(resp: &Response) -> Result<String, StickError> {
    let body = String::from_utf8_lossy(&resp.body);
    match xml::answer(&body) {
        xml::Answer::Response(inner) => Ok(inner.to_string()),
        xml::Answer::Error(code) => Err(StickError::Api {
            code,
            class: classify(code).0,
        }),
        xml::Answer::Other => {
            let start: String = body.chars().take(60).collect();
            Err(StickError::Unexpected(format!(
                "HTTP {} '{}'",
                resp.status,
                start.trim()
            )))
        }
    }
}
