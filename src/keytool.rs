//! The organisation's key tools, `lyt keys …` and `lyt cert …`: create the org root and
//! office keys, issue identity and office certificates, and show what a key or certificate
//! file holds (never a secret). The only part of the crypto stack that touches files.
//!
//! Certificate files are text: `#` comment lines and one line of base64url (no padding) of
//! the certificate bytes. Key files use the format of [`crate::crypto::encode_key_file`].

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use rand::RngCore as _;

use crate::crypto::{
    self, IdCert, IdentityKey, KeyKind, OfficeCert, OfficeKind, Role, ShiftCert, StaticKey,
    b64_decode, b64_encode, decode_key_file, encode_key_file, fingerprint,
};

/// Longest identity certificate, in days (PROTOCOL.md §1: at most a year).
pub const MAX_ID_DAYS: u64 = 365;
/// Longest office certificate, in days.
pub const MAX_OFFICE_DAYS: u64 = 3650;

/// `lyt keys …`: create secret key files.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum KeysCommand {
    /// Create the organisation's root signing key (Ed25519). Keep it offline.
    OrgInit {
        /// Where to write the secret key file (must not exist; written with mode 0600).
        #[arg(long)]
        out: PathBuf,
    },
    /// Create an office's or the phone desk's recipient key (X25519).
    OfficeInit {
        /// Where to write the secret key file (must not exist; written with mode 0600).
        #[arg(long)]
        out: PathBuf,
    },
}

/// The role given to a counsellor certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    /// Takes chats.
    Counsellor,
    /// Takes chats and sees aggregate dashboards.
    Supervisor,
}

/// The kind of an office certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OfficeKindArg {
    /// A brobygger office receiving referrals.
    Brobygger,
    /// The phone desk receiving callback requests.
    PhoneDesk,
}

