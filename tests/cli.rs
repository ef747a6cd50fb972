//! The `lyt` binary as an operator uses it: `serve` in demo mode on port 0 prints its
//! addresses and DEMO credentials and stops cleanly on SIGTERM; a config file turns demo mode
//! off; bad configuration fails with a message that says what to set; secrets never print.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LYT: &str = env!("CARGO_BIN_EXE_lyt");

fn lyt(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(LYT);
    cmd.current_dir(dir)
        .env_remove("LYT_CONFIG")
        .env_remove("LYT_DEMO");
    cmd
}

/// `lyt serve` with no configuration runs the demo on the chosen ports, prints both
/// addresses and the DEMO accounts, answers health checks, and exits 0 on SIGTERM.
#[test]
fn serve_demo_prints_addresses_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = lyt(dir.path())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--internal",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let line = lines.next().unwrap().unwrap();
        let done =
            line.starts_with("=====") && out.iter().any(|l: &String| l.contains("DEMO MODE"));
        out.push(line);
        if done {
            break;
        }
    }
    let text = out.join("\n");
    let public = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("lyt listening on http://")?
                .strip_suffix(" (public)")
        })
        .expect("public address printed");
    let internal = text
        .lines()
        .find_map(|l| l.strip_prefix("lyt internal on http://")?.split(' ').next())
        .expect("internal address printed");
    assert!(
        !public.ends_with(":0") && !internal.ends_with(":0"),
        "{text}"
    );
    assert!(
        text.contains("DEMO counsellor maja") && text.contains("DEMO supervisor sofie"),
        "{text}"
    );
    assert!(dir.path().join("lyt-demo/org-root.key").exists());

    let health = std::net::TcpStream::connect(internal).map(|mut s| {
        use std::io::{Read as _, Write as _};
        s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        body
    });
    assert!(health.unwrap().ends_with("ok"));

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(code) = child.try_wait().unwrap() {
            assert!(code.success(), "{code:?}");
            break;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A config file turns demo mode off: `--print-config` shows the file's settings with
/// secrets redacted and no demo accounts; `--demo` turns it back on.
#[test]
fn config_file_turns_demo_off_and_secrets_are_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let hash = lyt::auth::hash_password("a long enough passphrase").unwrap();
    let config = format!(
        "listen = \"127.0.0.1:0\"\norg_root_pub = \"{}\"\n[[accounts]]\nusername = \"kim\"\nalias = \"Kim\"\nrole = \"counsellor\"\npassword_hash = \"{hash}\"\n",
        lyt::crypto::b64_encode(&[7; 32])
    );
    std::fs::write(dir.path().join("lyt.toml"), config).unwrap();
    let out = lyt(dir.path())
        .args(["serve", "--config", "lyt.toml", "--print-config"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert!(
        text.contains("username = \"kim\"") && text.contains("***"),
        "{text}"
    );
    assert!(
        !text.contains("argon2id") && !text.contains("maja"),
        "{text}"
    );
    let out = lyt(dir.path())
        .args(["serve", "--config", "lyt.toml", "--demo", "--print-config"])
        .output()
        .unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains("maja"));
}

/// Accounts without `org_root_pub`, and a malformed value, fail at start with a message
/// that names the setting; an unknown setting only warns.
#[test]
fn bad_configuration_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let hash = lyt::auth::hash_password("a long enough passphrase").unwrap();
    let account = format!(
        "[[accounts]]\nusername = \"kim\"\nalias = \"Kim\"\nrole = \"counsellor\"\npassword_hash = \"{hash}\"\n"
    );
    std::fs::write(
        dir.path().join("a.toml"),
        format!("listen = \"127.0.0.1:0\"\ninternal = \"127.0.0.1:0\"\n{account}"),
    )
    .unwrap();
    let out = lyt(dir.path())
        .args(["serve", "--config", "a.toml"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success());
    assert!(err.contains("org_root_pub"), "{err}");

    std::fs::write(dir.path().join("b.toml"), "listen = \"nowhere\"\n").unwrap();
    let out = lyt(dir.path())
        .args(["serve", "--config", "b.toml"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success() && err.contains("listen"), "{err}");
    assert!(!err.contains("backtrace"), "one clear line: {err}");

    std::fs::write(dir.path().join("c.toml"), "colour = \"red\"\n").unwrap();
    let out = lyt(dir.path())
        .args(["serve", "--config", "c.toml", "--print-config"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("unknown setting `colour`")
    );
}

/// `hash-password` prints an argon2id hash that verifies, and refuses short passwords.
#[test]
fn hash_password() {
    let dir = tempfile::tempdir().unwrap();
    let run = |pw: &str| {
        let mut child = lyt(dir.path())
            .args(["counsellor", "hash-password"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(pw.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run("correct horse battery staple\n");
    assert!(out.status.success());
    let hash = String::from_utf8(out.stdout).unwrap();
    assert!(hash.trim().starts_with("$argon2id$"), "{hash}");
    assert!(!run("short\n").status.success());
}

/// `ops/lyt.example.toml` is a real configuration: `serve --check` accepts it with no
/// warning (every key exists), and the checks are the start's own: a malformed org root or
/// an office certificate that does not verify fail with a message naming the setting.
#[test]
fn example_config_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/ops/lyt.example.toml");
    let out = lyt(dir.path())
        .args(["serve", "--config", example, "--check"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("configuration OK: 3 queue(s)") && stdout.contains("org root pinned"),
        "{stdout}"
    );
    assert!(
        !stderr.contains("WARN"),
        "the example has unknown keys: {stderr}"
    );
    assert!(
        !dir.path().join("lyt-demo").exists(),
        "--check is not demo mode"
    );

    let out = lyt(dir.path())
        .args(["serve", "--config", example, "--check"])
        .env("LYT_ORG_ROOT_PUB", "not-a-key")
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        !out.status.success() && err.contains("org_root_pub"),
        "{err}"
    );

    let out = lyt(dir.path())
        .args(["serve", "--config", example, "--check"])
        .env("LYT_OFFICES", r#"["AAAA"]"#)
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success() && err.contains("offices"), "{err}");
}

/// `lyt probe` is a visitor that chats end to end: against a demo relay, whose bot answers,
/// it verifies the counsellor's chain to the org root, exchanges encrypted messages and
/// leaves; pinned to another org root it refuses the counsellor and fails. `lyt health`
/// answers for the running node and fails once it stopped.
#[test]
fn probe_chats_end_to_end_with_the_demo_bot() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = lyt(dir.path())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--internal",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut public, mut root, mut internal) = (None, None, None);
    while public.is_none() || root.is_none() || internal.is_none() {
        let line = lines.next().unwrap().unwrap();
        if let Some(a) = line.strip_prefix("lyt internal on http://") {
            internal = a.split(' ').next().map(str::to_owned);
        }
        if let Some(a) = line
            .strip_prefix("lyt listening on http://")
            .and_then(|l| l.strip_suffix(" (public)"))
        {
            public = Some(a.to_owned());
        }
        if let Some(r) = line.strip_prefix("DEMO org root public key: ") {
            root = r.split(' ').next().map(str::to_owned);
        }
    }
    // Keep reading the server's output so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let server = format!("http://{}", public.unwrap());
    let probe = |root: &str| {
        lyt(dir.path())
            .args(["probe", "--server", &server, "--queue", "en/any"])
            .args(["--org-root", root, "--timeout-s", "30"])
            .output()
            .unwrap()
    };
    let out = probe(root.as_deref().unwrap());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("probe OK: chatted end to end with Ali"),
        "{stdout}"
    );
    let other = lyt::crypto::b64_encode(
        &lyt::crypto::IdentityKey::generate(&mut rand::rngs::OsRng).public(),
    );
    let out = probe(&other);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("end-to-end encryption failed"),
        "{err}"
    );
    // The container health check: ready while the node runs, failing once it is gone.
    let internal = internal.unwrap();
    let health = || {
        lyt(dir.path())
            .args(["health", "--url", &format!("http://{internal}/readyz")])
            .output()
            .unwrap()
    };
    let out = health();
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("ready"));
    child.kill().unwrap();
    child.wait().unwrap();
    let out = health();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not answer"));
}

/// `lyt serve` raises its soft limit of open files to the hard limit at start, and says so in
/// its log: started with a soft limit of 256, it runs with the hard one.
#[test]
fn serve_raises_the_open_files_limit() {
    let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
    let soft = hard.min(256);
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -Sn {soft} && exec \"$0\" serve --listen 127.0.0.1:0 --internal 127.0.0.1:0"
        ))
        .arg(LYT)
        .current_dir(dir.path())
        .env_remove("LYT_CONFIG")
        .env_remove("LYT_DEMO")
        .env("LYT_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let said = lines
        .map(Result::unwrap)
        .take(200)
        .find(|l| l.contains("open-files limit"));
    child.kill().unwrap();
    child.wait().unwrap();
    let said = said.expect("the limit is logged at start");
    if soft < hard {
        assert!(said.contains("raised"), "{said}");
        assert!(
            said.contains(&format!("from={soft}")) && said.contains(&format!("to={hard}")),
            "{said}"
        );
    } else {
        assert!(said.contains(&format!("limit={hard}")), "{said}");
    }
}
