#!/usr/bin/env bash
# Contract checks for zikao-cert: the committed OpenAPI document and the running
# service must agree with each other.
#
#   1. Installs pinned tools into target/ci-tools/ (skipped when already there):
#      Redocly CLI (npm) and Schemathesis (PyPI, in a venv). Nothing is global.
#   2. `redocly lint openapi.yaml` with the recommended ruleset: errors fail the
#      run, warnings are printed only.
#   3. Builds `zikao-cert`, starts it on a free loopback port with a throwaway
#      private PostgreSQL cluster, waits for /readyz, and runs Schemathesis over
#      every operation of the served /api-docs/openapi.json: once anonymously,
#      then once per extra identity (SCHEMATHESIS_AUTH_HEADERS_FILE and
#      obtain_tokens below). The service is stopped with SIGTERM on any exit.
#   4. Prints a summary; exits non-zero when any step found a problem.
#
# Usage: bash scripts/contract-checks.sh
#
# Environment (all optional):
#   SCHEMATHESIS_AUTH_HEADERS_FILE  file of `Header: value` lines; one extra
#                                   Schemathesis run sends them on every request
#   CONTRACT_MAX_EXAMPLES           test cases per operation and phase (default 50)
#   CONTRACT_SEED                   Hypothesis seed (default 20240601)
#   CONTRACT_WORKERS                Schemathesis workers (default 1)
#   CONTRACT_READY_TIMEOUT          seconds to wait for /readyz (default 90)
#   CONTRACT_EXTRA_CHECKS           more Schemathesis checks, comma-separated
#   CARGO_TARGET_DIR                honoured to find the built binary
#
# Runtime (2 cores, binary already built): ~25 s on a fresh machine including
# the tool installs, ~6 s after. One Schemathesis run over today's 4 GET
# operations is 179 requests in ~1-4 s; it grows linearly with operations x
# identities (operations with JSON bodies generate several times more cases),
# so ~60 operations should take ~1 min per identity, i.e. a few minutes with
# anonymous + ~4 roles; lower CONTRACT_MAX_EXAMPLES if it grows past that.

set -euo pipefail

REDOCLY_VERSION="2.77.0"        # engines: node >=20.19 <21 || >=22.12
SCHEMATHESIS_VERSION="4.32.5"   # requires Python >=3.10

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TOOLS_DIR="$ROOT/target/ci-tools"
REDOCLY_DIR="$TOOLS_DIR/redocly-$REDOCLY_VERSION"
REDOCLY="$REDOCLY_DIR/node_modules/.bin/redocly"
VENV_DIR="$TOOLS_DIR/schemathesis-venv"
SCHEMATHESIS="$VENV_DIR/bin/schemathesis"
REPORT_DIR="$TOOLS_DIR/reports"

MAX_EXAMPLES="${CONTRACT_MAX_EXAMPLES:-50}"
SEED="${CONTRACT_SEED:-20240601}"
# One worker: with two, Hypothesis 6 sometimes fails inside itself ("AST
# constructor recursion depth mismatch", a thread-safety bug), a false alarm.
WORKERS="${CONTRACT_WORKERS:-1}"
READY_TIMEOUT="${CONTRACT_READY_TIMEOUT:-90}"

# Checks every Schemathesis run applies to every response. The first four are
# the contract proper (no 5xx; status code, content type and body as declared);
# the rest pass today and guard validation (invalid input must get a 4xx),
# declared response headers and, once operations carry `security`, that they
# refuse requests without credentials (ignored_auth).
CHECKS="not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance"
CHECKS+=",response_headers_conformance,negative_data_rejection,missing_required_header"
CHECKS+=",ignored_auth,allow_header_conformance,use_after_free,ensure_resource_availability"
CHECKS+=",unsupported_method"
# Not enabled, by design: positive_data_acceptance expects every schema-valid
# body to be accepted, but API.md makes business-rule refusals 422 (an unknown
# school code, a spent reset token, a closed window), which no schema can express.
# CONTRACT_EXTRA_CHECKS=a,b adds checks for a one-off run.
if [[ -n "${CONTRACT_EXTRA_CHECKS:-}" ]]; then
    CHECKS+=",$CONTRACT_EXTRA_CHECKS"
