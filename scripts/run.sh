#!/usr/bin/env bash
# `make run`: the central server and the app (web mode), with a demo ward and campaign.
set -euo pipefail

DATA_DIR="${HSSK_DATA_DIR:-$PWD/data}"
SERVER_PORT="${HSSK_SERVER_PORT:-8765}"
APP_PORT="${HSSK_APP_PORT:-8550}"
BIN="$PWD/.venv/bin"
SERVER_URL="http://127.0.0.1:$SERVER_PORT"
export HSSK_DATA_DIR="$DATA_DIR"

mkdir -p "$DATA_DIR"
"$BIN/hssk-server" demo-seed --server-url "$SERVER_URL" >/dev/null

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "Stopping HSSK…"
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

"$BIN/hssk-server" serve --host 127.0.0.1 --port "$SERVER_PORT" &
pids+=($!)
# The app is a separate "device": its own data directory, trusting the demo server's key.
HSSK_APP_DATA_DIR="$DATA_DIR/app" HSSK_TRUSTED_KEYS="$DATA_DIR/keys" \
  HSSK_SERVER_URL="http://127.0.0.1:$SERVER_PORT" \
  "$BIN/hssk" --web --host 127.0.0.1 --port "$APP_PORT" >/dev/null &
pids+=($!)

"$BIN/python" - "$SERVER_URL/v1/health" "http://127.0.0.1:$APP_PORT/" <<'PY'
import sys, time, urllib.request
for url in sys.argv[1:]:
    for _ in range(150):
        try:
            urllib.request.urlopen(url, timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
PY

cat <<MSG

  HSSK is running.
    App (open in a browser):  http://127.0.0.1:$APP_PORT/
    Central server:           $SERVER_URL   (API docs: $SERVER_URL/docs)

  The demo ward's campaign QR code is $DATA_DIR/demo-campaign.png; its text, to paste
  into the app, is in $DATA_DIR/demo-campaign.txt:

$(cat "$DATA_DIR/demo-campaign.txt")

  Declarations received per ward:  HSSK_DATA_DIR=$DATA_DIR .venv/bin/hssk-server report
  Press Ctrl-C to stop both.

MSG
wait -n "${pids[@]}"
