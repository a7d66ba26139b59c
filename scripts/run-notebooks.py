#!/usr/bin/python3
"""Executes the lab's notebooks headlessly with the tslab kernel and checks them in a real browser.

For each notebook: run every cell through nbclient (fast mode: INFTY_FAST=1), fail on any error output, on an
error reply (tslab reports type errors and exceptions only as stderr text, with an empty error message) and on
error text in stderr streams (including `UncaughtException` from timer callbacks, caught by a final flush cell);
print the failing cell's source and stderr. Write the executed notebook and its HTML export to
test-artifacts/notebooks/, then run scripts/check-html.js (headless Chromium): every figure rendered, no request
left the machine, a screenshot per notebook. A JSON report goes to test-artifacts/notebooks/report.json.

Usage: /usr/bin/python3 scripts/run-notebooks.py [NOTEBOOK ...] [--full] [--no-browser]
Debian's Jupyter lives in /usr/bin/python3 (a pyenv python3 on PATH may lack it).
"""
import json, os, re, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test-artifacts", "notebooks")
os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in [os.path.join(ROOT, "jupyter"), os.environ.get("JUPYTER_PATH", "")] if p)
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # silences a debugpy warning on every kernel start

try:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from nbconvert import HTMLExporter
except ImportError as err:
    sys.exit(f"run-notebooks: Jupyter's Python modules are missing ({err}); run: bash scripts/setup.sh")

# Error text tslab writes to stderr: type errors ("3:7 - Cannot find name"), thrown errors and their stacks,
# async failures. Any OTHER stderr fails too (a notebook shows it as a red box): the lab writes notes and progress to
# stdout/displays inside a kernel, so stderr is left for real warnings, which a notebook must declare in its metadata:
# {"infty": {"expected_stderr": ["regex", ...]}} (each stderr line must match one).
ERROR_RE = re.compile(
    r"(^|\n)\s*(\d+:\d+ - |UncaughtException|UnhandledPromiseRejection|(\w+)?Error\b|Uncaught\b|\s+at .+:\d+:\d+\)?$)",
    re.M)
FLUSH = "// runner: let pending timers fire so their exceptions land in a cell\nawait new Promise((r) => setTimeout(r, 500));"


def cell_text(outputs, name):
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") == name)


KERNEL_START_TIMEOUT = int(os.environ.get("INFTY_KERNEL_START_TIMEOUT", "45"))  # seconds to answer kernel_info
KERNEL_START_ATTEMPTS = 2
BUDGET_BYTES = 5 * 1024 * 1024  # figure JSON per notebook in fast mode (issue 18)


def figure_bytes(nb):
    """Bytes of figure/table HTML the notebook's outputs carry, without the bundle cell (the same on every page)."""
    n = 0
    for c in nb.cells:
        for o in c.get("outputs", []):
            html = o.get("data", {}).get("text/html", "") if o.get("output_type") in ("display_data", "execute_result") else ""
            if "data-infty-bundle" not in html:
                n += len(html.encode("utf-8"))
    return n