fi

# Keep the tools quiet and off the network beyond the package registries.
export REDOCLY_TELEMETRY=off
export REDOCLY_SUPPRESS_UPDATE_NOTICE=true
export npm_config_update_notifier=false
export PIP_DISABLE_PIP_VERSION_CHECK=1

SUMMARY=()
FAILED=0

log() { printf '\n==> %s\n' "$*"; }
record() { # record STATUS WHAT
    SUMMARY+=("$(printf '%-4s %s' "$1" "$2")")
    [[ "$1" == ok ]] || FAILED=1
}

# --- 1. tools ---------------------------------------------------------------

# Transitive Python dependencies, frozen with schemathesis 4.32.5 so that a CI
# run next month resolves the same set. Refresh together with the version above.
write_python_constraints() {
    cat >"$1" <<'EOF'
anyio==4.16.0
certifi==2026.10.19.post1
charset-normalizer==3.5.3
click==8.5.1
graphql-core==3.3.2
harfile==0.6.0
hypothesis==6.170.17
hypothesis-graphql==0.13.5
idna==3.20
iniconfig==2.3.1
jsonschema_rs==0.60.3
markdown-it-py==4.3.0
MarkupSafe==3.0.4
mdurl==0.1.2
packaging==26.4
pluggy==1.7.0
Pygments==2.21.0
pyrate-limiter==4.5.1
pytest==9.2.0
PyYAML==6.0.4
requests==2.34.2
rich==15.0.0
sortedcontainers==2.4.0
typing_extensions==4.16.0
urllib3==2.8.0
Werkzeug==3.1.9
EOF
}

install_redocly() {
    local have=""
    if [[ -x "$REDOCLY" ]]; then
        have="$(node -p "require('$REDOCLY_DIR/node_modules/@redocly/cli/package.json').version" 2>/dev/null || true)"
    fi
    if [[ "$have" == "$REDOCLY_VERSION" ]]; then
        echo "Redocly CLI $REDOCLY_VERSION already installed in ${REDOCLY_DIR#"$ROOT"/}"
        return
    fi
    echo "Installing Redocly CLI $REDOCLY_VERSION into ${REDOCLY_DIR#"$ROOT"/}"
    rm -rf "$REDOCLY_DIR"
    mkdir -p "$REDOCLY_DIR"
    echo '{"name":"zikao-cert-ci-tools","private":true}' >"$REDOCLY_DIR/package.json"
    npm install --prefix "$REDOCLY_DIR" --save-exact --no-audit --no-fund \
        --loglevel=error "@redocly/cli@$REDOCLY_VERSION"
}

install_schemathesis() {
    local have=""
    if [[ -x "$VENV_DIR/bin/python" ]]; then
        have="$("$VENV_DIR/bin/python" -c \
            'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null || true)"
    fi
    if [[ "$have" == "$SCHEMATHESIS_VERSION" && -x "$SCHEMATHESIS" ]]; then
        echo "Schemathesis $SCHEMATHESIS_VERSION already installed in ${VENV_DIR#"$ROOT"/}"
        return
    fi
    echo "Installing Schemathesis $SCHEMATHESIS_VERSION into ${VENV_DIR#"$ROOT"/}"
    rm -rf "$VENV_DIR"
    python3 -m venv "$VENV_DIR"
    local constraints="$TOOLS_DIR/schemathesis-constraints.txt"
    write_python_constraints "$constraints"
    "$VENV_DIR/bin/python" -m pip install --quiet --constraint "$constraints" \
        "schemathesis==$SCHEMATHESIS_VERSION"
}

# --- 3. the service -----------------------------------------------------------

SERVICE_PID=""
RUN_DIR=""

