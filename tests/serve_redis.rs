//! `lyt serve --redis` as an operator sees it: the URL (which may hold a password) is never
//! printed; a node starts while Redis is away and says it is not ready (`/readyz` 503) until
//! it can reach the shared state; a malformed URL fails at start with a clear message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LYT: &str = env!("CARGO_BIN_EXE_lyt");

fn serve(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(LYT);
    cmd.current_dir(dir)
        .env_remove("LYT_CONFIG")
        .env_remove("LYT_DEMO")
        .env_remove("LYT_REDIS__URL")
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--internal",
            "127.0.0.1:0",
            "--no-demo-bot",
        ]);
    cmd
}

fn get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

/// A node whose Redis is unreachable starts, never prints the URL, and is not ready.
#[test]
fn unreachable_redis_is_not_ready_and_the_url_never_prints() {
    let url = "redis://:hunter2-secret@127.0.0.1:1";
    let dir = tempfile::tempdir().unwrap();
    let mut child = serve(dir.path())
        .env("LYT_REDIS__URL", url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = Vec::new();
    let internal = loop {
        let line = lines.next().unwrap().unwrap();
        out.push(line.clone());
        if let Some(a) = line
            .strip_prefix("lyt internal on http://")
            .and_then(|l| l.split(' ').next())
        {
            break a.to_owned();
        }
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ready = get(&internal, "/readyz");
        if ready.contains("503") {
            assert!(ready.contains("shared state unreachable"), "{ready}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never reported not ready: {ready}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        get(&internal, "/healthz").ends_with("ok"),
        "alive all the same"
    );
    child.kill().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    child.wait().unwrap();
    let text = format!("{}\n{err}", out.join("\n"));
    assert!(
        !text.contains("hunter2"),
        "the URL's password printed: {text}"
    );

    // The printed configuration redacts it too.
    let printed = serve(dir.path())
        .args(["--redis", url, "--print-config"])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&printed.stdout);
    assert!(printed.contains("[redis]"), "{printed}");
    assert!(!printed.contains("hunter2"), "{printed}");
}

/// A URL that is not a Redis URL stops the start with a message that says what to fix.
#[test]
fn a_malformed_url_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = serve(dir.path())
        .args(["--redis", "http://secret-host:6379"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("redis://"), "{text}");
    assert!(!text.contains("secret-host"), "{text}");
    assert!(!text.contains("listening"), "{text}");
}
