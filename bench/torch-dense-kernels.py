# The dense kernels of bench/kernels.ts (conv2d 3x3 B=16 32x32 64->64, matMul 1024x512x512) in PyTorch, 1 and 2 threads:
# what bounds the lab against the authors code on this CPU (issue 14). Run with Debian python3-torch:
#   LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 bench/torch-dense-kernels.py > bench/torch-dense-kernels.json
import torch, time, json, os
res = {}
for th in (1, 2):
    torch.set_num_threads(th)
    x = torch.randn(16, 64, 32, 32, requires_grad=True); w = torch.randn(64, 64, 3, 3, requires_grad=True)
    flops = 2 * 16 * 32 * 32 * 64 * 64 * 9
    for mode in ("fwd", "fwd+bwd"):
        ts = []
        for i in range(7):
            t0 = time.perf_counter()
            y = torch.nn.functional.conv2d(x, w, padding=1)
            if mode == "fwd+bwd": y.sum().backward()
            ts.append(time.perf_counter() - t0)
        t = sorted(ts[2:])[len(ts[2:]) // 2]
        res[f"{th} thread(s) {mode}"] = round((flops * (3 if mode == 'fwd+bwd' else 1)) / t / 1e9, 1)
    a = torch.randn(1024, 512); b = torch.randn(512, 512)
    ts = []
    for i in range(7):
        t0 = time.perf_counter(); (a @ b).sum(); ts.append(time.perf_counter() - t0)
    res[f"{th} thread(s) matMul 1024x512x512"] = round(2 * 1024 * 512 * 512 / sorted(ts[2:])[2] / 1e9, 1)
print(json.dumps({"torch": torch.__version__, "gflops": res, "loadavg": os.getloadavg()}))