stop_service() {
    if [[ -n "$SERVICE_PID" ]] && kill -0 "$SERVICE_PID" 2>/dev/null; then
        echo "Stopping zikao-cert (pid $SERVICE_PID) with SIGTERM"
        kill -TERM "$SERVICE_PID" 2>/dev/null || true
        # SHUTDOWN_TIMEOUT_SECS=5 below, plus PostgreSQL's fast shutdown.
        local waited=0
        while kill -0 "$SERVICE_PID" 2>/dev/null && ((waited < 60)); do
            sleep 0.5
            waited=$((waited + 1))
        done
        if kill -0 "$SERVICE_PID" 2>/dev/null; then
            echo "zikao-cert did not stop within 30 s; sending SIGKILL" >&2
            kill -KILL "$SERVICE_PID" 2>/dev/null || true
        fi
        wait "$SERVICE_PID" 2>/dev/null || true
    fi
    SERVICE_PID=""
    if [[ -n "$RUN_DIR" && -d "$RUN_DIR" ]]; then
        # A postgres that outlived the service (it should not) would keep the
        # data folder busy: stop it through its pid file before removing.
        local pidfile="$RUN_DIR/data/pg/postmaster.pid"
        if [[ -f "$pidfile" ]]; then
            local pgpid
            pgpid="$(head -n1 "$pidfile" 2>/dev/null || true)"
            if [[ "$pgpid" =~ ^[0-9]+$ ]] && kill -0 "$pgpid" 2>/dev/null; then
                echo "PostgreSQL (pid $pgpid) still running; stopping it" >&2
                kill -INT "$pgpid" 2>/dev/null || true
                for _ in $(seq 1 40); do kill -0 "$pgpid" 2>/dev/null || break; sleep 0.5; done
                kill -KILL "$pgpid" 2>/dev/null || true
            fi
        fi
        rm -rf "$RUN_DIR"
    fi
    RUN_DIR=""
}

# Long steps run through run_child, as a background child that the script
# waits for: a SIGTERM/SIGINT to the script then interrupts the wait at once
# (bash defers traps while a foreground command runs), and on_exit ends the
# child before stopping the service.
CHILD_PID=""
run_child() {
    "$@" </dev/null &
    CHILD_PID=$!
    local rc=0
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    return "$rc"
}

on_exit() {
    local rc=$?
    if [[ -n "$CHILD_PID" ]] && kill -0 "$CHILD_PID" 2>/dev/null; then
        kill -TERM "$CHILD_PID" 2>/dev/null || true
        wait "$CHILD_PID" 2>/dev/null || true
    fi
    stop_service
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 - <<'EOF'
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
EOF
}

# http_status URL -> prints the status code, or 000 when nothing answers.
http_status() {
    python3 - "$1" <<'EOF'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=3) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print("000")
EOF
}

start_service() {
    local binary="$1" port="$2"
    mkdir -p "$ROOT/target"
    RUN_DIR="$(mktemp -d "$ROOT/target/contract-run.XXXXXX")"
    local logfile="$RUN_DIR/zikao-cert.log"
    echo "Starting $binary on 127.0.0.1:$port (data in ${RUN_DIR#"$ROOT"/}/data, log $logfile)"
    env -u DATABASE_URL \
        BIND_ADDR="127.0.0.1:$port" \
        ZIKAO_DATA_DIR="$RUN_DIR/data" \
        SHUTDOWN_TIMEOUT_SECS=5 \
        RUST_LOG="${RUST_LOG:-warn}" \
        "$binary" serve >"$logfile" 2>&1 </dev/null &
    SERVICE_PID=$!

    local deadline=$((SECONDS + READY_TIMEOUT)) status=000
    while ((SECONDS < deadline)); do
        if ! kill -0 "$SERVICE_PID" 2>/dev/null; then
            wait "$SERVICE_PID" 2>/dev/null || true
            SERVICE_PID=""
            echo "zikao-cert exited before it was ready; its log:" >&2
            cat "$logfile" >&2
            return 1
        fi
        status="$(http_status "http://127.0.0.1:$port/readyz")"
        [[ "$status" == 200 ]] && break
        sleep 0.5
    done
    if [[ "$status" != 200 ]]; then
        echo "zikao-cert was not ready after ${READY_TIMEOUT}s (last /readyz: $status); its log:" >&2
        cat "$logfile" >&2
        return 1
    fi
    echo "zikao-cert ready after $((SECONDS - deadline + READY_TIMEOUT))s"
}

# --- 4. identities ------------------------------------------------------------

