//! `serve` options from a UCI file (`/etc/config/smsgw`), read the way libuci reads it.
//!
//! Owns the UCI syntax: words unquoted, in single quotes (no escapes; `uci` writes `it's` as
//! `'it'\''s'`), or in double quotes (backslash escapes any character); adjacent pieces join
//! into one word; a backslash at the end of a line continues it; `#` starts a comment and `;`
//! ends a statement outside quotes. Option names map onto the table in `config`. Must not read
//! the file itself (callers pass its text) and must not know what an option does.

use super::{is_uci_name, ConfigError, Kind, ServeConfig, OPTIONS};

/// Splits UCI text into statements of words. Works on bytes (every UCI delimiter is ASCII, so
/// words stay valid UTF-8): smaller in the router binary than decoding `char`s.
pub fn statements(text: &str) -> Result<Vec<Vec<String>>, ConfigError> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word: Option<Vec<u8>> = None;
    let mut bytes = text.bytes();
    let mut line = 1usize;
    let finish = |word: &mut Option<Vec<u8>>, words: &mut Vec<String>| {
        if let Some(w) = word.take() {
            words.push(String::from_utf8(w).unwrap_or_default());
        }
    };
    while let Some(c) = bytes.next() {
        match c {
            b'\'' | b'"' => {
                // reported at the line where the quote opened
                let start = line;
                let w = word.get_or_insert_with(Vec::new);
                loop {
                    let Some(q) = bytes.next() else {
                        return Err(ConfigError::Uci {
                            line: start,
                            problem: "unterminated quote",
                        });
                    };
                    line += usize::from(q == b'\n');
                    match q {
                        _ if q == c => break,
                        // double quotes: a backslash escapes any byte (a newline: continuation)
                        b'\\' if c == b'"' => match bytes.next() {
                            Some(b'\n') => line += 1,
                            Some(e) => w.push(e),
                            None => {}
                        },
                        _ => w.push(q),
                    }
                }
            }
            b'\\' => match bytes.next() {
                Some(b'\n') => line += 1,
                Some(e) => word.get_or_insert_with(Vec::new).push(e),
                None => {}
            },
            b'#' => {
                finish(&mut word, &mut words);
                for e in bytes.by_ref() {
                    if e == b'\n' {
                        line += 1;
                        break;
                    }
                }
                if !words.is_empty() {
                    out.push(std::mem::take(&mut words));
                }
            }
            b'\n' | b';' => {
                line += usize::from(c == b'\n');
                finish(&mut word, &mut words);
                if !words.is_empty() {
                    out.push(std::mem::take(&mut words));
                }
            }
            b' ' | b'\t' | b'\r' => finish(&mut word, &mut words),
            c => word.get_or_insert_with(Vec::new).push(c),
        }
    }
    finish(&mut word, &mut words);
    if !words.is_empty() {
        out.push(words);
    }
    Ok(out)
}

/// The options of the first `config smsgw` section, as (UCI name, value) in file order.
pub fn section_options(text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut options = Vec::new();
    // None: before the first section; Some(true): in the first smsgw section
    let mut in_section: Option<bool> = None;
    for mut words in statements(text)? {
        let keyword = words.first().map(String::as_str);
        match keyword {
            Some("config") => {
                if in_section == Some(true) {
                    break;
                }
                in_section = Some(words.get(1).map(String::as_str) == Some("smsgw"));
            }
            Some("option") | Some("list") if in_section == Some(true) && words.len() >= 3 => {
                let value = words.swap_remove(2);
                let name = words.swap_remove(1);
                options.push((name, value));
            }
            _ => {}
        }
    }
    Ok(options)
}

