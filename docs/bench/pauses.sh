#!/bin/bash
# Does the machine stop a process that never waits? A C loop pinned to CPU 1 reads the clock for
# 10 s, as fast as it can, and counts the gaps between two readings longer than 0.5 ms and 1 ms:
# time the process did not run at all (the kernel or the hypervisor ran something else). Needs gcc.
set -eu
work=$(mktemp -d)
trap 'rm -r "$work"' EXIT
cat > "$work/pauses.c" <<'C'
#include <stdio.h>
#include <time.h>
static long now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000L + t.tv_nsec; }
int main(void) {
    long end = now() + 10000000000L, last = now(), longest = 0;
    int over_half = 0, over_one = 0;
    while (last < end) {
        long t = now(), gap = t - last;
        if (gap > 500000) over_half++;
        if (gap > 1000000) over_one++;
        if (gap > longest) longest = gap;
        last = t;
    }
    printf("in 10 s: %d gaps over 0.5 ms, %d over 1 ms, the longest %.2f ms\n", over_half, over_one, longest / 1e6);
    return 0;
}
C
gcc -O2 -o "$work/pauses" "$work/pauses.c"
taskset -c 1 "$work/pauses"
