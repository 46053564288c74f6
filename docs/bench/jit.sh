#!/bin/bash
# Does the generator's JIT make it late? The C echo on CPU 0; lesson 19 on CPU 1 in an open loop at
# 10,000 msgs/s over 100 connections, 2 s of warm-up and 5 s measured, twice with the JVM's usual
# JIT (C1, then C2 for the hottest code) and twice with C1 only (-XX:TieredStopAtLevel=1, as the
# benchmark runs it). The last column, late, counts the sends made over 1 ms behind their plan.
# Run it from the project's top folder after the benchmark has built target/bench/epoll_echo.
set -u
cd "$(dirname "$0")/../.."
. docs/bench/c-echo.sh
echo "JIT        target, conns, rate, msgs/s, p50, p90, p99, p99.9, max (µs), errors, refused, starved, late"
for jit in "C1 and C2:" "C1 only:-R-XX:TieredStopAtLevel=1"; do
  for _ in 1 2; do
    printf '%-10s ' "${jit%%:*}"
    taskset -c 1 ./jbang ${jit#*:} lessons/19_LoadTest.java --port "$port" --connections 100 \
        --rate 10000 --warmup 2 --duration 5 2>/dev/null | tail -1
  done
done
kill "$echo_pid"