def slider_count(nb):
    """Interactive figures (plotly layouts with a slider) in the outputs: the browser must find and move each."""
    return sum(len(re.findall(r'"sliders":\[\{', o.get("data", {}).get("text/html", "")))
               for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") in ("display_data", "execute_result"))


def unexpected_stderr(text, allowed):
    return [l for l in text.splitlines() if l.strip() and not any(re.search(a, l) for a in allowed)]


def figure_count(nb):
    """Figures the page must draw: divs tagged by src/viz's figureHTML, and inline PNG grids."""
    figs = imgs = 0
    for c in nb.cells:
        for o in c.get("outputs", []):
            html = o.get("data", {}).get("text/html", "") if o.get("output_type") in ("display_data", "execute_result") else ""
            figs += len(re.findall(r'class="infty-fig"', html))
            imgs += len(re.findall(r'<figure class="infty-img"', html))
    return figs, imgs


def run_one(path, full, timeout):
    name = os.path.splitext(os.path.basename(path))[0]
    nb = nbformat.read(path, as_version=4)
    entry = {"notebook": os.path.relpath(path, ROOT), "name": name, "ok": False, "errors": []}
    if any(c.cell_type == "code" and c.get("outputs") for c in nb.cells):
        entry["errors"].append("committed with outputs: clear them (jupyter nbconvert --clear-output --inplace)")
    nb.cells.append(nbformat.v4.new_code_cell(FLUSH))
    nb.cells[-1].metadata["tags"] = ["runner-flush"]
    pristine = nbformat.from_dict(json.loads(json.dumps(nb)))  # a clean copy for a retried kernel start
    allowed = nb.metadata.get("infty", {}).get("expected_stderr", [])
    env_fast = "0" if full else "1"
    os.environ["INFTY_FAST"] = env_fast
    t0 = time.time()
    failed_at = None
    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        client = NotebookClient(nb, kernel_name="tslab", timeout=timeout, allow_errors=False,
                                startup_timeout=KERNEL_START_TIMEOUT,
                                resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
        try:
            client.execute()
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
            failed_at = getattr(err, "cell_index", None)
            # tslab's error replies carry no message (it writes errors to stderr); the scan below shows the cell.
            entry["errors"].append(f"{type(err).__name__} in cell {failed_at}")
        except (RuntimeError, TimeoutError) as err:
            # no cell ran: the kernel never answered kernel_info (a zeromq bind race in tslab, guarded against in
            # jupyter/kernels/tslab/start.js; scripts/kernel-start-check.py measures it)
            if any(c.get("execution_count") is not None for c in nb.cells if c.cell_type == "code"):
                raise
            msg = (f"the tslab kernel did not answer within {KERNEL_START_TIMEOUT} s of starting "
                   f"(attempt {attempt} of {KERNEL_START_ATTEMPTS}: {type(err).__name__}: {err})")
            if attempt == KERNEL_START_ATTEMPTS:
                entry["errors"].append(msg + "; giving up")
                failed_at = 0
                break
            print(f"[notebooks]   {msg}; retrying with a fresh kernel", flush=True)
            entry.setdefault("kernelStartRetries", 0)
            entry["kernelStartRetries"] += 1
            nb = nbformat.from_dict(json.loads(json.dumps(pristine)))
            continue
        break
    entry["seconds"] = round(time.time() - t0, 1)

    # Scan every executed cell: error outputs and error text on stderr.
    for i, c in enumerate(nb.cells):
        if c.cell_type != "code":
            continue
        outs = c.get("outputs", [])
        errs = [o for o in outs if o.get("output_type") == "error"]
        stderr = cell_text(outs, "stderr")
        bad = errs or ERROR_RE.search(stderr) or unexpected_stderr(stderr, allowed)
        ran = c.get("execution_count") is not None
        if failed_at is None and not ran and i < len(nb.cells):
            failed_at = i
        if bad:
            failed_at = i if failed_at is None else failed_at
            detail = "\n".join(f"{o.get('ename')}: {o.get('evalue')}" for o in errs) + stderr
            where = "after the last cell (async)" if "runner-flush" in c.metadata.get("tags", []) else f"cell {i}"
            entry["errors"].append(f"error output in {where}:\n--- source ---\n{c.source[:800]}\n--- stderr ---\n{detail.strip()[:3000]}")
    if failed_at is not None and not any("error output in" in e for e in entry["errors"]) and failed_at < len(nb.cells):
        c = nb.cells[failed_at]
        entry["errors"].append(f"failed in cell {failed_at}:\n--- source ---\n{c.source[:800]}\n--- stderr ---\n{cell_text(c.get('outputs', []), 'stderr')[:3000]}")

    nb.cells = [c for c in nb.cells if "runner-flush" not in c.metadata.get("tags", [])]
    os.makedirs(OUT, exist_ok=True)
    executed = os.path.join(OUT, f"{name}.ipynb")
    nbformat.write(nb, executed)
    html_path = os.path.join(OUT, f"{name}.html")
    body, _ = HTMLExporter().from_notebook_node(nb)
    with open(html_path, "w", encoding="utf-8") as f:
        f.write(body)
    entry["executed"] = os.path.relpath(executed, ROOT)
    entry["html"] = os.path.relpath(html_path, ROOT)
    entry["figures"], entry["images"] = figure_count(nb)
    entry["sliders"] = slider_count(nb)
    entry["figureBytes"] = figure_bytes(nb)
    if not full and entry["figureBytes"] > BUDGET_BYTES:
        entry["errors"].append(f"figures carry {entry['figureBytes'] / 1e6:.1f} MB of HTML/JSON (budget {BUDGET_BYTES / 1e6:.1f} MB in fast mode)")
    entry["ok"] = not entry["errors"]
    return entry


def main(argv):
    full = "--full" in argv
    browser = "--no-browser" not in argv
    paths = [a for a in argv if not a.startswith("--")]
    if not paths:
        nbdir = os.path.join(ROOT, "notebooks")
        paths = sorted(os.path.join(nbdir, f) for f in os.listdir(nbdir) if f.endswith(".ipynb"))
    timeout = int(os.environ.get("INFTY_CELL_TIMEOUT", "900"))
    t0 = time.time()
    report = []
    for p in paths:
        print(f"[notebooks] executing {os.path.relpath(p, ROOT)} ({'full' if full else 'fast'} mode) ...", flush=True)
        e = run_one(p, full, timeout)
        report.append(e)
        print(f"[notebooks]   {'ok' if e['ok'] else 'FAILED'} in {e['seconds']} s; {e['figures']} figures ({e['sliders']} with sliders, {e['figureBytes'] / 1e6:.2f} MB), {e['images']} images", flush=True)
        for err in e["errors"]:
            print("[notebooks]   " + err.replace("\n", "\n[notebooks]   "), flush=True)
    os.makedirs(OUT, exist_ok=True)
    report_path = os.path.join(OUT, "report.json")
    with open(report_path, "w") as f:
        json.dump(report, f, indent=2)
    rc = 0 if all(e["ok"] for e in report) else 1
    if browser:
        b = subprocess.run(["node", os.path.join(ROOT, "scripts", "check-html.js"), report_path], cwd=ROOT)
        rc = rc or b.returncode
    print(f"[notebooks] {len(report)} notebooks, {'all passed' if rc == 0 else 'FAILURES'} in {time.time() - t0:.1f} s", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
