//! `serve` options from the command line: `--name VALUE`, `--name=VALUE`, `--flag`.
//!
//! Owns only the word splitting of argv; names, kinds and validation come from the option table
//! in `config`. Must not read files or the environment itself: the secret files the options name
//! are read by `ServeConfig::read_secret_files`, once every word is parsed.

use super::{ConfigError, Kind, ServeConfig, OPTIONS};

/// Parses `serve` arguments (after the subcommand word), then fills the secrets from the files
/// they name.
pub fn parse_serve(args: &[String]) -> Result<ServeConfig, ConfigError> {
    let mut cfg = ServeConfig::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let Some(opt) = arg.strip_prefix("--") else {
            return Err(ConfigError::UnexpectedArgument(arg.clone()));
        };
        let (name, inline) = match opt.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (opt, None),
        };
        let Some((index, spec)) = OPTIONS.iter().enumerate().find(|(_, o)| o.name == name) else {
            return Err(ConfigError::UnknownOption(name.to_string()));
        };
        let name = spec.name;
        let value = match (spec.kind, inline) {
            (Kind::Flag, Some(_)) => return Err(ConfigError::TakesNoValue(name)),
            (Kind::Flag, None) => "1",
            (_, Some(v)) => v,
            (_, None) => match it.next() {
                Some(v) => v.as_str(),
                None => return Err(ConfigError::NeedsValue(name)),
            },
        };
        cfg.set(index, value)?;
    }
    if crate::modem::serial_speed(cfg.baud).is_none() {
        return Err(ConfigError::BadBaud(cfg.baud));
    }
    cfg.read_secret_files()?;
    Ok(cfg)
}
