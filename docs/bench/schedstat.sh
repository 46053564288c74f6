#!/bin/bash
# Did the processes get their CPUs? The C echo on CPU 0, the C client on CPU 1, 100 connections,
# 5 s; over 2 s in the middle, how long each ran and how long it was ready to run but waited in its
# CPU's queue (/proc/PID/schedstat: nanoseconds run, nanoseconds waited). Run it from the project's
# top folder after the benchmark has built target/bench/epoll_echo and target/bench/epoll_load.
set -u
cd "$(dirname "$0")/../.."
. docs/bench/c-echo.sh
taskset -c 1 target/bench/epoll_load --port "$port" --connections 100 --seconds 5 &
load_pid=$!
sleep 2
read -r srun0 swait0 _ < /proc/$echo_pid/schedstat; read -r lrun0 lwait0 _ < /proc/$load_pid/schedstat
sleep 2
read -r srun1 swait1 _ < /proc/$echo_pid/schedstat; read -r lrun1 lwait1 _ < /proc/$load_pid/schedstat
wait "$load_pid"
kill "$echo_pid"
echo "in 2,000 ms: server ran $(( (srun1 - srun0) / 1000000 )) ms and waited for CPU 0 $(( (swait1 - swait0) / 1000000 )) ms;" \
     "client ran $(( (lrun1 - lrun0) / 1000000 )) ms and waited for CPU 1 $(( (lwait1 - lwait0) / 1000000 )) ms"