/// `lyt cert …`: issue and inspect certificates.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CertCommand {
    /// Issue an identity certificate for a counsellor's Ed25519 public key.
    Counsellor {
        /// The org root secret key file.
        #[arg(long)]
        org_key: PathBuf,
        /// The alias shown to visitors (1..=64 bytes).
        #[arg(long)]
        alias: String,
        /// The counsellor identity public key, base64url.
        #[arg(long, allow_hyphen_values = true)]
        id_pub: String,
        /// Counsellor or supervisor.
        #[arg(long, value_enum, default_value = "counsellor")]
        role: RoleArg,
        /// Validity in days from now (1..=365).
        #[arg(long, default_value_t = 365)]
        days: u64,
        /// Serial number; random if not given.
        #[arg(long)]
        serial: Option<u64>,
        /// Where to write the certificate (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Issue an office certificate for an office's X25519 recipient public key.
    Office {
        /// The org root secret key file.
        #[arg(long)]
        org_key: PathBuf,
        /// Stable office id (1..=64 of `a-z A-Z 0-9 - _ .`).
        #[arg(long)]
        office_id: String,
        /// Display name (1..=128 bytes).
        #[arg(long)]
        name: String,
        /// Brobygger office or phone desk.
        #[arg(long, value_enum)]
        kind: OfficeKindArg,
        /// The office recipient public key, base64url.
        #[arg(long, allow_hyphen_values = true)]
        recipient_pub: String,
        /// Validity in days from now (1..=3650).
        #[arg(long, default_value_t = 730)]
        days: u64,
        /// Where to write the certificate (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Show a certificate or key file in human-readable form (never a secret).
    Show {
        /// The certificate or key file.
        file: PathBuf,
        /// The org root public key (base64url), to check the certificate's signature.
        #[arg(long, allow_hyphen_values = true)]
        org_pub: Option<String>,
    },
}

/// Runs `lyt keys …`, reporting to stdout.
pub fn run_keys(cmd: KeysCommand) -> anyhow::Result<()> {
    run_keys_to(cmd, &mut std::io::stdout().lock())
}

/// Runs `lyt cert …`, reporting to stdout.
pub fn run_cert(cmd: CertCommand) -> anyhow::Result<()> {
    run_cert_to(cmd, &mut std::io::stdout().lock())
}

/// Runs `lyt keys …`, reporting to `out`.
pub fn run_keys_to(cmd: KeysCommand, out: &mut impl Write) -> anyhow::Result<()> {
    let mut rng = rand::rngs::OsRng;
    let (path, kind, public) = match cmd {
        KeysCommand::OrgInit { out: path } => {
            let key = IdentityKey::generate(&mut rng);
            let file = encode_key_file(KeyKind::Ed25519Secret, &key.to_bytes());
            write_secret_file(&path, file.as_bytes())?;
            (path, "org root key (Ed25519)", key.public())
        }
        KeysCommand::OfficeInit { out: path } => {
            let key = StaticKey::generate(&mut rng);
            let file = encode_key_file(KeyKind::X25519Secret, &key.to_bytes());
            write_secret_file(&path, file.as_bytes())?;
            (path, "office recipient key (X25519)", key.public())
        }
    };
    writeln!(out, "wrote {kind} to {} (mode 0600)", path.display())?;
    writeln!(out, "public key:  {}", b64_encode(&public))?;
    writeln!(out, "fingerprint: {}", fingerprint(&public))?;
    Ok(())
}

/// Runs `lyt cert …`, reporting to `out`.
pub fn run_cert_to(cmd: CertCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match cmd {
        CertCommand::Counsellor {
            org_key,
            alias,
            id_pub,
            role,
            days,
            serial,
            out: path,
        } => {
            if !(1..=MAX_ID_DAYS).contains(&days) {
                bail!("--days must be between 1 and {MAX_ID_DAYS}");
            }
            let root = read_identity_key(&org_key)?;
            let id_pub = parse_public(&id_pub, "--id-pub")?;
            let role = match role {
                RoleArg::Counsellor => Role::Counsellor,
                RoleArg::Supervisor => Role::Supervisor,
            };
            let now = now_unix()?;
            let serial = serial.unwrap_or_else(|| rand::rngs::OsRng.next_u64());
            let cert = crypto::issue_id_cert(
                &root,
                role,
                &alias,
                &id_pub,
                now,
                now + days * 86_400,
                serial,
            )
            .context("cannot issue the identity certificate")?;
            write_cert(&path, &format!("identity certificate for {alias}"), &cert)?;
            writeln!(out, "wrote identity certificate to {}", path.display())?;
            show_cert(&cert, Some(&root.public()), out)
        }
        CertCommand::Office {
            org_key,
            office_id,
            name,
            kind,
            recipient_pub,
            days,
            out: path,
        } => {
            if !(1..=MAX_OFFICE_DAYS).contains(&days) {
                bail!("--days must be between 1 and {MAX_OFFICE_DAYS}");
            }
            let root = read_identity_key(&org_key)?;
            let recipient = parse_public(&recipient_pub, "--recipient-pub")?;
            let kind = match kind {
                OfficeKindArg::Brobygger => OfficeKind::Brobygger,
                OfficeKindArg::PhoneDesk => OfficeKind::PhoneDesk,
            };
            let now = now_unix()?;
            let cert = crypto::issue_office_cert(
                &root,
                kind,
                &office_id,
                &name,
                &recipient,
                now,
                now + days * 86_400,
            )
            .context("cannot issue the office certificate")?;
            write_cert(&path, &format!("office certificate for {office_id}"), &cert)?;
            writeln!(out, "wrote office certificate to {}", path.display())?;
            show_cert(&cert, Some(&root.public()), out)
        }
        CertCommand::Show { file, org_pub } => {
            let org_pub = org_pub.map(|p| parse_public(&p, "--org-pub")).transpose()?;
            show_file(&file, org_pub.as_ref(), out)
        }
    }
}

/// Creates `path` (refusing to overwrite) with mode 0600 on unix, and writes `contents`.
pub fn write_secret_file(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes a certificate file: a `# lyt {comment}` line and the base64url certificate.
/// Refuses to overwrite.
pub fn write_cert(path: &Path, comment: &str, cert: &[u8]) -> anyhow::Result<()> {
    let text = format!("# lyt {comment}\n{}\n", b64_encode(cert));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Reads the certificate bytes of a certificate file written by [`write_cert`].
pub fn read_cert(path: &Path) -> anyhow::Result<Vec<u8>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .with_context(|| format!("{} holds no certificate", path.display()))?;
    b64_decode(line, "certificate")
        .with_context(|| format!("{} is not a certificate file", path.display()))
}

/// Reads an Ed25519 secret key file (org root or identity key).
pub fn read_identity_key(path: &Path) -> anyhow::Result<IdentityKey> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?,
    );
    let seed = decode_key_file(&text, KeyKind::Ed25519Secret)
        .with_context(|| format!("{} is not an Ed25519 secret key file", path.display()))?;
    Ok(IdentityKey::from_bytes(&seed))
}

fn parse_public(text: &str, what: &'static str) -> anyhow::Result<[u8; 32]> {
    let bytes = b64_decode(text.trim(), what)?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        anyhow::anyhow!(
            "{what}: a public key is 32 bytes, this is {} bytes",
            bytes.len()
        )
    })
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> anyhow::Result<u64> {
    Ok(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("system clock before 1970")?
        .as_secs())
}

