#!/usr/bin/env bash
# Smoke test of a deployment as the ops files describe it, on loopback only:
#   1. `lyt serve --check` accepts ops/lyt.example.toml;
#   2. a node starts from it (demo keys and accounts so that a bot can log in, open around
#      the clock so the result does not depend on the hour, everything else as in the file);
#   3. a bot counsellor (`lyt counsellor bot`) goes on duty, and a synthetic visitor
#      (`lyt probe`) chats with it end to end: certificate chain, handshake, encrypted
#      messages both ways;
#   4. the widget loader is served byte for byte as its SRI hash says;
#   5. when nginx is installed: the same node behind ops/nginx/ (TLS with a throwaway
#      certificate, WebSocket upgrade through the proxy) and its access log names no client;
#   6. as root: a node as in the container image (read-only root filesystem, uid 65532,
#      only the data directory writable) starts, is ready, and stops cleanly;
#   7. the node stops cleanly on SIGTERM.
#
# Usage: ops/smoke.sh [--nodes N [--redis URL]]   (LYT_BIN: the lyt binary; built when unset)
# With N > 1 the nodes share state in Redis, as ops/compose.yaml runs them: a redis-server
# from ops/redis.conf (its ACL user with a fresh password, on a free loopback port) unless
# --redis names one; the bot is on the first node and the probe on the last, so the
# encrypted chat crosses nodes; nginx balances the N nodes with the compose upstream.
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=1
redis_url=""
while (($#)); do
  case "$1" in
    --nodes) nodes="$2"; shift 2 ;;
    --redis) redis_url="$2"; shift 2 ;;
    *) echo "usage: ops/smoke.sh [--nodes N --redis URL]" >&2; exit 2 ;;
  esac
done
[[ "$nodes" =~ ^[1-9]$ ]] || { echo "ops/smoke.sh: --nodes is 1 to 9" >&2; exit 2; }

say() { printf '\n== smoke: %s\n' "$*"; }
fail() { echo "ops/smoke.sh: $*" >&2; exit 1; }

lyt="${LYT_BIN:-}"
unset LYT_BIN
if [ -z "$lyt" ] || [ ! -x "$lyt" ]; then
  cargo build --locked --bin lyt
  lyt="${CARGO_TARGET_DIR:-$PWD/target}/debug/lyt"
fi
# Only the settings this script sets reach lyt, never the caller's LYT_*.
for v in $(compgen -e | grep '^LYT_' || true); do unset "$v"; done

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${pids_redis:-}" ]; then kill "$pids_redis" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The example configuration with what a loopback smoke test must change.
export LYT_DATA_DIR="$work/data" LYT_DEMO_DIR="$work/demo"
export LYT_HOURS__WEEKLY='{}' LYT_HOURS__HOLIDAYS='[]'
# The bot and the probe speak plain HTTP to the node; behind TLS this stays true.
export LYT_SECURE_COOKIES=false
export LYT_LOG=warn
config="$PWD/ops/lyt.example.toml"

say "lyt serve --check"
"$lyt" serve --config "$config" --check

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
if [ "$nodes" -gt 1 ] && [ -z "$redis_url" ]; then
  say "redis-server from ops/redis.conf (the lyt ACL user, a fresh password)"
  redis_port="$(free_port)"; redis_password="$(openssl rand -hex 32)"
  mkdir -p "$work/redis"
  sed -e "s/CHANGE-ME-to-a-long-random-password/$redis_password/" -e "s/^port .*/port $redis_port/" \
      -e "s/^bind .*/bind 127.0.0.1/" ops/redis.conf >"$work/redis/redis.conf"
  redis-server "$work/redis/redis.conf" --dir "$work/redis" >"$work/redis/out" 2>&1 &
  pids_redis=$!
  for _ in $(seq 50); do
    REDISCLI_AUTH="$redis_password" redis-cli -p "$redis_port" --user lyt ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
  done
  redis_url="redis://lyt:$redis_password@127.0.0.1:$redis_port"
fi
if [ -n "$redis_url" ]; then export LYT_REDIS__URL="$redis_url"; fi

