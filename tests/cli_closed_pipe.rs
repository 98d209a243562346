//! Command output to a closed pipe (`smsgw at ... | head -1`): the router build aborts on
//! panic, so every output path must survive EPIPE.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a finding

use std::fs::File;
use std::os::unix::io::FromRawFd;
use std::process::{Command, Stdio};

/// A pipe whose read end is already closed: every write to it fails with EPIPE.
fn closed_pipe() -> File {
    let mut fds = [0i32; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe(2) to fill.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just created by pipe(2) and are owned here only.
    unsafe {
        libc::close(fds[0]);
        File::from_raw_fd(fds[1])
    }
}

fn run_into_closed_pipe(args: &[&str], closed_stderr_too: bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_smsgw"))
        .args(args)
        .env("SMSGW_CONFIG", "/nonexistent/smsgw")
        .stdin(Stdio::null())
        .stdout(closed_pipe())
        .stderr(if closed_stderr_too {
            Stdio::from(closed_pipe())
        } else {
            Stdio::piped()
        })
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code().is_some_and(|c| c != 101),
        "smsgw {args:?} died on a closed pipe: {:?} {stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn commands_piped_into_head_do_not_abort() {
    for both in [false, true] {
        run_into_closed_pipe(&["at", "--device", "sim", "AT", "ATI"], both);
        run_into_closed_pipe(&["status", "--listen", "127.0.0.1:1"], both);
        run_into_closed_pipe(&["encode", "hello"], both);
        run_into_closed_pipe(&["decode", "0001000B911032547698F0000003C8340B"], both);
        run_into_closed_pipe(&["serve", "--help"], both);
        run_into_closed_pipe(&["--version"], both);
        run_into_closed_pipe(&["nonsense"], both);
    }
    // stdout only: the modem thread's own log lines are the modem module's
    run_into_closed_pipe(&["send", "--device", "sim", "+491701234567", "hi"], false);
}
