use super::*;

fn args(s: &[&str]) -> Vec<String> {
    s.iter().map(|a| a.to_string()).collect()
}

#[test]
fn parses_values_flags_and_lists() {
    let c = parse_serve(&args(&[
        "--device",
        "sim",
        "--listen=127.0.0.1:9",
        "--no-auth",
        "--init",
        "AT^CURC=0",
        "--init",
        "AT+CSCS=\"GSM\"",
        "--baud",
        "9600",
    ]))
    .unwrap();
    assert_eq!(c.device, "sim");
    assert_eq!(c.listen, "127.0.0.1:9");
    assert!(c.no_auth);
    assert_eq!(c.init, vec!["AT^CURC=0", "AT+CSCS=\"GSM\""]);
    assert_eq!(c.baud, 9600);
}

#[test]
fn rejects_bad_input_with_a_message() {
    let err = |a: &[&str]| parse_serve(&args(a)).unwrap_err().to_string();
    assert!(err(&["--baud", "fast"]).contains("not a valid number"));
    assert!(err(&["--nope", "1"]).contains("unknown option"));
    assert!(err(&["--device"]).contains("needs a value"));
    assert!(err(&["stray"]).contains("unexpected argument"));
    assert!(err(&["--listen", "router.lan:80"]).contains("IP:PORT"));
    assert!(err(&["--no-auth=1"]).contains("takes no value"));
}

/// A speed termios does not know used to be accepted, and the daemon then waited for its device
/// forever without saying why.
#[test]
fn rejects_a_baud_rate_the_port_cannot_take() {
    let e = parse_serve(&args(&["--baud", "12345"])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--baud: 12345 is not a serial speed (e.g. 9600, 115200)"
    );
    assert!(parse_serve(&args(&["--baud", "921600"])).is_ok());
}

#[test]
fn socket_addresses_parse_without_dns() {
    assert_eq!(
        parse_socket_addr("localhost:8767").unwrap(),
        "127.0.0.1:8767".parse::<SocketAddr>().unwrap()
    );
    assert!(parse_socket_addr("[::1]:80").is_ok());
    assert!(parse_socket_addr("0.0.0.0").is_err());
}

#[test]
fn empty_values_mean_unset() {
    let c = parse_serve(&args(&["--pin", "", "--token", " "])).unwrap();
    assert_eq!(c.pin, None);
    assert_eq!(c.token, None);
}

#[test]
fn every_table_option_reaches_its_field() {
    // each option set on the command line changes the config: no table row without a slot
    let file = secret_file("every-option", "9\n");
    for o in &OPTIONS {
        let value = match o.name {
            "listen" => "127.0.0.1:1",
            "baud" => "9600",
            n if n.ends_with("-file") && n != "token-file" => &file,
            _ => "9",
        };
        let a = match o.kind {
            Kind::Flag => vec![["--", o.name].concat()],
            _ => vec![["--", o.name].concat(), value.to_string()],
        };
        let c = parse_serve(&a).unwrap();
        assert_ne!(
            format!("{c:?}"),
            format!("{:?}", ServeConfig::default()),
            "--{} changes nothing",
            o.name
        );
    }
    std::fs::remove_file(file).unwrap();
}

#[test]
fn table_defaults_are_the_real_defaults() {
    let mut a = Vec::new();
    for o in OPTIONS.iter().filter(|o| o.kind == Kind::Value) {
        a.push(["--", o.name].concat());
        a.push(o.default.to_string());
    }
    let c = parse_serve(&a).unwrap();
    assert_eq!(format!("{c:?}"), format!("{:?}", ServeConfig::default()));
}

#[test]
fn serve_help_lists_every_option() {
    let help = serve_help();
    for o in &OPTIONS {
        assert!(help.contains(&["--", o.name].concat()), "{}", o.name);
        assert!(help.contains(o.help));
    }
}

