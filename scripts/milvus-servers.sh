#!/usr/bin/env bash
# Starts (or stops) the two real Milvus servers the QuiverMilvus tests run against:
#   - Milvus Lite 3.2.2   (pymilvus==3.0.2 milvus-lite==3.2.2; TCP, no auth)
#   - Milvus 2.3.5 standalone from PyPI (milvus==2.3.5; embedded etcd and local storage;
#     authorization on, user root / password Milvus)
#
# Usage: scripts/milvus-servers.sh start DIR    # data and logs under DIR, writes DIR/env
#        scripts/milvus-servers.sh stop DIR     # stops both (and 2.3.5's child) by pid
#
# The venvs live under ~/.cache/quiver/ (QUIVER_CACHE to move them), outside the repository,
# with pinned versions. DIR/env holds the variables the tests read:
#   QUIVER_MILVUS_LITE=127.0.0.1:P  QUIVER_MILVUS_STANDALONE=127.0.0.1:Q  QUIVER_MILVUS_STANDALONE_TOKEN=root:Milvus
#   (and QUIVER_MILVUS_PYTHON, QUIVER_MILVUS_LITE_BIN: the venv's python and milvus-lite, for
#   scripts/milvus/crosscheck.sh and the restart test, which starts and kills its own Lite server)
# Use it with:  set -a; . DIR/env; set +a; QUIVER_REQUIRE_MILVUS=1 swift test --filter QuiverMilvusTests
set -euo pipefail

CACHE="${QUIVER_CACHE:-$HOME/.cache/quiver}"
LITE_VENV="$CACHE/venv-milvus-lite-3.2.2"
SERVER_VENV="$CACHE/venv-milvus-server-2.3.5"
PYTHON="${PYTHON:-python3}"

usage() { echo "usage: $0 start DIR | stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd="$1"; dir="$2"

say() { echo "milvus-servers: $*" >&2; }

make_venv() {  # make_venv DIR PACKAGES...
  local venv="$1"; shift
  if [ -f "$venv/.complete" ]; then return; fi
  say "creating $venv ($*)"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$@"
  touch "$venv/.complete"
}

free_port() {
  "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Kills a pid and the children it spawned (milvus-server runs `milvus run standalone`).
kill_tree() {
  local pid="$1" kids
  kids=$(pgrep -P "$pid" 2>/dev/null || true)
  kill "$pid" 2>/dev/null || true
  for k in $kids; do kill_tree "$k"; done
}

stop() {
  for name in lite standalone; do
    local f="$dir/$name.pid"
    [ -f "$f" ] || continue
    local pid; pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      local kids; kids=$(pgrep -P "$pid" 2>/dev/null || true)
      kill_tree "$pid"
      # Wait up to 20 s, then force.
      for _ in $(seq 1 40); do
        alive=0
        for p in $pid $kids; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive -eq 0 ] && break
        sleep 0.5
      done
      for p in $pid $kids; do kill -9 "$p" 2>/dev/null || true; done
      say "stopped $name (pid $pid${kids:+, children $kids})"
    fi
    rm -f "$f"
  done
  # 2.3.5's standalone process, by the pid file it writes, in case its parent died first.
  if [ -f "$dir/standalone.child.pid" ]; then
    for p in $(cat "$dir/standalone.child.pid"); do kill -9 "$p" 2>/dev/null || true; done
    rm -f "$dir/standalone.child.pid"
  fi
}

wait_healthy() {  # wait_healthy NAME URI TOKEN SECONDS LOG
  local name="$1" uri="$2" token="$3" secs="$4" log="$5"
  local start=$SECONDS
  until "$LITE_VENV/bin/python" - "$uri" "$token" <<'EOF' >/dev/null 2>&1
import sys
from pymilvus import MilvusClient
c = MilvusClient(uri=sys.argv[1], token=sys.argv[2], timeout=5)
c.list_collections()
EOF
  do
    if [ $((SECONDS - start)) -ge "$secs" ]; then
      say "$name did not become healthy within $secs s; last lines of $log:"
      tail -20 "$log" >&2 || true
      return 1
    fi
    sleep 1
  done
  say "$name healthy at $uri after $((SECONDS - start)) s"
}

start() {
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  stop
  make_venv "$LITE_VENV" pymilvus==3.0.2 milvus-lite==3.2.2
  make_venv "$SERVER_VENV" milvus==2.3.5

  local lite_port; lite_port=$(free_port)
  mkdir -p "$dir/lite"
  nohup "$LITE_VENV/bin/milvus-lite" server --data-dir "$dir/lite" --host 127.0.0.1 --port "$lite_port" \
    >"$dir/lite.log" 2>&1 &
  echo $! >"$dir/lite.pid"

  # Every port on a free one, so this instance runs beside any other Milvus on the machine:
  # the flags of milvus-server, plus the embedded etcd's peer port (an etcd config file named by
  # ETCD_CONFIG_PATH, Milvus' env form of etcd.config.path) and the metrics port (METRICS_PORT).
  local proxy etcd_client etcd_peer metrics
  proxy=$(free_port); etcd_client=$(free_port); etcd_peer=$(free_port); metrics=$(free_port)
  local args=(--data "$dir/standalone" --proxy-port "$proxy" --etcd-port "$etcd_client" --authorization-enabled true)
  for opt in root-coord-port proxy-internal-port query-coord-port query-node-port \
             index-coord-port index-node-port data-coord-port data-node-port; do
    args+=("--$opt" "$(free_port)")
  done
  mkdir -p "$dir/standalone"
  cat >"$dir/embedEtcd.yaml" <<EOF
name: default
data-dir: $dir/standalone/data/etcd.data
listen-client-urls: http://127.0.0.1:$etcd_client
advertise-client-urls: http://127.0.0.1:$etcd_client
listen-peer-urls: http://127.0.0.1:$etcd_peer
initial-advertise-peer-urls: http://127.0.0.1:$etcd_peer
initial-cluster: default=http://127.0.0.1:$etcd_peer
EOF
  ETCD_CONFIG_PATH="$dir/embedEtcd.yaml" METRICS_PORT="$metrics" \
    nohup "$SERVER_VENV/bin/milvus-server" "${args[@]}" >"$dir/standalone.log" 2>&1 &
  echo $! >"$dir/standalone.pid"

  wait_healthy "Milvus Lite" "http://127.0.0.1:$lite_port" "" 60 "$dir/lite.log" || { stop; exit 1; }
  wait_healthy "Milvus 2.3.5" "http://127.0.0.1:$proxy" "root:Milvus" 180 "$dir/standalone.log" || { stop; exit 1; }
  pgrep -P "$(cat "$dir/standalone.pid")" >"$dir/standalone.child.pid" 2>/dev/null || true

  cat >"$dir/env" <<EOF
QUIVER_MILVUS_LITE=127.0.0.1:$lite_port
QUIVER_MILVUS_STANDALONE=127.0.0.1:$proxy
QUIVER_MILVUS_STANDALONE_TOKEN=root:Milvus
QUIVER_MILVUS_PYTHON=$LITE_VENV/bin/python
QUIVER_MILVUS_LITE_BIN=$LITE_VENV/bin/milvus-lite
EOF
  say "wrote $dir/env"
  cat "$dir/env"
}

case "$cmd" in
  start) start ;;
  stop) [ -d "$dir" ] && stop; true ;;
  *) usage ;;
esac
