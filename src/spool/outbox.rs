//! The outbox as `GET /messages` shows it: each message's state and fields, read from wherever
//! it is in the spool (`outgoing/` queued, `sending/`, `sent/` with its delivery record,
//! `failed/`).
//!
//! Owns finding a message by id and listing the newest ones; it only reads files and must not
//! change the spool. Rendering (JSON) is HTTP's.

use super::format::{self, SpoolFile};
use super::{FAILED, OUTGOING, SENDING, SENT};
use crate::delivery::{record, MessageState, SentMessage};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::UNIX_EPOCH;

/// The spool directories of outgoing messages and the state a file there has (a `sent/` file's
/// own record may say more: delivered or failed by report).
const BOXES: [(&str, MessageState); 4] = [
    (OUTGOING, MessageState::Queued),
    (SENDING, MessageState::Sending),
    (SENT, MessageState::Sent),
    (FAILED, MessageState::Failed),
];

/// One outgoing message as the API shows it.
#[derive(Clone, Debug)]
pub struct OutboxEntry {
    pub id: String,
    pub state: MessageState,
    /// Destination as in `To:` (`+49…` or national digits).
    pub to: String,
    pub text: String,
    /// The file's headers (times, `Fail_reason`, …).
    pub file: SpoolFile,
    /// The parts and their reports, once some part went out.
    pub record: Option<SentMessage>,
    /// Modification time of the file (seconds since the epoch).
    pub mtime: u64,
}

/// Whether `id` can name a spool file: no path, no dot file, no lock or temporary file.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && !id.starts_with('.')
        && !id.ends_with(".LOCK")
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The outgoing message `id`, wherever it is.
pub fn find(root: &Path, id: &str) -> Option<OutboxEntry> {
    if !valid_id(id) {
        return None;
    }
    BOXES
        .iter()
        .find_map(|(dir, state)| entry(&root.join(dir).join(id), id, *state))
}

/// The newest `limit` outgoing messages (by file time), newest first.
pub fn list(root: &Path, limit: usize) -> Vec<OutboxEntry> {
    let mut all: Vec<(u64, String, usize)> = Vec::new();
    for (b, (dir, _)) in BOXES.iter().enumerate() {
        for e in &super::queue::entries(&root.join(dir)) {
            let name = e.file_name();
            let Some(id) = name.to_str().filter(|n| valid_id(n)) else {
                continue;
            };
            if !e.file_type().is_ok_and(|t| t.is_file()) || name.as_bytes().starts_with(b".") {
                continue;
            }
            all.push((mtime(&e.path()), id.to_string(), b));
        }
    }
    super::queue::sort_newest_first(&mut all);
    let mut out = Vec::new();
    for (_, id, b) in all.iter().take(limit) {
        if let Some((dir, state)) = BOXES.get(*b) {
            out.extend(entry(&root.join(dir).join(id), id, *state));
        }
    }
    out
}

/// A file's modification time in seconds since the epoch (0 when unknown).
fn mtime(path: &Path) -> u64 {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

fn entry(path: &Path, id: &str, state: MessageState) -> Option<OutboxEntry> {
    let file = super::deliveries::read_small(path)?;
    let (to, text) = match format::message_of(&file) {
        Ok(m) => (m.to, m.text),
        Err(_) => (
            file.header("To").unwrap_or("").to_string(),
            String::from_utf8_lossy(&file.body).into_owned(),
        ),
    };
    let record = record::read(id, &file);
    let state = match (state, &record) {
        (MessageState::Sent, Some(r)) => match r.state() {
            MessageState::Delivered => MessageState::Delivered,
            MessageState::Failed => MessageState::Failed,
            _ => MessageState::Sent,
        },
        _ => state,
    };
    Some(OutboxEntry {
        id: id.to_string(),
        state,
        to,
        text,
        file,
        record,
        mtime: mtime(path),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(tag: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("smsgw-outbox-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        for (d, _) in BOXES {
            fs::create_dir_all(p.join(d)).unwrap();
        }
        p
    }

    fn put(root: &Path, dir: &str, id: &str, text: &str, mtime: u64) {
        let path = root.join(dir).join(id);
        fs::write(&path, text).unwrap();
        let t = UNIX_EPOCH + std::time::Duration::from_secs(mtime);
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }

    #[test]
    fn a_message_has_the_state_of_where_it_is_and_of_its_record() {
        let r = root("find");
        put(&r, OUTGOING, "q", "To: +4930123456\n\nqueued", 1);
        put(
            &r,
            SENDING,
            "s",
            "To: +4930123456\nMessage_id: 4\nParts: 2\n\nsending",
            2,
        );
        put(
            &r,
            SENT,
            "plain",
            "To: +4930123456\nMessage_id: 5\n\nsent",
            3,
        );
        put(
            &r,
            SENT,
            "ok",
            "To: +4930123456\nReport: yes\nPart_1: ref=6 sent=1 status=0 at=9 scts=a dt=b report=r\n\nhi",
            4,
        );
        put(
            &r,
            SENT,
            "bad",
            "To: +4930123456\nReport: yes\nPart_1: ref=7 sent=1 status=70 at=9\n\nhi",
            5,
        );
        put(&r, FAILED, "f", "To: +4930123456\nFail_reason: x\n\nno", 6);
        let state = |id| find(&r, id).map(|e| e.state);
        assert_eq!(state("q"), Some(MessageState::Queued));
        assert_eq!(state("s"), Some(MessageState::Sending));
        assert_eq!(state("plain"), Some(MessageState::Sent));
        assert_eq!(state("ok"), Some(MessageState::Delivered));
        assert_eq!(state("bad"), Some(MessageState::Failed));
        assert_eq!(state("f"), Some(MessageState::Failed));
        assert_eq!(state("nope"), None);
        let ok = find(&r, "ok").unwrap();
        assert_eq!((ok.to.as_str(), ok.text.as_str()), ("+4930123456", "hi"));
        assert_eq!(ok.record.unwrap().parts[0].reference, 6);
        // newest first, limited
        let ids: Vec<String> = list(&r, 3).into_iter().map(|e| e.id).collect();
        assert_eq!(ids, ["f", "bad", "ok"]);
        let _ = fs::remove_dir_all(&r);
    }

    #[test]
    fn ids_that_are_paths_or_hidden_files_are_refused() {
        for bad in [
            "",
            "../x",
            "a/b",
            ".smsgw-part-x",
            "x.LOCK",
            "a b",
            "%2e%2e",
        ] {
            assert!(!valid_id(bad), "{bad}");
        }
        assert!(valid_id("smsgw-1795907400-4c1d9e0b7a2f3e61"));
        let r = root("ids");
        put(&r, SENT, "x", "To: 1\n\n", 1);
        assert!(find(&r, "../sent/x").is_none());
        let _ = fs::remove_dir_all(&r);
    }
}