/// The option table of docs/options.md, generated from [`OPTIONS`].
fn options_markdown() -> String {
    let mut s =
        String::from("| Command line | UCI option | Default | Meaning |\n|---|---|---|---|\n");
    for o in &OPTIONS {
        let flag = match o.kind {
            Kind::Value => ["`--", o.name, " VALUE`"].concat(),
            Kind::List => ["`--", o.name, " VALUE` (repeatable)"].concat(),
            Kind::Flag => ["`--", o.name, "`"].concat(),
        };
        let uci = match o.kind {
            Kind::List => ["`list ", &uci_name(o.name), "`"].concat(),
            Kind::Flag => ["`option ", &uci_name(o.name), " '1'`"].concat(),
            Kind::Value => ["`option ", &uci_name(o.name), "`"].concat(),
        };
        let default = if o.default.is_empty() {
            "(unset)".to_string()
        } else {
            ["`", o.default, "`"].concat()
        };
        s.push_str(&format!("| {flag} | {uci} | {default} | {} |\n", o.help));
    }
    s
}

#[test]
fn docs_options_md_matches_the_option_table() {
    const BEGIN: &str = "<!-- options table: generated from src/config/mod.rs -->\n";
    const END: &str = "<!-- end of options table -->";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/options.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let (before, rest) = doc.split_once(BEGIN).expect("begin marker");
    let (table, after) = rest.split_once(END).expect("end marker");
    let want = options_markdown();
    if table != want {
        if std::env::var_os("SMSGW_UPDATE_DOCS").is_some() {
            std::fs::write(path, [before, BEGIN, &want, END, after].concat()).unwrap();
        } else {
            panic!("docs/options.md is stale: run SMSGW_UPDATE_DOCS=1 cargo test docs_options_md");
        }
    }
}

const INIT: &str = include_str!("../../openwrt-package/smsgw/files/smsgw.init");
const UCI_CONFIG: &str = include_str!("../../openwrt-package/smsgw/files/smsgw.config");

/// The words of `NAME="..."` in the init script.
fn init_list(name: &str) -> Vec<String> {
    let start = INIT.find(&[name, "=\""].concat()).expect(name) + name.len() + 2;
    let len = INIT[start..].find('"').unwrap();
    INIT[start..start + len]
        .split_whitespace()
        .map(String::from)
        .collect()
}

#[test]
fn init_script_passes_every_serve_option() {
    // the secrets go through 0600 files (smsgw_secret_file, passed as --NAME-file), never argv
    let (values, lists, flags) = (
        init_list("SMSGW_VALUE_OPTIONS"),
        init_list("SMSGW_LIST_OPTIONS"),
        init_list("SMSGW_FLAG_OPTIONS"),
    );
    let secrets = init_list("SMSGW_SECRET_OPTIONS");
    assert_eq!(secrets, ["token", "hilink_password", "forward_token"]);
    for o in OPTIONS
        .iter()
        .filter(|o| !secrets.contains(&uci_name(o.name)))
    {
        let uci = uci_name(o.name);
        let listed = match o.kind {
            Kind::Value => &values,
            Kind::List => &lists,
            Kind::Flag => &flags,
        };
        assert!(
            listed.contains(&uci),
            "init script does not pass option {uci}"
        );
    }
    let all = values.len() + lists.len() + flags.len();
    assert_eq!(
        all,
        OPTIONS.len() - secrets.len(),
        "init script passes options the table lacks"
    );
    for secret in &secrets {
        assert!(!values.contains(secret), "{secret} must not reach argv");
        // ... but its file option does, for the file the init script writes
        let file = [secret, "_file"].concat();
        assert!(values.contains(&file), "init script does not pass {file}");
    }
}

#[test]
fn every_option_in_the_shipped_config_is_known() {
    for (name, _) in uci::section_options(UCI_CONFIG).unwrap() {
        assert!(
            name == "enabled" || OPTIONS.iter().any(|o| uci_name(o.name) == name),
            "smsgw.config has unknown option {name}"
        );
    }
}