# obtain_tokens BASE_URL BINARY: print one line per identity to fuzz as,
# `LABEL<TAB>TOKEN` (a bearer access token for the service at BASE_URL).
# Creates an admin with the CLI (the running service's private cluster is
# reused), then through the API a school, a staff member, a candidate of the
# sample catalogue's pharmacy major and a service account with every scope, and
# signs each in. Diagnostics go to stderr; any failure returns 1.
obtain_tokens() {
    local base_url="$1" binary="$2"
    local password="ci-Passw0rd-2026"
    printf '%s\n' "$password" | env -u DATABASE_URL ZIKAO_DATA_DIR="$RUN_DIR/data" RUST_LOG=warn \
        "$binary" admin create --username ci-admin >&2 || return 1
    python3 - "$base_url" "$password" <<'PY' || return 1
import json, sys, urllib.request

base, password = sys.argv[1], sys.argv[2]

def call(method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")

def login(user, pw):
    return call("POST", "/api/v1/auth/login", {"login": user, "password": pw})["access_token"]

def id_number(birth, seq):
    body = "420102%s%03d" % (birth, seq)
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]

admin = login("ci-admin", password)
call("POST", "/api/v1/admin/schools", {"code": "CI01", "name": "CI 学院"}, admin)
call("POST", "/api/v1/admin/staff",
     {"username": "ci.staff", "password": password, "name": "测试老师", "school_code": "CI01"}, admin)
call("POST", "/api/v1/auth/register",
     {"exam_number": "010118299999", "id_number": id_number("19990101", 7), "name": "测试考生",
      "phone": "13800138000", "password": password, "major_code": "100701", "school_code": "CI01"})
svc = call("POST", "/api/v1/admin/service-accounts",
           {"username": "ci-integration", "name": "CI",
            "scopes": ["verification:write", "outbox:read", "applications:read"]}, admin)
print("admin\t" + admin)
print("staff\t" + login("ci.staff", password))
print("candidate\t" + login("010118299999", password))
print("integration\t" + login("ci-integration", svc["secret"]))
PY
}

# run_schemathesis LABEL [schemathesis args...]: one full run over every operation.
run_schemathesis() {
    local label="$1"
    shift
    local out="$REPORT_DIR/$label"
    mkdir -p "$out"
    log "Schemathesis ($label): $SCHEMA_URL"
    local rc=0
    # Run from the report folder: Schemathesis keeps its crash cache (for
    # `st replay`) in ./.schemathesis, which must not land in the work tree.
    run_child env -C "$out" "$SCHEMATHESIS" --config-file "$ROOT/scripts/schemathesis.toml" \
        run "$SCHEMA_URL" \
        --checks "$CHECKS" \
        --max-examples "$MAX_EXAMPLES" \
        --seed "$SEED" \
        --workers "$WORKERS" \
        --request-timeout 10 \
        --generation-database none \
        --no-color \
        --report junit,ndjson --report-dir "$out" \
        "$@" || rc=$?
    if ((rc != 0)); then
        record FAIL "schemathesis ($label): exit $rc, see the output above and ${out#"$ROOT"/}/"
        return
    fi
    # Every operation of the served document must have been tested, none skipped.
    local coverage
    if coverage="$(check_coverage "$out")"; then
        record ok "schemathesis ($label): $coverage"
    else
        record FAIL "schemathesis ($label): $coverage"
    fi
}

# check_coverage REPORT_DIR: compares the operations in the served document with
# the test cases of the JUnit report; prints a one-line verdict.
check_coverage() {
    "$VENV_DIR/bin/python" - "$SCHEMA_URL" "$1" <<'EOF'
import glob, json, sys, urllib.request
import xml.etree.ElementTree as ET

methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
    spec = json.load(r)
declared = {f"{m.upper()} {p}" for p, item in spec.get("paths", {}).items() for m in item if m in methods}
reports = glob.glob(f"{sys.argv[2]}/junit*.xml")
if len(reports) != 1:
    print(f"expected one JUnit report, found {len(reports)}")
    sys.exit(1)
tested, skipped = set(), set()
for case in ET.parse(reports[0]).getroot().iter("testcase"):
    (skipped if case.find("skipped") is not None else tested).add(case.get("name"))
missing = sorted(declared - tested - skipped)
if missing or skipped:
    print(f"operations not tested: {', '.join(missing + sorted(skipped))}")
    sys.exit(1)
print(f"{len(tested)}/{len(declared)} operations tested, all passed")
EOF
}

