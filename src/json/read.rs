//! Strict, bounded JSON reader (RFC 8259): bytes in, a [`Value`] tree or a [`JsonError`] out.
//!
//! Owns the grammar only: UTF-8 validation, `\u` escapes with surrogate pairs, the number
//! grammar, a nesting limit and a size limit. Numbers stay as their validated text (no floats: the
//! router has no FPU and the callers only need integers). Duplicate object keys are refused (which
//! one wins is undefined in RFC 8259, and `phone` must never be ambiguous). No I/O, never panics.

use super::Value;
use std::fmt;

/// Deepest nesting accepted (an Alertmanager payload is 3 deep).
pub const MAX_DEPTH: usize = 32;

/// Why a document was refused; `at` is the byte offset where reading stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    pub kind: JsonErrorKind,
    pub at: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonErrorKind {
    TooLarge,
    TooDeep,
    NotUtf8,
    UnexpectedEnd,
    Unexpected,
    BadEscape,
    LoneSurrogate,
    ControlInString,
    BadNumber,
    DuplicateKey,
    TrailingData,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            JsonErrorKind::TooLarge => "document too large",
            JsonErrorKind::TooDeep => "nested too deeply",
            JsonErrorKind::NotUtf8 => "not valid UTF-8",
            JsonErrorKind::UnexpectedEnd => "unexpected end of input",
            JsonErrorKind::Unexpected => "unexpected character",
            JsonErrorKind::BadEscape => "invalid escape in string",
            JsonErrorKind::LoneSurrogate => "unpaired UTF-16 surrogate in \\u escape",
            JsonErrorKind::ControlInString => "unescaped control character in string",
            JsonErrorKind::BadNumber => "invalid number",
            JsonErrorKind::DuplicateKey => "duplicate object key",
            JsonErrorKind::TrailingData => "data after the end of the document",
        };
        f.write_str("invalid JSON: ")?;
        f.write_str(what)?;
        f.write_str(" at byte ")?;
        let mut n = String::new();
        crate::http::push_u64(&mut n, self.at as u64);
        f.write_str(&n)
    }
}

/// Parses one complete document of at most `max_bytes` bytes (whitespace around it allowed).
pub fn parse(input: &[u8], max_bytes: usize) -> Result<Value, JsonError> {
    if input.len() > max_bytes {
        return Err(JsonError {
            kind: JsonErrorKind::TooLarge,
            at: max_bytes,
        });
    }
    if let Err(e) = std::str::from_utf8(input) {
        return Err(JsonError {
            kind: JsonErrorKind::NotUtf8,
            at: e.valid_up_to(),
        });
    }
    let mut r = Reader {
        s: input,
        pos: 0,
        salvage: false,
    };
    let v = r.value(0)?;
    r.skip_ws();
    if r.pos < r.s.len() {
        return Err(r.err(JsonErrorKind::TrailingData));
    }
    Ok(v)
}

/// Reads what a document cut short at `input`'s end still holds: open lists and objects are
/// closed, the member or item the cut went through is dropped (a number touching the end too: it
/// may have lost digits). Everything before the cut must be valid. For bodies larger than what is
/// read (a webhook that must still be answered with what fits).
pub fn parse_prefix(input: &[u8]) -> Result<Value, JsonError> {
    let valid = match std::str::from_utf8(input) {
        Ok(_) => input.len(),
        // a multi-byte character cut in half at the end is part of the cut
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(e) => {
            return Err(JsonError {
                kind: JsonErrorKind::NotUtf8,
                at: e.valid_up_to(),
            })
        }
    };
    let mut r = Reader {
        s: input.get(..valid).unwrap_or(b""),
        pos: 0,
        salvage: true,
    };
    r.value(0)
}

struct Reader<'a> {
    s: &'a [u8],
    pos: usize,
    /// [`parse_prefix`]: running into the end closes the open containers.
    salvage: bool,
}

