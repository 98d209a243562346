//! The event hook runner: `HOOK SENT|FAILED FILE` (smsd's eventhandler contract) from a bounded
//! queue on one thread, at most [`AT_ONCE`] hooks at a time, started in order; each hook runs in its
//! own process group, and the whole group is killed when it overruns its timeout.
//!
//! Owns the hook processes and their queue. It must not touch spool files (the hook gets a path)
//! and never blocks the sender: a full queue drops the newest event with a log line.

use crate::modem::spawn_named;
use std::collections::VecDeque;
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Hooks running at once.
pub const AT_ONCE: usize = 4;
/// Events waiting for a hook slot; more are dropped (and logged).
pub const MAX_WAITING: usize = 1000;
/// How often running hooks are checked.
const POLL: Duration = Duration::from_millis(50);

struct Job {
    event: &'static str,
    path: PathBuf,
}

#[derive(Default)]
struct Queue {
    jobs: Mutex<VecDeque<Job>>,
    ready: Condvar,
}

/// Starts hooks for the sender. Without a configured hook it does nothing.
pub struct HookRunner {
    hook: Option<String>,
    timeout: Duration,
    queue: Arc<Queue>,
    started: bool,
}

impl HookRunner {
    pub fn new(hook: Option<String>, timeout: Duration) -> HookRunner {
        HookRunner {
            hook,
            timeout,
            queue: Arc::default(),
            started: false,
        }
    }

    /// Queues `HOOK EVENT PATH`; the runner thread starts with the first event.
    pub fn run(&mut self, event: &'static str, path: &Path) {
        let Some(hook) = &self.hook else {
            return;
        };
        if !self.started {
            let (hook, timeout, queue) = (hook.clone(), self.timeout, self.queue.clone());
            match spawn_named("hook", Box::new(move || runner(&hook, timeout, &queue))) {
                Ok(()) => self.started = true,
                Err(e) => return eprintln!("smsgw: hook: cannot start its thread: {e}"),
            }
        }
        let Ok(mut jobs) = self.queue.jobs.lock() else {
            return;
        };
        if jobs.len() >= MAX_WAITING {
            return eprintln!(
                "smsgw: hook: {MAX_WAITING} events waiting, dropped {event} {}",
                path.display()
            );
        }
        jobs.push_back(Job {
            event,
            path: path.to_path_buf(),
        });
        self.queue.ready.notify_one();
    }
}

struct Running {
    pid: libc::pid_t,
    started: Instant,
    what: String,
}

/// The runner thread: starts queued hooks in order while fewer than [`AT_ONCE`] run, reaps them,
/// kills the process group of any that overruns `timeout`.
fn runner(hook: &str, timeout: Duration, queue: &Queue) {
    let mut running: Vec<Running> = Vec::new();
    loop {
        let next = {
            let Ok(mut jobs) = queue.jobs.lock() else {
                return;
            };
            if running.is_empty() && jobs.is_empty() {
                jobs = match queue.ready.wait_while(jobs, |j| j.is_empty()) {
                    Ok(j) => j,
                    Err(_) => return,
                };
            }
            if running.len() < AT_ONCE {
                jobs.pop_front()
            } else {
                None
            }
        };
        if let Some(job) = next {
            let what = format!("{hook} {} {}", job.event, job.path.display());
            match spawn_hook(hook, job.event, &job.path) {
                Ok(pid) => running.push(Running {
                    pid,
                    started: Instant::now(),
                    what,
                }),
                Err(e) => eprintln!("smsgw: hook {what}: cannot start: {e}"),
            }
            continue; // start as many as allowed before sleeping
        }
        // a plain loop: `retain` with this closure is another ~0.5 KB in the router binary
        let mut i = 0;
        while let Some(r) = running.get(i) {
            if finished(r, timeout) {
                running.swap_remove(i);
            } else {
                i += 1;
            }
        }
        std::thread::sleep(POLL);
    }
}

/// Reaps `r` if it ended; kills its process group if it overran. True when it is gone.
fn finished(r: &Running, timeout: Duration) -> bool {
    let mut st: libc::c_int = 0;
    // SAFETY: waits for our own child; `st` is a valid out pointer.
    let done = unsafe { libc::waitpid(r.pid, &mut st, libc::WNOHANG) };
    if done == r.pid {
        if !(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0) {
            eprintln!("smsgw: hook {}: exit status {st:#x}", r.what);
        }
        return true;
    }
    if done < 0 {
        eprintln!("smsgw: hook {}: {}", r.what, io::Error::last_os_error());
        return true;
    }
    if r.started.elapsed() < timeout {
        return false;
    }
    // SAFETY: the child leads its own process group (POSIX_SPAWN_SETPGROUP), not yet reaped, so
    // the group id is still ours to signal; then we reap the child.
    unsafe {
        if libc::kill(-r.pid, libc::SIGKILL) != 0 {
            libc::kill(r.pid, libc::SIGKILL);
        }
        libc::waitpid(r.pid, &mut st, 0);
    }
    eprintln!(
        "smsgw: hook {}: killed after {} s",
        r.what,
        timeout.as_secs()
    );
    true
}