# Starts node $1; sets node_http[$1], node_internal[$1] and org_root.
declare -A node_http node_internal
org_root=""
start_node() {
  local i="$1" out="$work/node$1.out"
  "$lyt" serve --config "$config" --demo --no-demo-bot \
    --listen 127.0.0.1:0 --internal 127.0.0.1:0 >"$out" 2>"$work/node$i.err" &
  pids+=($!)
  for _ in $(seq 100); do
    [ "$(grep -c '^=====' "$out" 2>/dev/null)" -ge 2 ] && break
    sleep 0.1
  done
  node_http[$i]="$(sed -n 's/^lyt listening on \(http:\/\/[^ ]*\) (public)$/\1/p' "$out")"
  node_internal[$i]="$(sed -n 's/^lyt internal on \(http:\/\/[^ ]*\) .*/\1/p' "$out")"
  org_root="$(sed -n 's/^DEMO org root public key: \([^ ]*\) .*/\1/p' "$out")"
  [ -n "${node_http[$i]}" ] && [ -n "${node_internal[$i]}" ] && [ -n "$org_root" ] \
    || { cat "$out" "$work/node$i.err"; fail "node $i did not start"; }
  "$lyt" health --url "${node_internal[$i]}/readyz" >/dev/null || fail "node $i is not ready"
}

say "start $nodes node(s)"
for i in $(seq "$nodes"); do start_node "$i"; done
first="${node_http[1]}"; last="${node_http[$nodes]}"

say "a bot counsellor on duty on node 1"
"$lyt" counsellor bot --server "$first" --demo-dir "$work/demo" --username ali --capacity 2 \
  >"$work/bot.out" 2>"$work/bot.err" &
pids+=($!)
for _ in $(seq 100); do grep -qs 'on duty' "$work/bot.out" && break; sleep 0.1; done
grep -q 'DEMO bot on duty as Ali' "$work/bot.out" || { cat "$work/bot.out" "$work/bot.err"; fail "the bot is not on duty"; }

say "a visitor chats end to end through node $nodes"
"$lyt" probe --server "$last" --org-root "$org_root" --queue da/exit --timeout-s 30
grep -q 'DEMO bot chat .* safety code' "$work/bot.out" || fail "the bot did not take the chat"
if [ "$nodes" -gt 1 ]; then
  say "a second visitor through node 2, to the same bot on node 1"
  "$lyt" probe --server "${node_http[2]}" --org-root "$org_root" --queue da/exit --timeout-s 30
fi

say "metrics"
metrics="$(curl -fsS "${node_internal[1]}/metrics")"
chats=$([ "$nodes" -gt 1 ] && echo 2 || echo 1)
grep -q "^lyt_offers_total{result=\"accepted\"} $chats\$" <<<"$metrics" || fail "not $chats accepted offers on node 1"
for i in $(seq "$nodes"); do
  curl -fsS "${node_internal[$i]}/metrics" | grep -q '^lyt_store_up 1$' || fail "lyt_store_up is not 1 on node $i"
done
# The bot ended the chat on the visitor's bye and tagged it: one anonymous contact.
grep -q "^lyt_contacts_total{channel=\"chat\",outcome=\"advice\"} $chats\$" <<<"$metrics" || fail "the chats were not counted"