impl Reader<'_> {
    /// In salvage mode, whether `e` is the cut (the end of the input) rather than bad JSON.
    fn is_cut(&self, e: &JsonError) -> bool {
        self.salvage && self.pos >= self.s.len() && e.kind != JsonErrorKind::TooDeep
    }

    fn err(&self, kind: JsonErrorKind) -> JsonError {
        JsonError { kind, at: self.pos }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn next(&mut self) -> Result<u8, JsonError> {
        let b = self.peek().ok_or(self.err(JsonErrorKind::UnexpectedEnd))?;
        self.pos += 1;
        Ok(b)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), JsonError> {
        self.skip_ws();
        match self.peek() {
            Some(c) if c == b => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => Err(self.err(JsonErrorKind::Unexpected)),
            None => Err(self.err(JsonErrorKind::UnexpectedEnd)),
        }
    }

    fn literal(&mut self, word: &[u8], v: Value) -> Result<Value, JsonError> {
        for &w in word {
            if self.next()? != w {
                self.pos -= 1;
                return Err(self.err(JsonErrorKind::Unexpected));
            }
        }
        Ok(v)
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.skip_ws();
        let Some(b) = self.peek() else {
            return Err(self.err(JsonErrorKind::UnexpectedEnd));
        };
        match b {
            b'{' | b'[' if depth >= MAX_DEPTH => Err(self.err(JsonErrorKind::TooDeep)),
            b'{' | b'[' => self.container(depth + 1, b == b'{'),
            b'"' => self.string().map(Value::String),
            b't' => self.literal(b"true", Value::Bool(true)),
            b'f' => self.literal(b"false", Value::Bool(false)),
            b'n' => self.literal(b"null", Value::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(self.err(JsonErrorKind::Unexpected)),
        }
    }

    /// An array or (`object`) an object: the items up to the closing bracket (in salvage mode,
    /// up to the cut).
    fn container(&mut self, depth: usize, object: bool) -> Result<Value, JsonError> {
        self.pos += 1; // '[' or '{'
        let close = if object { b'}' } else { b']' };
        let mut items = Vec::new();
        let mut members: Vec<(String, Value)> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(close) {
            self.pos += 1;
        } else {
            loop {
                let read = if object {
                    self.member(&members, depth).map(|kv| members.push(kv))
                } else {
                    self.value(depth).map(|v| items.push(v))
                };
                match read.and_then(|()| self.separator(close)) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) if self.is_cut(&e) => break,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(if object {
            Value::Object(members)
        } else {
            Value::Array(items)
        })
    }

    /// After an item: `,` (more follow: `true`) or the closing bracket (`false`).
    fn separator(&mut self, close: u8) -> Result<bool, JsonError> {
        self.skip_ws();
        match self.next()? {
            b',' => Ok(true),
            c if c == close => Ok(false),
            _ => {
                self.pos -= 1;
                Err(self.err(JsonErrorKind::Unexpected))
            }
        }
    }

    /// One `"key": value` member; the key must be new.
    fn member(
        &mut self,
        members: &[(String, Value)],
        depth: usize,
    ) -> Result<(String, Value), JsonError> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(self.err(if self.peek().is_none() {
                JsonErrorKind::UnexpectedEnd
            } else {
                JsonErrorKind::Unexpected
            }));
        }
        let key_at = self.pos;
        let key = self.string()?;
        if members.iter().any(|(k, _)| *k == key) {
            return Err(JsonError {
                kind: JsonErrorKind::DuplicateKey,
                at: key_at,
            });
        }
        self.expect(b':')?;
        let v = self.value(depth)?;
        Ok((key, v))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut n = 0u32;
        for _ in 0..4 {
            let d = match self.next()? {
                c @ b'0'..=b'9' => c - b'0',
                c @ b'a'..=b'f' => c - b'a' + 10,
                c @ b'A'..=b'F' => c - b'A' + 10,
                _ => {
                    self.pos -= 1;
                    return Err(self.err(JsonErrorKind::BadEscape));
                }
            };
            n = n << 4 | u32::from(d);
        }
        Ok(n)
    }

    /// A `\u` escape after the `u`, joining a surrogate pair into one character.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let start = self.pos.saturating_sub(2);
        let lone = JsonError {
            kind: JsonErrorKind::LoneSurrogate,
            at: start,
        };
        let hi = self.hex4()?;
        let code = match hi {
            0xD800..=0xDBFF => {
                if self.s.get(self.pos..self.pos + 2) != Some(b"\\u") {
                    return Err(lone);
                }
                self.pos += 2;
                let lo = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return Err(lone);
                }
                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(lone),
            c => c,
        };
        char::from_u32(code).ok_or(lone)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1; // '"'
        let mut out = String::new();
        loop {
            // copy the run of plain bytes at once (the input is valid UTF-8 and the run ends at
            // an ASCII byte, so it is a whole number of characters)
            let run = self.pos;
            while matches!(self.peek(), Some(c) if c != b'"' && c != b'\\' && c >= 0x20) {
                self.pos += 1;
            }
            if let Some(plain) = self.s.get(run..self.pos) {
                out.push_str(std::str::from_utf8(plain).unwrap_or(""));
            }
            match self.next()? {
                b'"' => return Ok(out),
                b'\\' => {
                    let c = match self.next()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => {
                            self.pos -= 1;
                            return Err(self.err(JsonErrorKind::BadEscape));
                        }
                    };
                    out.push(c);
                }
                _ => {
                    self.pos -= 1;
                    return Err(self.err(JsonErrorKind::ControlInString));
                }
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        let bad = |at| JsonError {
            kind: JsonErrorKind::BadNumber,
            at,
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(bad(self.pos)),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(bad(self.pos));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(bad(self.pos));
            }
        }
        if self.salvage && self.pos >= self.s.len() {
            return Err(self.err(JsonErrorKind::UnexpectedEnd));
        }
        let text = self.s.get(start..self.pos).unwrap_or(b"");
        Ok(Value::Number(
            std::str::from_utf8(text).unwrap_or("0").to_string(),
        ))
    }
}