/// Reads the first `config smsgw` section into `serve` options (option `foo_bar` <->
/// `--foo-bar`, a `list` repeats it, an empty value means unset). Options this version does not
/// know (and `enabled`, which only the init script reads) are skipped, so a newer package's
/// config never breaks an older binary.
pub fn parse_uci(text: &str) -> Result<ServeConfig, ConfigError> {
    let mut cfg = ServeConfig::default();
    for (name, value) in &section_options(text)? {
        let Some(index) = OPTIONS.iter().position(|o| is_uci_name(o.name, name)) else {
            continue;
        };
        let is_flag = OPTIONS.get(index).is_some_and(|o| o.kind == Kind::Flag);
        if value.is_empty() && !is_flag {
            continue;
        }
        cfg.set(index, value)?;
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UCI: &str = "
config smsgw 'main'
\toption enabled '1'
\toption device '/dev/ttyUSB0'
\toption pin ''
\tlist init 'AT^CURC=0'
\toption listen '0.0.0.0:8767'
\toption spool \"/var/spool/sms\"
\toption token 'abc def'   # comment
\toption no_auth '0'
\tlist allow_client '127.0.0.0/8'
\tlist allow_client '192.168.1.0/24'
\tlist allow_recipient ''
\toption rate_limit '60'
\toption duplicate_window '300'
\toption max_parts '6'
\toption request_timeout '30'
\toption command_timeout '4'
\toption token_file '/tmp/t'

config other 'x'
\toption spool '/elsewhere'
";

    #[test]
    fn reads_the_uci_contract() {
        let c = parse_uci(UCI).unwrap();
        assert_eq!(c.spool, "/var/spool/sms");
        assert_eq!(c.token.as_deref(), Some("abc def"));
        assert!(!c.no_auth);
        assert_eq!(c.allow_clients, vec!["127.0.0.0/8", "192.168.1.0/24"]);
        assert!(c.allow_recipients.is_empty());
        assert_eq!(c.rate_limit_per_hour, 60);
        assert_eq!(c.duplicate_window.as_secs(), 300);
        assert_eq!(c.request_timeout.as_secs(), 30);
        assert_eq!(c.command_timeout.as_secs(), 4);
        assert_eq!(c.token_file, "/tmp/t");
        assert_eq!(c.pin, None);
        let c = parse_uci("config smsgw 'main'\n option no_auth '1'\n").unwrap();
        assert!(c.no_auth);
    }

    #[test]
    fn uci_quoting_is_read_as_libuci_writes_it() {
        // `uci set smsgw.main.token="it's"` is exported as 'it'\''s'
        let token = |line: &str| {
            parse_uci(&["config smsgw 'main'\n", line, "\n"].concat())
                .unwrap()
                .token
        };
        assert_eq!(token(r"option token 'it'\''s'").as_deref(), Some("it's"));
        assert_eq!(
            token(r#"option token "a\"b\\c\$d""#).as_deref(),
            Some(r#"a"b\c$d"#)
        );
        assert_eq!(
            token(r"option token plain\ word").as_deref(),
            Some("plain word")
        );
        assert_eq!(token("option token 'x#y' # c").as_deref(), Some("x#y"));
        assert_eq!(
            token("option token 'two\nlines'").as_deref(),
            Some("two\nlines")
        );
        assert_eq!(token("option token 'a'\"b\"c").as_deref(), Some("abc"));
        assert_eq!(
            token("option token one; option pin 2").as_deref(),
            Some("one")
        );
    }

    #[test]
    fn bad_uci_is_an_error_not_a_panic() {
        assert!(parse_uci("config smsgw\n option rate_limit 'lots'\n").is_err());
        assert!(parse_uci("config smsgw\n option future_opt '1'\n").is_ok());
        assert_eq!(
            parse_uci("config smsgw\n option 'unterminated\n\u{0}\n list\n").unwrap_err(),
            ConfigError::Uci {
                line: 2,
                problem: "unterminated quote"
            }
        );
        assert!(parse_uci("\\").is_ok());
    }

    #[test]
    fn only_the_first_smsgw_section_counts() {
        let c = parse_uci("config smsgw a\n option spool /a\nconfig smsgw b\n option spool /b\n")
            .unwrap();
        assert_eq!(c.spool, "/a");
    }
}
