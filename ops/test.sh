#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, then every test (unit, integration,
# crypto vectors). Installs what it needs on a fresh Debian machine with the Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

# System packages the suite needs, installed only when missing (apt-get needs root).
need_packages=()
command -v cc >/dev/null || need_packages+=(build-essential)
command -v npm >/dev/null || need_packages+=(nodejs npm)
if ((${#need_packages[@]})); then
  say "installing ${need_packages[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_packages[@]}"
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt

say "web-widget: npm ci, strict type-check, unit tests (crypto vectors, Wycheproof)"
(cd web-widget && npm ci --no-audit --no-fund --loglevel=error && npm run check)

say "cargo fmt --check"
cargo fmt --all -- --check

say "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

say "cargo test"
cargo test --all-targets --locked
