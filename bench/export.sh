#!/usr/bin/env bash
# Export benchmark (issue 7): 100 000 application items through
# GET /api/v1/staff/exports/certification-applications.csv, measuring the wall
# time and the service's memory (RSS) before and at its peak during the export.
# Usage: bash bench/export.sh [ITEMS]   (default 100000; results go in bench/README.md)
set -euo pipefail
ITEMS="${1:-100000}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
cargo build --release --bin zikao-cert -q
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/zikao-cert"
RUN="$(mktemp -d "$ROOT/target/bench-export.XXXXXX")"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cleanup() { [[ -n "${PID:-}" ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$RUN"; }
trap cleanup EXIT
env -u DATABASE_URL ZIKAO_DATA_DIR="$RUN/data" BIND_ADDR="127.0.0.1:$PORT" RUST_LOG=warn "$BIN" serve >"$RUN/log" 2>&1 &
PID=$!
for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
printf 'bench-Passw0rd\n' | env -u DATABASE_URL ZIKAO_DATA_DIR="$RUN/data" RUST_LOG=warn "$BIN" admin create --username bench >/dev/null
TOKEN="$(curl -fsS -H 'content-type: application/json' -d '{"login":"bench","password":"bench-Passw0rd"}' \
    "http://127.0.0.1:$PORT/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
PSQL=(psql -q -h "$RUN/data/run" -U postgres -d zikao_cert -v ON_ERROR_STOP=1)
APPS=$((ITEMS / 10))
"${PSQL[@]}" <<SQL
INSERT INTO accounts (id, role, exam_number, id_number, name, phone, major_code, password_hash)
SELECT gen_random_uuid(), 'candidate', lpad(n::text, 12, '0'), lpad(n::text, 17, '0') || 'X', '考生' || n,
       '13800138000', '100701', 'x'
FROM generate_series(1, $APPS) AS n;
INSERT INTO certification_applications (id, candidate_id, round_id, major_code, kind, certificate_kind,
    certificate_number, certificate_obtained_on, status, submitted_at)
SELECT gen_random_uuid(), a.id, (SELECT id FROM rounds LIMIT 1), '100701', 'certificate', 'ncre1', 'N', '2020-01-01',
       'submitted', now()
FROM accounts a WHERE a.role = 'candidate';
INSERT INTO application_items (application_id, candidate_id, course_code, position, learned_course_name, scores, score_text)
SELECT a.id, a.candidate_id, c.code, c.pos, '大学英语', ARRAY[60,65,70]::smallint[], '60;65;70'
FROM certification_applications a,
     (SELECT code, (row_number() OVER (ORDER BY code) - 1)::smallint AS pos FROM courses
      WHERE catalog_version_id = (SELECT max(id) FROM catalog_versions) ORDER BY code LIMIT 10) c;
ANALYZE;
SQL
COUNT="$("${PSQL[@]}" -At -c 'SELECT count(*) FROM application_items')"
RSS_BEFORE="$(awk '/VmRSS/ {print $2}' /proc/$PID/status)"
PEAK=0
( while kill -0 $PID 2>/dev/null; do r=$(awk '/VmRSS/ {print $2}' /proc/$PID/status 2>/dev/null || echo 0); echo "$r"; sleep 0.02; done ) >"$RUN/rss" &
SAMPLER=$!
START=$(date +%s.%N)
BYTES="$(curl -fsS -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/staff/exports/certification-applications.csv" | tee "$RUN/export.csv" | wc -c)"
END=$(date +%s.%N)
kill $SAMPLER 2>/dev/null || true
PEAK="$(sort -n "$RUN/rss" | tail -1)"
LINES="$(($(wc -l <"$RUN/export.csv") - 1))"
echo "items in database: $COUNT; exported rows: $LINES; bytes: $BYTES"
echo "export time: $(python3 -c "print(round($END - $START, 2))") s"
echo "service RSS before: $((RSS_BEFORE / 1024)) MiB; peak during export: $((PEAK / 1024)) MiB"
