#!/bin/bash
# Where a server's CPU goes at a fixed rate. Usage, from the project's top folder:
#   docs/bench/threads.sh lessons/08_NonBlockingEcho.java [ARGS...]
# The lesson runs pinned to CPU 0, lesson 19 on CPU 1 in an open loop at 1,000 msgs/s over 100
# connections. Prints the CPU time of each of the server's threads over 3 s (from
# /proc/PID/task/*/stat, in 1/100 s), then its system calls over 3 s (strace -c -f).
set -u
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
taskset -c 0 ./jbang -R-Xmx512m -R-Dsocketlab.quiet=true "$@" --port 0 > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 60); do grep -q "listening on" "$work/server.log" && break; sleep 0.5; done
port=$(grep -o "listening on [^ ]*:[0-9]*" "$work/server.log" | head -1 | sed 's/.*://')
taskset -c 1 ./jbang lessons/19_LoadTest.java --port "$port" --connections 100 --rate 1000 \
    --warmup 2 --duration 9 > "$work/load.out" 2>&1 &
load=$!
sleep 6   # the generator's JVM starts, the barrier opens, the warm-up runs
# One line per thread name: the name, and user + system CPU ticks (fields 14 and 15 of stat).
threads() {
  for t in /proc/$server/task/*; do
    s=$(cat "$t/stat"); f=(${s##*) })
    echo "$(tr ' ' _ < "$t/comm") $((f[11] + f[12]))"
  done | awk '{a[$1] += $2} END {for (k in a) print k, a[k]}' | sort
}
threads > "$work/before"; sleep 3; threads > "$work/after"
echo "server threads' CPU over 3 s (1/100 s; 3,000 messages planned):"
join -a2 -e0 -o 0,1.2,2.2 "$work/before" "$work/after" \
  | awk '{d = $3 - $2; total += d; if (d > 0) print "  " $1, d} END {print "  total", total}'
timeout 3 strace -c -f -p "$server" 2>&1 | grep -E "syscall|read|write|recv|send|epoll|futex|total"
wait "$load"; tail -1 "$work/load.out"
kill "$server"; rm -r "$work"
