"""Whisper-base encoder throughput: Quiver (quiver-bench whisper) vs PyTorch transformers, one run.

Both sides run the same architecture (d_model 512, 6 layers, 8 heads, 80 mels) on 30 s windows
(1500 encoder frames each), fp32, batch of N windows, all cores. Quiver loads the real
faster-whisper-base model.bin (float16 widened to float32); PyTorch runs transformers'
WhisperEncoder with the same config and random weights (speed does not depend on the values).
Encoder only (input_features -> last_hidden_state); Quiver's log-mel time is reported apart.
The sides alternate for --rounds rounds; each reports its best of --repeat timed batches.

    swift build -c release --product quiver-bench
    /work/venv/bin/python bench/audio/run.py [--windows 4] [--threads 2] [--rounds 3] [--repeat 2]
"""
import argparse, json, os, subprocess, time

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ap = argparse.ArgumentParser()
ap.add_argument("--model", default=os.path.expanduser("~/.cache/quiver/models/faster-whisper-base"))
ap.add_argument("--windows", type=int, default=4)
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--repeat", type=int, default=2)
ap.add_argument("--mode", default="intra", choices=["intra", "across"])
a = ap.parse_args()

import torch
from transformers import WhisperConfig
from transformers.models.whisper.modeling_whisper import WhisperEncoder

torch.set_num_threads(a.threads)
cfg = WhisperConfig(d_model=512, encoder_layers=6, encoder_attention_heads=8, encoder_ffn_dim=2048,
                    decoder_layers=6, decoder_attention_heads=8, decoder_ffn_dim=2048, num_mel_bins=80)
enc = WhisperEncoder(cfg).eval()
x = torch.randn(a.windows, 80, 3000)


def torch_round():
    with torch.inference_mode():
        enc(x)  # warm-up
        best = float("inf")
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            enc(x)
            best = min(best, time.perf_counter() - t0)
    return best


def quiver_round():
    out = subprocess.run([os.path.join(root, ".build/release/quiver-bench"), "whisper", "--model", a.model,
                          "--windows", str(a.windows), "--threads", str(a.threads), "--repeat", str(a.repeat),
                          "--mode", a.mode], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


rows = []
for r in range(a.rounds):
    load = os.getloadavg()[0]
    q = quiver_round()
    t = torch_round()
    row = {"round": r, "load1": round(load, 2), "quiver_windows_per_s": round(a.windows / q["encoder_seconds"], 3),
           "torch_windows_per_s": round(a.windows / t, 3), "speedup": round(t / q["encoder_seconds"], 3),
           "quiver_log_mel_ms": q["log_mel_ms_per_window"], "blas": q["blas_core"]}
    rows.append(row)
    print(json.dumps(row), flush=True)
best_q = max(r["quiver_windows_per_s"] for r in rows)
best_t = max(r["torch_windows_per_s"] for r in rows)
print(json.dumps({"windows": a.windows, "threads": a.threads, "mode": a.mode, "torch": torch.__version__,
                  "best_quiver_windows_per_s": best_q, "best_torch_windows_per_s": best_t,
                  "median_speedup": sorted(r["speedup"] for r in rows)[len(rows) // 2]}))