# --- main ---------------------------------------------------------------------

main() {
    log "Tools (target/ci-tools)"
    mkdir -p "$TOOLS_DIR"
    install_redocly
    install_schemathesis
    rm -rf "$REPORT_DIR"
    mkdir -p "$REPORT_DIR"

    log "cargo build --bin zikao-cert"
    run_child cargo build --bin zikao-cert
    local binary="${CARGO_TARGET_DIR:-$ROOT/target}/debug/zikao-cert"
    [[ "$binary" == /* ]] || binary="$ROOT/$binary"

    # Redocly lints the committed file while Schemathesis reads the served one:
    # they must be the same document.
    if "$binary" openapi | cmp -s - openapi.yaml; then
        record ok "openapi.yaml matches the code"
    else
        record FAIL "openapi.yaml differs from the code; regenerate: cargo run -q --bin zikao-cert -- openapi > openapi.yaml"
    fi

    log "Redocly lint openapi.yaml ($("$REDOCLY" --version 2>/dev/null | tail -n1), recommended ruleset)"
    local rc=0
    run_child "$REDOCLY" lint openapi.yaml --format=codeframe --max-problems=1000 || rc=$?
    if ((rc == 0)); then
        record ok "redocly lint openapi.yaml (warnings, if any, printed above)"
    else
        record FAIL "redocly lint openapi.yaml: errors, see above"
    fi

    log "Starting the service"
    local port
    port="$(free_port)"
    if ! start_service "$binary" "$port"; then
        record FAIL "service did not become ready"
        return
    fi
    local base_url="http://127.0.0.1:$port"
    SCHEMA_URL="$base_url/api-docs/openapi.json"

    # Tokens first: fuzzing /auth/login anonymously trips the per-address
    # sign-in throttle, after which these sign-ins would be refused.
    local tokens label token
    if ! tokens="$(obtain_tokens "$base_url" "$binary")"; then
        record FAIL "obtain_tokens could not sign in"
        tokens=""
    fi

    # Anonymous: no credentials at all.
    run_schemathesis anonymous

    # Headers from a file (e.g. a token made outside this script).
    if [[ -n "${SCHEMATHESIS_AUTH_HEADERS_FILE:-}" ]]; then
        if [[ ! -r "$SCHEMATHESIS_AUTH_HEADERS_FILE" ]]; then
            record FAIL "SCHEMATHESIS_AUTH_HEADERS_FILE=$SCHEMATHESIS_AUTH_HEADERS_FILE is not readable"
        else
            local -a header_args=()
            local line lineno=0
            while IFS= read -r line || [[ -n "$line" ]]; do
                lineno=$((lineno + 1))
                line="${line%$'\r'}"
                [[ -z "${line//[[:space:]]/}" || "$line" == \#* ]] && continue
                if [[ ! "$line" =~ ^[A-Za-z0-9!#\$%\&\'*+.^_\`\|~-]+:\ *[^[:space:]] ]]; then
                    # The line is not echoed: it may hold a secret.
                    record FAIL "SCHEMATHESIS_AUTH_HEADERS_FILE line $lineno is not 'Header: value'"
                    continue
                fi
                header_args+=(--header "$line")
            done <"$SCHEMATHESIS_AUTH_HEADERS_FILE"
            if ((${#header_args[@]} > 0)); then
                run_schemathesis headers-file "${header_args[@]}"
            fi
        fi
    fi

    # One run per role.
    while IFS=$'\t' read -r label token; do
        [[ -z "$label" ]] && continue
        if [[ -z "$token" || ! "$label" =~ ^[A-Za-z0-9_.-]+$ ]]; then
            record FAIL "obtain_tokens printed a malformed line for '$label'"
            continue
        fi
        run_schemathesis "role-$label" --header "Authorization: Bearer $token"
    done <<<"$tokens"

    log "Stopping the service"
    stop_service
}

START=$SECONDS
main
log "Summary ($((SECONDS - START)) s)"
printf '  %s\n' "${SUMMARY[@]}"
if ((FAILED)); then
    echo "Contract checks FAILED"
    exit 1
fi
echo "Contract checks passed"
