//! The daemon against the simulated stick on a pseudo-terminal: the helpers the receiving and the
//! delivery-report end-to-end tests share. The including test crate declares `http_support` and
//! `modem_sim` at its root.
#![allow(dead_code)]

use crate::http_support::{temp_dir, Server};
use crate::modem_sim::sim_storage::StoreOptions;
use crate::modem_sim::{ModemSim, SimOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Polls `pred` every 50 ms until it holds; fails the test after `timeout`.
pub fn wait(what: &str, timeout: Duration, mut pred: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !pred() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A noisy E3372 with `store` behind a symlink `…/name/ttyUSB0`.
pub fn stick(name: &str, store: StoreOptions) -> (ModemSim, PathBuf) {
    let link = temp_dir(name).join("ttyUSB0");
    let opts = SimOptions {
        noise: true,
        store,
        ..SimOptions::default()
    };
    (ModemSim::start(&link, opts, None).expect("pty"), link)
}

/// `smsgw serve` on that stick, polling every 3 s, with `extra` options.
pub fn serve(link: &Path, extra: &[&str]) -> Server {
    let mut args = vec![
        "--device",
        link.to_str().expect("utf-8"),
        "--poll-interval",
        "3",
    ];
    args.extend_from_slice(extra);
    Server::start(&args)
}