#[test]
fn uci_names_use_underscores_only() {
    assert!(is_uci_name("max-parts", "max_parts"));
    assert!(!is_uci_name("max-parts", "max-parts"));
    assert!(!is_uci_name("max-parts", "max_part"));
    assert!(is_uci_name("pin", "pin"));
}

/// What a secret file that cannot be used is refused with (after `--OPTION PATH: `).
const CANNOT: &str = "cannot be read or is empty";

/// A file under the system's temp directory holding `text`, unique per test.
fn secret_file(test: &str, text: &str) -> String {
    let path = std::env::temp_dir().join(format!("smsgw-{}-{test}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn secret_files_give_their_first_line_without_the_line_end() {
    let pw = secret_file("pw", "it's \"quoted\" $(x) ;\r\nsecond line\n");
    let tok = secret_file("tok", " spaced token \n");
    let blank = secret_file("blank", "  \r\nsecond\n");
    let c = parse_serve(&args(&[
        "--hilink-password-file",
        &pw,
        "--forward-token-file",
        &tok,
    ]))
    .unwrap();
    assert_eq!(c.hilink_password.as_deref(), Some("it's \"quoted\" $(x) ;"));
    assert_eq!(c.forward_token.as_deref(), Some(" spaced token "));
    // spaces are part of it: a line of spaces is a secret, not an empty file
    let c = parse_serve(&args(&["--forward-token-file", &blank])).unwrap();
    assert_eq!(c.forward_token.as_deref(), Some("  "));
    // no line end at all
    let bare = secret_file("bare", "pw");
    let c = parse_serve(&args(&["--hilink-password-file", &bare])).unwrap();
    assert_eq!(c.hilink_password.as_deref(), Some("pw"));
    for f in [pw, tok, blank, bare] {
        std::fs::remove_file(f).unwrap();
    }
}

#[test]
fn a_missing_or_empty_secret_file_is_one_line_naming_option_and_path() {
    let missing = std::env::temp_dir().join("smsgw-no-such-secret-file");
    let missing = missing.to_string_lossy();
    let err = parse_serve(&args(&["--forward-token-file", &missing]))
        .unwrap_err()
        .to_string();
    assert_eq!(err, format!("--forward-token-file {missing}: {CANNOT}"));
    for (test, text) in [("empty", ""), ("nl", "\n"), ("crlf", "\r\nsecond\n")] {
        let f = secret_file(test, text);
        let err = parse_serve(&args(&["--hilink-password-file", &f]))
            .unwrap_err()
            .to_string();
        assert_eq!(err, format!("--hilink-password-file {f}: {CANNOT}"));
        std::fs::remove_file(f).unwrap();
    }
    // a directory cannot be read either
    let dir = std::env::temp_dir();
    let dir = dir.to_string_lossy();
    let err = parse_serve(&args(&["--hilink-password-file", &dir]));
    assert_eq!(
        err.unwrap_err().to_string(),
        format!("--hilink-password-file {dir}: {CANNOT}")
    );
}

#[test]
fn a_secret_given_directly_wins_and_its_file_is_not_read() {
    let c = parse_serve(&args(&[
        "--hilink-password-file",
        "/nonexistent/pw",
        "--hilink-password",
        "direct",
        "--forward-token",
        "tok",
        "--forward-token-file=/nonexistent/tok",
    ]))
    .unwrap();
    assert_eq!(c.hilink_password.as_deref(), Some("direct"));
    assert_eq!(c.forward_token.as_deref(), Some("tok"));
}

#[test]
fn an_empty_secret_file_option_means_unset() {
    let c = parse_serve(&args(&[
        "--hilink-password-file",
        "",
        "--forward-token-file=",
    ]))
    .unwrap();
    assert_eq!(c.hilink_password, None);
    assert_eq!(c.forward_token, None);
}

#[test]
fn hook_help_names_every_event_the_hook_gets() {
    let hook = OPTIONS.iter().find(|o| o.name == "hook").unwrap();
    for event in ["SENT", "FAILED", "RECEIVED", "REPORT"] {
        assert!(hook.help.contains(event), "{event}: {}", hook.help);
    }
}
