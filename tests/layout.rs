//! The codebase's layout rule: each file in `src/` has one job, and no file holds more than 500
//! lines of code before its unit tests (blank lines and comments do not count; `tests.rs` files
//! are all tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a finding

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Lines of code before the first `#[cfg(test)]`.
fn code_lines(text: &str) -> usize {
    text.lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .filter(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with("//")
        })
        .count()
}

#[test]
fn no_source_file_holds_more_than_500_lines_of_code_before_its_tests() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 50, "src/ not found");
    let too_long: Vec<String> = files
        .iter()
        .filter(|p| !p.to_string_lossy().ends_with("tests.rs"))
        .filter_map(|p| {
            let n = code_lines(&std::fs::read_to_string(p).unwrap());
            (n > 500).then(|| format!("{}: {n}", p.display()))
        })
        .collect();
    assert!(too_long.is_empty(), "split these files: {too_long:?}");
}

#[test]
fn the_counter_skips_comments_blank_lines_and_tests() {
    let text = "//! doc\nfn a() {}\n\n    // note\nfn b() {}\n#[cfg(test)]\nmod tests {}\n";
    assert_eq!(code_lines(text), 2);
}
