"""DeepMind's multimodal Perceiver, one 16-frame clip: Quiver (quiver-bench perceiver) vs
transformers' PerceiverForMultimodalAutoencoding on PyTorch, 2 threads each, one run.

The model is the full-size architecture (the configuration of deepmind/multimodal-perceiver:
784 latents of 512, 704 input channels, 8 self-attention layers, 16 frames of 224x224 and 30,720
samples; Tests/Fixtures/perceiver/fullsize/config.json) with deterministic formula weights (the
real weights are on no registry this machine reaches; speed does not depend on the values). It is
built once with transformers and saved with save_pretrained (config.json + model.safetensors) in
--cache; both sides load that folder. Both are fed the same formula clip and run what the
embedding needs: the multimodal preprocessor, the cross-attention over the 52,097 input rows and
the 8 latent self-attention layers (not the decoder, which reconstructs the clip). Each side runs in
its own process (one warm-up pass, then the best of --repeat wall-clock seconds, and the least
process CPU seconds of a pass, which a busy machine inflates less); its peak resident memory is read
with os.wait4 (ru_maxrss of that process alone, weights and interpreter included). The two
embeddings are compared (cosine) so the timings are of the same computation.

    swift build -c release --product quiver-bench
    ~/.cache/quiver/bench-venv/bin/python bench/perceiver/run.py [--threads 2] [--repeat 2]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts/fixtures"))


def make_model(folder):
    """The full-size model with formula weights, saved once."""
    if (folder / "model.safetensors").exists():
        return
    import torch
    from transformers import PerceiverForMultimodalAutoencoding
    import perceiver_fullsize_reference as ref
    torch.set_grad_enabled(False)
    model = PerceiverForMultimodalAutoencoding(ref.real_config()).eval()
    ref.fill(model)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)


def torch_worker(folder, threads, repeats):
    """Runs in its own process: prints one JSON line."""
    import torch
    from transformers import PerceiverForMultimodalAutoencoding
    import perceiver_fullsize_reference as ref
    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)
    t0 = time.perf_counter()
    model = PerceiverForMultimodalAutoencoding.from_pretrained(folder).eval()
    load = time.perf_counter() - t0
    c = model.config
    image, audio = ref.clip_inputs(c.num_frames, c.output_shape[2], c.num_frames * c.audio_samples_per_frame)
    inputs = dict(image=image, audio=audio, label=torch.zeros((1, c.num_labels)))
    p = model.perceiver
    runs, cpu, emb = [], [], None
    for r in range(repeats + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        pre, _, _ = p.input_preprocessor(inputs)
        state = p.encoder(p.embeddings(batch_size=1), inputs=pre).last_hidden_state
        e = state.mean(dim=1)
        emb = (e / e.norm(dim=-1, keepdim=True))[0]
        if r > 0:
            runs.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    print(json.dumps({"seconds": min(runs), "runs": runs, "cpu_seconds": min(cpu), "load_seconds": load, "threads": threads,
                      "torch": torch.__version__, "embedding": emb.tolist()}))


def measured(cmd, env=None):
    """Runs cmd, returns (its JSON line, its peak RSS in MB)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        sys.exit(f"failed ({status}): {' '.join(cmd)}")
    return json.loads(out.decode().strip().splitlines()[-1]), usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/quiver/bench-data/perceiver-fullsize-formula"))
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    folder = pathlib.Path(a.cache)
    if a.worker:
        return torch_worker(folder, a.threads, a.repeat)
    make_model(folder)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads))
    print(f"load average {open('/proc/loadavg').read().split()[:3]}; model {folder}")
    torch_result, torch_rss = measured([sys.executable, __file__, "--worker", "--cache", str(folder),
                                        "--threads", str(a.threads), "--repeat", str(a.repeat)], env)
    exe = os.environ.get("QUIVER_BENCH_EXE", str(ROOT / ".build/release/quiver-bench"))
    quiver_result, quiver_rss = measured([exe, "perceiver", "--model", str(folder), "--threads", str(a.threads),
                                          "--repeat", str(a.repeat)], env)
    t, q = torch_result["embedding"], quiver_result["embedding"]
    dot = sum(x * y for x, y in zip(t, q))
    cos = dot / (sum(x * x for x in t) ** 0.5 * sum(y * y for y in q) ** 0.5)
    ts, qs = torch_result["seconds"], quiver_result["seconds"]
    print(f"PyTorch {torch_result['torch']} ({a.threads} threads): {ts:.2f} s per clip (runs {[round(x, 2) for x in torch_result['runs']]}), "
          f"CPU {torch_result['cpu_seconds']:.2f} s, peak RSS {torch_rss:.0f} MB, load {torch_result['load_seconds']:.1f} s")
    print(f"Quiver ({a.threads} threads): {qs:.2f} s per clip (runs {[round(x, 2) for x in quiver_result['runs']]}), "
          f"CPU {quiver_result['cpu_seconds']:.2f} s, peak RSS {quiver_rss:.0f} MB, load {quiver_result['load_seconds']:.1f} s, "
          f"encoder working memory {quiver_result['working_bytes'] / 1e6:.0f} MB (estimate)")
    print(f"Quiver / PyTorch speed: {ts / qs:.2f}x (CPU time {torch_result['cpu_seconds'] / quiver_result['cpu_seconds']:.2f}x); peak memory {quiver_rss / torch_rss:.2f}x of PyTorch's; embedding cosine {cos:.6f}")


if __name__ == "__main__":
    main()
