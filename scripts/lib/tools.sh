# Shared by scripts/test and scripts/local (sourced, not run).
# Installs the Python-packaged tools once, and starts and stops moto server.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv="$root/.local/venv"
requirements="$root/scripts/requirements-tools.txt"

# Dummy credentials, a region, no metadata lookups: the SDK never leaves loopback.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

# Creates .local/venv with moto server and cargo-lambda unless it is current.
ensure_tools() {
  local stamp="$venv/.requirements"
  if [ -x "$venv/bin/moto_server" ] && [ -x "$venv/bin/cargo-lambda" ] && cmp -s "$requirements" "$stamp"; then
    return 0
  fi
  echo "installing moto server and cargo-lambda into .local/venv (once)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
}

# Creates .local/sam-venv with aws-sam-cli and cfn-lint unless it is current.
ensure_sam_tools() {
  local sam_venv="$root/.local/sam-venv" sam_requirements="$root/scripts/requirements-sam.txt"
  if [ -x "$sam_venv/bin/sam" ] && [ -x "$sam_venv/bin/cfn-lint" ] && cmp -s "$sam_requirements" "$sam_venv/.requirements"; then
    return 0
  fi
  echo "installing aws-sam-cli and cfn-lint into .local/sam-venv (once)" >&2
  python3 -m venv "$sam_venv"
  "$sam_venv/bin/pip" install --quiet --disable-pip-version-check -r "$sam_requirements"
  cp "$sam_requirements" "$sam_venv/.requirements"
}

# Creates .local/<tool>-venv with one of the pinned checks of
# scripts/requirements-checks.txt (checkov, schemathesis) unless it is
# current; each in its own venv, as their dependencies do not agree.
ensure_check_tool() {
  local tool=$1 requirements="$root/scripts/requirements-checks.txt"
  local tool_venv="$root/.local/$tool-venv" pin
  pin=$(grep -E "^$tool==" "$requirements")
  if [ -x "$tool_venv/bin/python" ] && [ "$(cat "$tool_venv/.requirements" 2>/dev/null)" = "$pin" ]; then
    return 0
  fi
  echo "installing $pin into .local/$tool-venv (once)" >&2
  python3 -m venv "$tool_venv"
  # shellcheck disable=SC2086 # a line may pin the tool and its companions
  "$tool_venv/bin/pip" install --quiet --disable-pip-version-check $pin
  printf '%s' "$pin" > "$tool_venv/.requirements"
}

# The arm64 standard library for Lambda's Graviton functions.
ensure_arm64_target() {
  rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
}

# A free TCP port on loopback.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Waits until something answers HTTP at $1 (at most 30 s); fails otherwise.
wait_for_http() {
  python3 - "$1" <<'PY'
import sys, time, urllib.request, urllib.error
deadline = time.monotonic() + 30
while True:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=1)
        break
    except urllib.error.HTTPError:
        break  # it answered
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(f"nothing answered at {sys.argv[1]}")
        time.sleep(0.05)
PY
}

# Starts moto server on a free port; sets MOTO_PID and AWS_ENDPOINT_URL.
start_moto() {
  local port
  port=$(free_port)
  # moto with DynamoDB's atomicity (see the script).
  "$venv/bin/python" "$root/scripts/lib/moto_server.py" -H 127.0.0.1 -p "$port" > "$root/.local/moto.log" 2>&1 &
  MOTO_PID=$!
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  wait_for_http "$AWS_ENDPOINT_URL/moto-api/"
}

stop_moto() {
  if [ -n "${MOTO_PID:-}" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
    MOTO_PID=
  fi
}
