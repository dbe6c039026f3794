#!/usr/bin/env bash
# make bench: one post fanned out by practicemail to 10k and 100k subscribers
# through Postfix's smtp-sink (accepts and discards), beside a raw SMTP
# baseline in the same run. Prints the table and saves it to bench-results/.
#
# Then POST /subscribe: sign-ups per second and their p99 latency on loopback,
# alone and beside a fan-out to BENCH_SUBSCRIBE subscribers, with that
# fan-out's rate alone (before and after) and with the sign-ups, side by side.
#
# Needs: Redis on 127.0.0.1:6379 (started here if missing; the bench uses and
# flushes database 12; BENCH_REDIS=redis://host:port/db for another, which
# must be running) and smtp-sink (Debian's postfix package, installed here
# if missing). Tunables: BENCH_SIZES (10000,100000), BENCH_RUNS (1, runs of
# each size), BENCH_SMTP_PORT (2525), BENCH_CONNS (4), BENCH_SQLITE_SYNC (full,normal:
# both between the same two baselines; full or normal for one),
# BENCH_SUBSCRIBE (20000; 0 skips the sign-ups), BENCH_SUBSCRIBE_RATE (100
# sign-ups/s beside the fan-out), BENCH_SUBSCRIBE_RUNS (5 fan-outs with sign-ups,
# each between two alone; the median share kept is the figure), BENCH_ARGS (more flags for bench/fanout,
# e.g. -keep). BENCH_CAMPAIGN (1; 0 skips): after each post, a campaign to
# the same N (topic:news), measured the same way between the same baselines.
#
# Then inquiries: BENCH_INQUIRIES (10000; 0 skips) people in the inquiry
# sequence whose next step falls due at one instant, sent by `practicemail
# run` at smtp.rate BENCH_INQUIRY_RATE (200 a second): the sink's count per
# second against that rate, each step once (sink and ledger), peak RSS; then
# POST /inquiries on loopback, 8 clients back to back and an open loop of
# BENCH_INQUIRY_POST_RATE (20) a second, with p50 and p99.
#
# BENCH_DB=postgres (or both, beside SQLite): practicemail on PostgreSQL
# (BENCH_PG, trust auth; each run makes and drops a database of its own),
# with the server backends' CPU per message. Diagnostics: BENCH_PG_TABLES=1
# prints table scans and each backend's CPU; BENCH_PG_EXPLAIN=5ms logs the
# plans of slower statements to the server's log (auto_explain).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

sizes="${BENCH_SIZES:-10000,100000}"
port="${BENCH_SMTP_PORT:-2525}"
conns="${BENCH_CONNS:-4}"
runs="${BENCH_RUNS:-1}"
sync="${BENCH_SQLITE_SYNC:-full,normal}"
# BENCH_DB=postgres: practicemail on PostgreSQL (BENCH_PG, a database of each
# run's own); BENCH_DB=both: SQLite (synchronous=full) and PostgreSQL side by side.
case "${BENCH_DB:-sqlite}" in
  sqlite) ;;
  postgres) sync=postgres ;;
  both) sync="${BENCH_SQLITE_SYNC:-full},postgres" ;;
  *) echo "bench: BENCH_DB=$BENCH_DB: want sqlite, postgres or both" >&2; exit 1 ;;
esac
pg_url="${BENCH_PG:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
# BENCH_SCALEOUT=1: the scale-out bench instead (bench/fanout/scaleout.go):
# 1, 2 and 4 worker processes on PostgreSQL into a sink 30 ms away.
scaleout=""
if [ "${BENCH_SCALEOUT:-0}" = 1 ]; then scaleout=-scaleout; fi
campaign=""
if [ "${BENCH_CAMPAIGN:-1}" = 1 ]; then campaign=-campaign; fi
subscribe="${BENCH_SUBSCRIBE:-20000}"
subscribe_rate="${BENCH_SUBSCRIBE_RATE:-100}"
subscribe_runs="${BENCH_SUBSCRIBE_RUNS:-5}"
inquiries="${BENCH_INQUIRIES:-10000}"
inquiry_rate="${BENCH_INQUIRY_RATE:-200}"
inquiry_post_rate="${BENCH_INQUIRY_POST_RATE:-20}"
redis_url="${BENCH_REDIS:-redis://127.0.0.1:6379/12}"
sink=/usr/sbin/smtp-sink

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [ ! -x "$sink" ]; then
  echo "bench: installing postfix for smtp-sink"
  apt_install postfix
  # Only smtp-sink is wanted: if the install started Postfix itself, stop it.
  if postfix status >/dev/null 2>&1; then postfix stop >/dev/null 2>&1 || true; fi
fi

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if [ -z "${BENCH_REDIS:-}" ] && ! redis_up; then
  echo "bench: Redis does not answer on 127.0.0.1:6379; starting it"
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/bench.log
  for _ in $(seq 50); do redis_up && break; sleep 0.2; done
  redis_up || { echo "bench: Redis did not start"; exit 1; }
fi

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "bench: something already listens on 127.0.0.1:$port; set BENCH_SMTP_PORT" >&2
  exit 1
fi

echo "bench: building"
go build -o bin/practicemail ./cmd/practicemail
go build -o bin/bench-fanout ./bench/fanout

sink_log=$(mktemp -t smtp-sink.XXXXXX)
sink_args=(-c)
# smtp-sink refuses to run as root without -u.
if [ "$(id -u)" = 0 ]; then sink_args+=(-u root); fi
"$sink" "${sink_args[@]}" "127.0.0.1:$port" 1000 >"$sink_log" 2>&1 &
sink_pid=$!
cleanup() {
  kill "$sink_pid" 2>/dev/null || true
  wait "$sink_pid" 2>/dev/null || true
  rm -f "$sink_log"
}
trap cleanup EXIT
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
kill -0 "$sink_pid" 2>/dev/null || { echo "bench: smtp-sink did not start:"; cat "$sink_log"; exit 1; }

# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
bin/bench-fanout -bin bin/practicemail -smtp "127.0.0.1:$port" -sink-log "$sink_log" -sink-pid "$sink_pid" \
  -sizes "$sizes" -runs "$runs" -conns "$conns" -sqlite-sync "$sync" -pg "$pg_url" ${scaleout} ${campaign} -redis "$redis_url" \
  -subscribe "$subscribe" -subscribe-rate "$subscribe_rate" -subscribe-runs "$subscribe_runs" \
  -inquiries "$inquiries" -inquiry-rate "$inquiry_rate" -inquiry-post-rate "$inquiry_post_rate" -out bench-results ${BENCH_ARGS:-}
