"""torch.mm GFLOP/s on the engine benchmark's GEMM shapes (bench/engine.ts runs it in the same
invocation as its own GEMMs, under a PyTorch 2.x python: MKL in the pip wheel).

stdin: one JSON object {"shapes": [{"name", "ta", "tb", "M", "N", "K"}], "threads": [1, 2],
"window_sec": 1.5}; stdout: one JSON line per shape and thread count. Operands are stored as
ctrkit's are (A [K,M] when ta, B [N,K] when tb) and passed as transposed views, so MKL gets the
transpose flags rather than a copy; timing as bench/engine.ts's gflops(): best of 5 windows.
"""
import json, sys, time

import torch

req = json.load(sys.stdin)
info = f"torch {torch.__version__} mkl={torch.backends.mkl.is_available()}"
for s in req["shapes"]:
    M, N, K = s["M"], s["N"], s["K"]
    a = torch.rand(K, M) - 0.5 if s["ta"] else torch.rand(M, K) - 0.5
    b = torch.rand(N, K) - 0.5 if s["tb"] else torch.rand(K, N) - 0.5
    A = a.t() if s["ta"] else a
    B = b.t() if s["tb"] else b
    C = torch.empty(M, N)
    flops = 2.0 * M * N * K
    for t in req["threads"]:
        torch.set_num_threads(t)
        torch.mm(A, B, out=C)
        best = 0.0
        for _ in range(5):
            t0 = time.perf_counter()
            n = 0
            while time.perf_counter() - t0 < req["window_sec"] / 5:
                torch.mm(A, B, out=C)
                n += 1
            best = max(best, n * flops / (time.perf_counter() - t0) / 1e9)
        print(json.dumps({"name": s["name"], "threads": t, "gflops": best, "torch": info}), flush=True)
