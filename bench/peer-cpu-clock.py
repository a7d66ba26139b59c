"""Runs /work/shared/peer-bench/bench_peer.py with CPU time as its clock: time.perf_counter becomes
time.process_time (this process's CPU seconds, all threads), so every "ms" it reports is CPU ms. With --threads 1
that is the per-core cost of each row, which a loaded shared machine does not inflate as it inflates wall time.
Used by `node dist/bench/vs-peer.js --clock cpu`.

    /usr/bin/python3 bench/peer-cpu-clock.py /work/shared/peer-bench/bench_peer.py --threads 1 ...
"""
import runpy
import sys
import time

time.perf_counter = time.process_time
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