/// Shows a key file (kind, public key, fingerprint) or a certificate file.
fn show_file(path: &Path, org_pub: Option<&[u8; 32]>, out: &mut impl Write) -> anyhow::Result<()> {
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
    );
    let text = std::str::from_utf8(&bytes).ok();
    let data_line = text.and_then(|t| {
        t.lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
    });
    if let (Some(text), Some(line)) = (text, data_line) {
        for (kind, name) in [
            (KeyKind::Ed25519Secret, "Ed25519 secret key"),
            (KeyKind::X25519Secret, "X25519 secret key"),
        ] {
            if line.starts_with(&format!("{}:", kind.label())) {
                let secret = decode_key_file(text, kind)
                    .with_context(|| format!("{} is a damaged key file", path.display()))?;
                let public = match kind {
                    KeyKind::Ed25519Secret => IdentityKey::from_bytes(&secret).public(),
                    KeyKind::X25519Secret => StaticKey::from_bytes(&secret).public(),
                };
                writeln!(out, "key file: {name} ({})", kind.label())?;
                writeln!(out, "  public key:  {}", b64_encode(&public))?;
                writeln!(out, "  fingerprint: {}", fingerprint(&public))?;
                return Ok(());
            }
        }
        let cert = b64_decode(line, "certificate file").with_context(|| {
            format!(
                "{} is neither a lyt key file nor a certificate file",
                path.display()
            )
        })?;
        return show_cert(&cert, org_pub, out);
    }
    show_cert(&bytes, org_pub, out)
}

fn show_key(out: &mut impl Write, label: &str, key: &[u8; 32]) -> std::io::Result<()> {
    writeln!(
        out,
        "  {label:<13} {} ({})",
        b64_encode(key),
        fingerprint(key)
    )
}

fn show_window(out: &mut impl Write, not_before: u64, not_after: u64) -> std::io::Result<()> {
    writeln!(out, "  valid from:   {}", utc(not_before))?;
    writeln!(out, "  valid until:  {}", utc(not_after))
}

/// Shows a certificate; checks its signature when the org root is given (identity and
/// office certificates).
fn show_cert(cert: &[u8], org_pub: Option<&[u8; 32]>, out: &mut impl Write) -> anyhow::Result<()> {
    let signature = |ok: crypto::Result<()>| match (org_pub, ok) {
        (None, _) => "not checked (pass --org-pub to check)".to_owned(),
        (Some(_), Ok(())) => "valid (org root)".to_owned(),
        (Some(_), Err(e)) => format!("INVALID: {e}"),
    };
    if let Ok(c) = IdCert::parse(cert) {
        let check = org_pub.map_or(Ok(()), |root| IdCert::verify(cert, root).map(|_| ()));
        writeln!(out, "identity certificate (lyt-id/1)")?;
        writeln!(out, "  alias:        {}", c.alias)?;
        let role = match c.role {
            Role::Counsellor => "counsellor",
            Role::Supervisor => "supervisor",
        };
        writeln!(out, "  role:         {role}")?;
        show_key(out, "identity key:", &c.id_pub)?;
        show_window(out, c.not_before, c.not_after)?;
        writeln!(out, "  serial:       {}", c.serial)?;
        writeln!(out, "  signature:    {}", signature(check))?;
    } else if let Ok(c) = OfficeCert::parse(cert) {
        let check = org_pub.map_or(Ok(()), |root| OfficeCert::verify(cert, root).map(|_| ()));
        writeln!(out, "office certificate (lyt-office/1)")?;
        writeln!(out, "  office id:    {}", c.office_id)?;
        writeln!(out, "  name:         {}", c.display_name)?;
        let kind = match c.kind {
            OfficeKind::Brobygger => "brobygger office",
            OfficeKind::PhoneDesk => "phone desk",
        };
        writeln!(out, "  kind:         {kind}")?;
        show_key(out, "recipient key:", &c.recipient_pub)?;
        show_window(out, c.not_before, c.not_after)?;
        writeln!(out, "  signature:    {}", signature(check))?;
    } else if let Ok(c) = ShiftCert::parse(cert) {
        writeln!(out, "shift certificate (lyt-shift/1)")?;
        show_key(out, "shift key:", &c.shift_pub)?;
        show_window(out, c.not_before, c.not_after)?;
        writeln!(out, "  serial:       {}", c.serial)?;
        writeln!(
            out,
            "  signature:    not checked (signed by a counsellor identity key)"
        )?;
    } else {
        let err = IdCert::parse(cert)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        bail!("not a lyt certificate ({err})");
    }
    Ok(())
}

/// Formats Unix seconds as `YYYY-MM-DD HH:MM:SS UTC` (proleptic Gregorian calendar).
fn utc(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Howard Hinnant's civil_from_days, shifted so eras start on 0000-03-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// UTC formatting matches known dates, including a leap day.
    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_800_000_000), "2027-01-15 08:00:00 UTC");
    }
}
