#!/usr/bin/env bash
# The whole test suite, as CI runs it: the web widget (type-check, unit tests, build), Rust
# formatting, lints and every test, then the browser tests against the real `lyt` binary.
# Installs what it needs on a fresh Debian machine with the Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

# System packages the suite needs, installed only when missing (apt-get needs root).
need_packages=()
command -v cc >/dev/null || need_packages+=(build-essential)
command -v npm >/dev/null || need_packages+=(nodejs npm)
# The Redis backend's tests start their own redis-server on a free port; they never skip.
command -v redis-server >/dev/null || need_packages+=(redis-server)
if [ -d web-widget/browser ] && [ ! -x /usr/bin/chromium ]; then
  need_packages+=(chromium)
fi
if ((${#need_packages[@]})); then
  say "installing ${need_packages[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_packages[@]}"
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt

say "web-widget: install, strict type-check, unit tests (crypto vectors, Wycheproof, UI logic)"
# `npm ci` first. The package registry reachable from these machines serves only this
# platform's optional binaries (rollup's for other platforms answer 404), so a lock written
# here lacks them and `npm ci` refuses it; only in that case, install the same locked
# versions with `npm install`, which tolerates absent optional packages.
(
  cd web-widget
  if ! npm ci --no-audit --no-fund --loglevel=error 2>ci-err.log; then
    if grep -q 'Missing: @rollup/rollup-' ci-err.log; then
      echo "npm ci: lock lacks other platforms' optional rollup binaries; using npm install with the same lock"
      npm install --no-audit --no-fund --loglevel=error
    else
      cat ci-err.log >&2
      exit 1
    fi
  fi
  rm -f ci-err.log
  npm run check
)

if grep -q '"build"' web-widget/package.json; then
  say "web-widget: the committed dist/ is what the sources build"
  (cd web-widget && npm run build)
  git diff --exit-code --stat -- web-widget/dist || {
    echo "web-widget/dist is stale: run 'npm run build' in web-widget and commit dist/" >&2
    exit 1
  }
fi

say "cargo fmt --check"
cargo fmt --all -- --check

say "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

# --- dependency policy (issue #9; deny.toml, docs/security.md "Dependencies") -----------------
# Licences, bans and sources need no network beyond crates.io. Advisories (the RustSec
# database on GitHub) and `npm audit` are run where the network allows: see docs/security.md.
# cargo-deny is built once when missing (about 3 CPU-minutes; 6 min wall on a busy 2-core box).
say "cargo deny check licenses bans sources"
command -v cargo-deny >/dev/null || cargo install --locked cargo-deny@0.20.2
cargo deny check licenses bans sources
# Advisories: run wherever the RustSec database and the registry's audit endpoint answer,
# and then findings fail the run; where they cannot be reached (these build machines:
# github.com does not resolve, the registry answers 405), say so and go on.
if timeout 15 git ls-remote https://github.com/rustsec/advisory-db HEAD >/dev/null 2>&1; then
  say "cargo deny check advisories"
  cargo deny check advisories
else
  echo "cargo deny check advisories: the RustSec database is unreachable from here; skipped (docs/security.md)"
fi
(
  cd web-widget
  if npm audit --omit=dev --audit-level=moderate >npm-audit.log 2>&1; then
    echo "npm audit: no findings"
  elif grep -q 'audit endpoint returned an error' npm-audit.log; then
    echo "npm audit: the registry has no audit endpoint here; skipped (docs/security.md)"
  else
    cat npm-audit.log >&2
    rm -f npm-audit.log
    exit 1
  fi
  rm -f npm-audit.log
)
# --- end dependency policy -------------------------------------------------------------------

say "cargo test"
cargo test --all-targets --locked

if [ -d web-widget/browser ]; then
  say "browser tests: the widget in Chromium against a real lyt serve"
  cargo build --locked --bin lyt
  target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
  (cd web-widget && LYT_BIN="$target_dir/debug/lyt" npm run test:browser)
fi

# --- ops (#11): each deployment file checked by its own tool (ops/validate.sh installs
# them), then one node from the example config with a bot and a probe chat, and three
# nodes on a redis-server from ops/redis.conf with the chat across nodes (ops/smoke.sh).
say "ops: validate the deployment files, smoke-test one node and three on Redis"
cargo build --locked --bin lyt
ops_lyt="${CARGO_TARGET_DIR:-$PWD/target}/debug/lyt"
LYT_BIN="$ops_lyt" ./ops/validate.sh
LYT_BIN="$ops_lyt" ./ops/smoke.sh
LYT_BIN="$ops_lyt" ./ops/smoke.sh --nodes 3
