//! `lyt serve --redis` is refused with a clear message until the relay runs on the shared
//! store, so a node never silently runs alone when asked to share state; the URL (which may
//! hold a password) is never printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

const LYT: &str = env!("CARGO_BIN_EXE_lyt");

fn serve_output(configure: impl FnOnce(&mut Command)) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(LYT);
    cmd.current_dir(dir.path())
        .env_remove("LYT_CONFIG")
        .env_remove("LYT_DEMO")
        .env_remove("LYT_REDIS__URL")
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--internal",
            "127.0.0.1:0",
        ]);
    configure(&mut cmd);
    cmd.output().unwrap()
}

/// The flag and the environment variable both refuse to start, saying why and what to do.
#[test]
fn redis_is_refused_clearly_without_printing_the_url() {
    let url = "redis://:hunter2-secret@127.0.0.1:1";
    for out in [
        serve_output(|c| {
            c.args(["--redis", url]);
        }),
        serve_output(|c| {
            c.env("LYT_REDIS__URL", url);
        }),
    ] {
        assert!(!out.status.success());
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("not available"), "{text}");
        assert!(text.contains("in-memory"), "{text}");
        assert!(
            !text.contains("hunter2"),
            "the URL's password printed: {text}"
        );
        assert!(!text.contains("listening"), "{text}");
    }
}
