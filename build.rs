//! Embeds the built browser assets (`web-widget/dist/`) into the binary, so `lyt serve`
//! serves the widget without a separate web server. The built files are committed; when the
//! directory is missing (a checkout without them), the table is empty and lyt answers 503
//! with instructions for `/widget/…`.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("web-widget")
        .join("dist");
    println!("cargo::rerun-if-changed={}", dist.display());
    let mut table = String::from(
        "/// The built browser assets: (file name, contents).\npub static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    if let Ok(entries) = std::fs::read_dir(&dist) {
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .collect();
        files.sort_by_key(|e| e.file_name());
        for entry in files {
            let name = entry.file_name().to_string_lossy().into_owned();
            println!("cargo::rerun-if-changed={}", entry.path().display());
            let _ = writeln!(
                table,
                "    ({name:?}, include_bytes!({:?})),",
                entry.path().display().to_string()
            );
        }
    }
    table.push_str("];\n");
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("web_assets.rs");
    std::fs::write(out, table).expect("OUT_DIR is writable");
}
