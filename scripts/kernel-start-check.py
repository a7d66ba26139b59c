#!/usr/bin/python3
"""Starts the lab's tslab kernel N times and checks each answers kernel_info within a few seconds.

The race it checks (jupyter/kernels/tslab/start.js): tslab uses its zeromq sockets while they are still binding; zeromq
then throws EBUSY and the kernel may never answer. It is rare (about 1 start in 13 on a loaded 2-core machine), so
this runs many starts: with --parallel-bind the kernel starts as tslab alone would, without it through the launcher.

Usage: /usr/bin/python3 scripts/kernel-start-check.py [N=3] [--parallel-bind]
Exit 1 if any start failed.
"""
import os, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in [os.path.join(ROOT, "jupyter"), os.environ.get("JUPYTER_PATH", "")] if p)
from jupyter_client.manager import start_new_kernel  # noqa: E402

args = sys.argv[1:]
n = int(next((a for a in args if a.isdigit()), "3"))
env = dict(os.environ)
if "--parallel-bind" in args:
    env["INFTY_KERNEL_PARALLEL_BIND"] = "1"
failed = 0
for i in range(n):
    t0 = time.time()
    try:
        km, kc = start_new_kernel(kernel_name="tslab", startup_timeout=30, env=env, cwd=ROOT)
        print(f"start {i + 1}/{n}: kernel_info after {time.time() - t0:.1f} s")
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    except Exception as err:  # a start that never answers: RuntimeError / TimeoutError from jupyter_client
        failed += 1
        print(f"start {i + 1}/{n}: FAILED after {time.time() - t0:.1f} s: {type(err).__name__}: {err}")
print(f"{failed} of {n} starts failed")
sys.exit(1 if failed else 0)
