# Sourced by the scripts beside it: starts the benchmark's C echo pinned to CPU 0 and sets
# echo_pid and port. Needs target/bench/epoll_echo, which the benchmark builds.
echo_log=$(mktemp)
taskset -c 0 target/bench/epoll_echo --port 0 > "$echo_log" &
echo_pid=$!
for _ in $(seq 1 50); do grep -q "listening on" "$echo_log" && break; sleep 0.1; done
port=$(grep -o ":[0-9]*" "$echo_log" | tr -d :)
rm "$echo_log"