say "the widget loader matches its SRI hash"
integrity="$(curl -fsS "$first/widget/embed.json" | sed -n 's/.*"integrity":"\([^"]*\)".*/\1/p')"
served="sha384-$(curl -fsS "$first/widget/embed.js" | openssl dgst -sha384 -binary | openssl base64 -A)"
[ -n "$integrity" ] && [ "$integrity" = "$served" ] || fail "embed.js is $served, embed.json says $integrity"

if command -v nginx >/dev/null; then
  say "behind nginx: TLS, WebSocket upgrade, no client address in the access log"
  n="$work/nginx"; mkdir -p "$n/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=chat.example.org -keyout "$n/tls/privkey.pem" -out "$n/tls/fullchain.pem" 2>/dev/null
  http_port="$(free_port)"; https_port="$(free_port)"
  cp /etc/nginx/mime.types "$n/"
  sed -e "s#^pid .*#pid $n/nginx.pid;#" -e "s#/dev/stdout#$n/access.log#" \
      -e "s#^error_log .*#error_log $n/error.log crit;#" ops/nginx/nginx.conf >"$n/nginx.conf"
  sed -e "s/listen 80;/listen 127.0.0.1:$http_port;/" -e "s/listen 443 ssl http2;/listen 127.0.0.1:$https_port ssl http2;/" \
      -e '/listen \[::\]/d' ops/nginx/lyt-site.conf >"$n/lyt-site.conf"
  if [ "$nodes" -gt 1 ]; then
    # The compose upstream (least_conn for visitors, hash by address for staff), with this
    # run's nodes in place of lyt1..lyt3.
    servers=""
    for i in $(seq "$nodes"); do servers+="    server ${node_http[$i]#http://} max_fails=1 fail_timeout=10s;\n"; done
    awk -v servers="$servers" '/^ *server lyt[0-9]+:8080/ { if (!done[NR_UP]++) printf "%s", servers; next } /^upstream/ { NR_UP++ } { print }' \
      ops/nginx/lyt-upstream.compose.conf >"$n/lyt-upstream.conf"
  else
    sed "s#127.0.0.1:8080#${first#http://}#" ops/nginx/lyt-upstream.conf >"$n/lyt-upstream.conf"
  fi
  nginx -p "$n" -c "$n/nginx.conf" -g 'daemon off;' &
  pids+=($!)
  base="https://127.0.0.1:$https_port"
  for _ in $(seq 50); do curl -ksf "$base/v1/status" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -ksf "$base/v1/status" | grep -q '"queues"' || fail "no /v1/status through nginx"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/v1/status")" = 301 ] \
    || fail "plain HTTP is not redirected"
  # A WebSocket upgrade through the proxy: 101 and lyt's hello frame.
  upgrade="$(curl -ksi --http1.1 --max-time 3 "$base/v1/visitor" \
    -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
    -H 'Sec-WebSocket-Key: c21va2UtdGVzdC1rZXktMTY=' -H "Origin: https://www.example.org" --output - 2>/dev/null || true)"
  grep -q '^HTTP/1.1 101' <<<"$upgrade" || fail "no WebSocket upgrade through nginx: $upgrade"
  grep -qa '"t":"hello"' <<<"$upgrade" || fail "no hello frame through nginx"
  proxied="sha384-$(curl -ksf "$base/widget/embed.js" | openssl dgst -sha384 -binary | openssl base64 -A)"
  [ "$proxied" = "$integrity" ] || fail "nginx changed embed.js"
  sleep 0.2
  [ -s "$n/access.log" ] || fail "nginx wrote no access log"
  ! grep -q '127\.0\.0\.1' "$n/access.log" || fail "the access log names the client: $(head -3 "$n/access.log")"
  grep -q ' /v1/visitor HTTP/1.1 101 ' "$n/access.log" || fail "the upgrade is not in the access log"
fi

if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v setpriv >/dev/null; then
  say "as in the container: read-only root filesystem, uid 65532, only the data directory writable"
  ro="$work/ro"; mkdir -p "$ro/data"; chown -R 65532:65532 "$ro"; chmod 0700 "$ro/data"
  chmod 0711 "$work"   # uid 65532 must reach its data directory inside
  cat >"$ro/run.sh" <<EOF
set -e
mount -o remount,bind,ro /
mount --bind "$ro/data" "$ro/data"
mount -o remount,bind,rw "$ro/data"
cd "$ro/data"
exec setpriv --reuid 65532 --regid 65532 --clear-groups env -i LYT_DATA_DIR="$ro/data" \
  LYT_LISTEN=127.0.0.1:0 LYT_INTERNAL=127.0.0.1:0 "$lyt" serve --config "$config"
EOF
  # A mount namespace of its own: the read-only remount never touches this machine's root.
  unshare --mount --propagation private sh "$ro/run.sh" >"$ro/out" 2>"$ro/err" &
  ro_pid=$!
  for _ in $(seq 100); do grep -qs '^lyt internal on' "$ro/out" && break; sleep 0.1; done
  internal="$(sed -n 's/^lyt internal on \(http:\/\/[^ ]*\) .*/\1/p' "$ro/out")"
  [ -n "$internal" ] || { cat "$ro/out" "$ro/err"; fail "no start with a read-only root"; }
  "$lyt" health --url "$internal/readyz" >/dev/null || fail "not ready with a read-only root"
  kill -TERM "$ro_pid"
  wait "$ro_pid" || { cat "$ro/err"; fail "the read-only node exited with $?"; }
  [ -d "$ro/data/referrals" ] || fail "nothing written to the data directory"
  if grep -qiE 'read-only|permission denied' "$ro/err"; then cat "$ro/err"; fail "a write outside the data directory"; fi
fi

say "SIGTERM stops node(s) cleanly"
for i in $(seq "$nodes"); do
  pid="${pids[$((i - 1))]}"
  kill -TERM "$pid"
  wait "$pid" || fail "node $i exited with $?"
done
say "OK"
