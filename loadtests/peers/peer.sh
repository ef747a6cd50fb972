#!/usr/bin/env bash
# Starts and stops the servers the load tests measure, on loopback, each given one core's
# worth of work (lyt: one Tokio worker thread; nginx: one worker; node is single-threaded).
#
#   peer.sh start lyt|lyt-redis|nchan|nchan-redis|socketio PORT RUNDIR   prints the pids to sample
#   peer.sh stop RUNDIR                                        stops what start started
#
# lyt runs `lyt serve --demo --no-demo-bot` with loadtests/lyt-load.toml (its demo directory
# is RUNDIR/lyt-demo; pass it to lyt-load with --demo-dir). LYT_BIN names the binary
# (default: target/release/lyt); LYT_THREADS its worker threads (default 1). socket.io and
# nchan-redis get their own redis-server on PORT+1000 in RUNDIR, never the machine's 6379.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

wait_port() { # port
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

start_redis() { # port rundir
  redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no --dir "$2" \
    --daemonize yes --pidfile "$2/redis.pid" --logfile "$2/redis.log" --maxclients 1000
  wait_port "$1"
  cat "$2/redis.pid" >> "$2/pids"
}

cmd="${1:-}"
case "$cmd" in
  start)
    what="$2"; port="$3"; dir="$4"
    mkdir -p "$dir/tmp"; dir="$(cd "$dir" && pwd)"; : > "$dir/pids"
    case "$what" in
      lyt)
        bin="${LYT_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/lyt}"
        (cd "$dir" && ulimit -n 20000 && exec env TOKIO_WORKER_THREADS="${LYT_THREADS:-1}" \
          RUST_LOG=warn "$bin" serve --config "$repo/loadtests/lyt-load.toml" --demo \
          --no-demo-bot --listen "127.0.0.1:$port" --internal "127.0.0.1:$((port + 1))" \
          > "$dir/lyt.log" 2>&1 < /dev/null) &
        echo $! > "$dir/pids"
        wait_port "$port"
        ;;
      lyt-redis)
        # Two lyt nodes sharing state in their own redis-server: node A on PORT, node B on
        # PORT+2 (internal listeners on PORT+1 and PORT+3). lyt-load alternates connections
        # between the nodes it is given, so every chat's two ends are on different nodes.
        bin="${LYT_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/lyt}"
        start_redis "$((port + 1000))" "$dir"
        for p in "$port" "$((port + 2))"; do
          (cd "$dir" && ulimit -n 20000 && exec env TOKIO_WORKER_THREADS="${LYT_THREADS:-1}" \
            RUST_LOG=warn LYT_REDIS__URL="redis://127.0.0.1:$((port + 1000))" "$bin" serve \
            --config "$repo/loadtests/lyt-load.toml" --demo --no-demo-bot \
            --listen "127.0.0.1:$p" --internal "127.0.0.1:$((p + 1))" \
            > "$dir/lyt-$p.log" 2>&1 < /dev/null) &
          echo $! >> "$dir/pids"
          wait_port "$p"
        done
        ;;
      nchan|nchan-redis)
        store=""
        if [ "$what" = nchan-redis ]; then
          start_redis "$((port + 1000))" "$dir"
          store="nchan_redis_url redis://127.0.0.1:$((port + 1000)); nchan_use_redis on;"
        fi
        sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@STORE@|$store|" \
          "$here/nchan/nginx.conf.in" > "$dir/nginx.conf"
        nginx -p "$dir" -c "$dir/nginx.conf"
        wait_port "$port"
        master="$(cat "$dir/nginx.pid")"
        echo "$master" >> "$dir/pids"
        pgrep -P "$master" >> "$dir/pids"
        echo "$master" > "$dir/nginx.master"
        ;;
      socketio)
        [ -d "$here/socketio/node_modules" ] ||
          (cd "$here/socketio" && npm ci --no-audit --no-fund --loglevel=error)
        start_redis "$((port + 1000))" "$dir"
        (cd "$here/socketio" && ulimit -n 20000 && exec env PORT="$port" \
          REDIS_URL="redis://127.0.0.1:$((port + 1000))" node server.js \
          > "$dir/socketio.log" 2>&1 < /dev/null) &
        echo $! >> "$dir/pids"
        wait_port "$port"
        ;;
      *) echo "start what? lyt|lyt-redis|nchan|nchan-redis|socketio" >&2; exit 2 ;;
    esac
    tr '\n' ' ' < "$dir/pids"; echo
    ;;
  stop)
    dir="$2"
    if [ -f "$dir/nginx.master" ]; then
      kill -QUIT "$(cat "$dir/nginx.master")" 2>/dev/null || true
      rm -f "$dir/nginx.master"
    fi
    if [ -f "$dir/pids" ]; then
      while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$dir/pids"
      # Wait until they are gone (lyt drains for a few seconds), so the port is free.
      for _ in $(seq 1 150); do
        alive=0
        while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=1; done < "$dir/pids"
        [ "$alive" = 0 ] && break
        sleep 0.1
      done
      rm -f "$dir/pids"
    fi
    ;;
  *) echo "usage: peer.sh start lyt|nchan|nchan-redis|socketio PORT RUNDIR | stop RUNDIR" >&2; exit 2 ;;
esac
