//! The XML of the HiLink web API: a compact writer (no whitespace, fixed tag order, text escaped —
//! the -320 firmwares answer 100005 to anything else) and a small, bounded, tolerant reader for the
//! shapes the stick answers with (`<response>…</response>`, `<error><code>…</code></error>`, lists
//! of `<Message>`).
//!
//! Pure: strings in, strings out. It is not a general XML parser: no attributes are needed, no DTDs,
//! CDATA is taken as text, unknown entities stay as written.

/// The declaration every request starts with (the web UI's own).
const DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

/// Builds `<?xml …?><request>…</request>` in the order elements are added.
pub struct RequestXml {
    buf: String,
}

impl RequestXml {
    pub fn new() -> RequestXml {
        let mut buf = String::with_capacity(256);
        buf.push_str(DECL);
        buf.push_str("<request>");
        RequestXml { buf }
    }

    /// `<tag>escaped text</tag>`.
    pub fn elem(mut self, tag: &str, text: &str) -> RequestXml {
        self.open(tag);
        escape_into(&mut self.buf, text);
        self.close(tag);
        self
    }

    pub fn open(&mut self, tag: &str) {
        self.buf.push('<');
        self.buf.push_str(tag);
        self.buf.push('>');
    }

    pub fn close(&mut self, tag: &str) {
        self.buf.push_str("</");
        self.buf.push_str(tag);
        self.buf.push('>');
    }

    pub fn finish(mut self) -> String {
        self.buf.push_str("</request>");
        self.buf
    }
}

/// Appends `text` with `& < > " '` escaped and characters XML 1.0 cannot carry dropped.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

/// Undoes the five predefined entities and numeric references; anything else stays as written.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(rest.get(..i).unwrap_or_default());
        rest = rest.get(i..).unwrap_or_default();
        let Some(end) = rest.get(..12).unwrap_or(rest).find(';') else {
            out.push('&');
            rest = rest.get(1..).unwrap_or_default();
            continue;
        };
        let name = rest.get(1..end).unwrap_or_default();
        let decoded = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => name
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = rest.get(end + 1..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = rest.get(1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}

/// The raw inner text of the first `<tag>…</tag>` in `xml` (`<tag/>` gives ""), not unescaped.
pub fn inner<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let mut from = 0;
    loop {
        let at = from + xml.get(from..)?.find('<')?;
        let after = xml.get(at + 1..)?;
        if let Some(rest) = after.strip_prefix(tag) {
            let (open_end, empty) = match rest.chars().next() {
                Some('>') => (at + 1 + tag.len() + 1, false),
                Some('/') if rest.starts_with("/>") => (at + 1 + tag.len() + 2, true),
                Some(' ') => {
                    let gt = at + 1 + tag.len() + rest.find('>')? + 1;
                    (gt, xml.get(..gt)?.ends_with("/>"))
                }
                _ => {
                    from = at + 1;
                    continue;
                }
            };
            if empty {
                return Some("");
            }
            let body = xml.get(open_end..)?;
            let close = format!("</{tag}>");
            return body.find(&close).and_then(|e| body.get(..e));
        }
        from = at + 1;
    }
}

/// The unescaped, trimmed text of the first `<tag>` (CDATA markers removed).
pub fn text(xml: &str, tag: &str) -> Option<String> {
    let raw = inner(xml, tag)?.trim();
    if let Some(c) = raw
        .strip_prefix("<![CDATA[")
        .and_then(|r| r.strip_suffix("]]>"))
    {
        return Some(c.to_string());
    }
    Some(unescape(raw))
}

/// Every `<tag>…</tag>` element's inner XML, in order (at most `max`).
pub fn all<'a>(xml: &'a str, tag: &str, max: usize) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = xml;
    while out.len() < max {
        let Some(body) = inner(rest, tag) else { break };
        out.push(body);
        // Continue after this element's body.
        let offset = body.as_ptr() as usize - rest.as_ptr() as usize + body.len();
        match rest.get(offset..) {
            Some(r) => rest = r,
            None => break,
        }
    }
    out
}

/// What an API answer says, before the caller looks at the payload.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer<'a> {
    /// `<response>…</response>`: the inner XML (`OK` for a plain success).
    Response(&'a str),
    /// `<error><code>N</code>…</error>`.
    Error(u32),
    /// Neither: the stick answered something else (HTML, empty body).
    Other,
}

/// Classifies an answer body.
pub fn answer(body: &str) -> Answer<'_> {
    if let Some(err) = inner(body, "error") {
        if let Some(code) = inner(err, "code").and_then(|c| c.trim().parse().ok()) {
            return Answer::Error(code);
        }
    }
    match inner(body, "response") {
        Some(r) => Answer::Response(r),
        None => Answer::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn request_is_compact_ordered_and_escaped() {
        let x = RequestXml::new()
            .elem("Index", "-1")
            .elem("Content", "a<b & 'c'")
            .finish();
        assert_eq!(
            x,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><request><Index>-1</Index><Content>a&lt;b &amp; &apos;c&apos;</Content></request>"
        );
    }

    #[test]
    fn reader_finds_tags_empty_tags_and_codes() {
        let b = "<?xml version=\"1.0\"?>\n<response>\n<Count>2</Count><Sca/><Phone>+49&amp;1</Phone></response>";
        let Answer::Response(r) = answer(b) else {
            panic!("not a response")
        };
        assert_eq!(text(r, "Count").as_deref(), Some("2"));
        assert_eq!(text(r, "Sca").as_deref(), Some(""));
        assert_eq!(text(r, "Phone").as_deref(), Some("+49&1"));
        assert_eq!(text(r, "Missing"), None);
        assert_eq!(
            answer("<error><code>125002</code><message></message></error>"),
            Answer::Error(125002)
        );
        assert_eq!(answer("<html>"), Answer::Other);
    }

    #[test]
    fn message_list_is_split_and_prefix_tags_do_not_match() {
        let b = "<Messages><Message><Index>40001</Index></Message><Message><Index>40002</Index></Message></Messages>";
        let m = all(b, "Message", 10);
        assert_eq!(m.len(), 2);
        assert_eq!(text(m[1], "Index").as_deref(), Some("40002"));
        assert_eq!(all(b, "Message", 1).len(), 1);
    }

    #[test]
    fn escape_round_trips_through_unescape() {
        let s = "<>&\"' ünï 😀 &#65;";
        let mut e = String::new();
        escape_into(&mut e, s);
        assert_eq!(unescape(&e), s);
        assert_eq!(unescape("&#x1F600;&#65;&bogus;&"), "😀A&bogus;&");
    }

    proptest! {
        #[test]
        fn reader_never_panics(s in "\\PC{0,200}", tag in "[A-Za-z]{1,6}") {
            let _ = answer(&s);
            let _ = text(&s, &tag);
            let _ = all(&s, &tag, 5);
            let _ = unescape(&s);
        }

        #[test]
        fn any_text_survives_escaping(s in "\\PC{0,80}") {
            let x = RequestXml::new().elem("Content", &s).finish();
            let got = text(&x, "Content").unwrap_or_default();
            prop_assert_eq!(got, s.trim().chars().filter(|c| (*c as u32) >= 0x20 || "\t\n\r".contains(*c)).collect::<String>().trim().to_string());
        }
    }
}