extern "C" {
    static environ: *const *mut libc::c_char;
}

/// `posix_spawnp(HOOK, [HOOK, EVENT, FILE])` in a new process group, stdin on /dev/null, default
/// signal handling (std's `Command` costs tens of KB on the router for this one call).
fn spawn_hook(hook: &str, event: &str, path: &Path) -> io::Result<libc::pid_t> {
    let nul = |_| io::Error::from(io::ErrorKind::InvalidInput);
    let prog = CString::new(hook).map_err(nul)?;
    let ev = CString::new(event).map_err(nul)?;
    let file = CString::new(path.as_os_str().as_bytes()).map_err(nul)?;
    let argv = [
        prog.as_ptr() as *mut libc::c_char,
        ev.as_ptr() as *mut libc::c_char,
        file.as_ptr() as *mut libc::c_char,
        std::ptr::null_mut(),
    ];
    let mut pid: libc::pid_t = 0;
    // SAFETY: all pointers are valid NUL-terminated strings / a NULL-terminated argv that outlive
    // the call; the attribute and file-actions objects are initialised before use (each result
    // checked) and destroyed after.
    let r = unsafe {
        let mut actions: libc::posix_spawn_file_actions_t = std::mem::zeroed();
        let mut attr: libc::posix_spawnattr_t = std::mem::zeroed();
        let mut r = libc::posix_spawn_file_actions_init(&mut actions);
        if r == 0 {
            r = libc::posix_spawnattr_init(&mut attr);
            if r == 0 {
                r = libc::posix_spawn_file_actions_addopen(
                    &mut actions,
                    0,
                    c"/dev/null".as_ptr(),
                    libc::O_RDONLY,
                    0,
                );
                // No signal blocked (the daemon blocks its stop signals in every thread) and
                // SIGPIPE back to its default (Rust ignores it): a hook behaves as from a shell.
                let mut set: libc::sigset_t = std::mem::zeroed();
                if r == 0 && libc::sigemptyset(&mut set) != 0 {
                    r = libc::EINVAL;
                }
                if r == 0 {
                    r = libc::posix_spawnattr_setsigmask(&mut attr, &set);
                }
                if r == 0 && libc::sigaddset(&mut set, libc::SIGPIPE) != 0 {
                    r = libc::EINVAL;
                }
                if r == 0 {
                    r = libc::posix_spawnattr_setsigdefault(&mut attr, &set);
                }
                if r == 0 {
                    r = libc::posix_spawnattr_setflags(
                        &mut attr,
                        (libc::POSIX_SPAWN_SETPGROUP
                            | libc::POSIX_SPAWN_SETSIGMASK
                            | libc::POSIX_SPAWN_SETSIGDEF) as libc::c_short,
                    );
                }
                if r == 0 {
                    r = libc::posix_spawnattr_setpgroup(&mut attr, 0);
                }
                if r == 0 {
                    r = libc::posix_spawnp(
                        &mut pid,
                        prog.as_ptr(),
                        &actions,
                        &attr,
                        argv.as_ptr(),
                        environ,
                    );
                }
                libc::posix_spawnattr_destroy(&mut attr);
            }
            libc::posix_spawn_file_actions_destroy(&mut actions);
        }
        r
    };
    if r == 0 {
        Ok(pid)
    } else {
        Err(io::Error::from_raw_os_error(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The daemon blocks its stop signals in every thread and Rust ignores SIGPIPE: a hook (and
    /// what it starts, say `timeout 5 curl ...`) must still get the default signal handling.
    #[test]
    fn hooks_start_with_no_blocked_signals_and_sigpipe_default() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let out = dir.path().join("status");
        // SAFETY: a set initialised by sigemptyset; the test thread's own mask.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        // `cp /proc/self/status OUT`: the hook's own status, with no shell in between.
        let pid = spawn_hook("cp", "/proc/self/status", &out);
        let pid = pid.unwrap_or_else(|e| panic!("{e}"));
        let mut st = 0;
        // SAFETY: waits for the child just started.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let mask = |name: &str| {
            let line = text.lines().find(|l| l.starts_with(name));
            let hex = line.and_then(|l| l.split_whitespace().nth(1)).unwrap_or("");
            u64::from_str_radix(hex, 16).unwrap_or(u64::MAX)
        };
        assert_eq!(mask("SigBlk:"), 0, "{text}");
        assert_eq!(mask("SigIgn:") & 1 << (libc::SIGPIPE - 1), 0, "{text}");
    }
}
