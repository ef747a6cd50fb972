//! `lyt-load` refuses bad input with a clear message and a failing exit status, before it
//! connects anywhere.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lyt-load"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_flags_and_files_are_refused_clearly() {
    let (ok, err) = run(&["run", "--msg-bytes", "1"]);
    assert!(!ok);
    assert!(err.contains("msg_bytes must be between"), "{err}");

    let (ok, err) = run(&["run", "--node", "ftp://x"]);
    assert!(!ok);
    assert!(err.contains("not an http:// base URL"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(&file, "chats = 3\nchatz = 4\n").unwrap();
    let (ok, err) = run(&["run", "--scenario", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("chatz"), "{err}");

    let (ok, err) = run(&["run", "--scenario", "/nonexistent/scenario.toml"]);
    assert!(!ok);
    assert!(!err.is_empty());

    let (ok, err) = run(&["run", "--kind", "tornado"]);
    assert!(!ok);
    assert!(err.contains("tornado"), "{err}");
}
