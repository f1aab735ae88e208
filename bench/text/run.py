"""Text embedding throughput: Quiver vs ONNX Runtime vs sentence-transformers (PyTorch).

Corpus: the first N (default 4000) WordNet noun glosses. A gloss is the text after the first
"| " on each synset line of /usr/share/wordnet/data.noun (lines that do not start with a space;
the license header lines do), in file order, with trailing whitespace removed.

All three embed the same texts with all cores (--threads, default: all) and produce mean-pooled,
L2-normalized fp32 vectors; the script checks that they agree (min cosine vs sentence-transformers).
- Quiver: .build/release/quiver-bench (swift build -c release --product quiver-bench), twice:
  "quiver" reads token ids produced here with the `tokenizers` library (same tokenizer.json,
  truncation at max_seq_length; the model alone, comparable with the ORT run), and "quiver-e2e"
  reads the texts and runs Quiver.TextEmbedder end to end (Swift tokenizer included).
- ONNX Runtime: fp32 ONNX export of the same weights (torch.onnx.export, cached in --cache),
  all graph optimizations, intra-op threads = --threads, the same pre-tokenized ids sorted by length
  and batched by 32 with padding to the batch maximum, mean pooling over the attention mask.
- sentence-transformers: model.encode(texts, batch_size=32), end to end (includes tokenization).
Each engine: one warm-up run, then the best of --repeat timed runs. Besides wall-clock texts/s the
script prints the process CPU seconds of the best run: on a shared, loaded machine wall time
depends on the other processes, CPU time much less (ORT's spinning worker threads inflate its CPU
time somewhat).

Run: python bench/text/run.py [--models all-MiniLM-L6-v2,all-mpnet-base-v2] [--count 4000]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOME = os.environ.get("QUIVER_HOME", os.path.expanduser("~/.cache/quiver"))


def glosses(count, path="/usr/share/wordnet/data.noun"):
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(" "):
                continue
            bar = line.find("| ")
            if bar < 0:
                continue
            out.append(line[bar + 2:].rstrip())
            if len(out) == count:
                break
    return out


def tokenize(folder, texts, max_len):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)
    t0 = time.perf_counter()
    enc = tok.encode_batch(texts)
    seconds = time.perf_counter() - t0
    return [e.ids for e in enc], seconds


def best_of(fn, repeats):
    """(result, best wall seconds, all wall seconds, process CPU seconds of the best run)."""
    fn()  # warm-up
    times = []
    result = None
    best_cpu = None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        t, c = time.perf_counter() - t0, time.process_time() - c0
        if not times or t < min(times):
            best_cpu = c
        times.append(t)
    return result, min(times), times, best_cpu


def run_quiver(folder, ids, threads, repeats, cache, name):
    exe = os.path.join(ROOT, ".build/release/quiver-bench")
    if not os.path.exists(exe):
        sys.exit("build it first: swift build -c release --product quiver-bench")
    ids_path = os.path.join(cache, name + "-ids.json")
    out_path = os.path.join(cache, name + "-quiver.f32")
    with open(ids_path, "w") as f:
        json.dump({"ids": ids}, f)
    cmd = [exe, "text", "--model", folder, "--ids", ids_path, "--threads", str(threads),
           "--repeat", str(repeats), "--out", out_path]
    res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    vecs = np.fromfile(out_path, dtype=np.float32).reshape(len(ids), -1)
    return vecs, res


def run_quiver_e2e(folder, texts, threads, repeats, cache, name):
    exe = os.path.join(ROOT, ".build/release/quiver-bench")
    texts_path = os.path.join(cache, name + "-texts.json")
    out_path = os.path.join(cache, name + "-quiver-e2e.f32")
    with open(texts_path, "w") as f:
        json.dump({"texts": texts}, f)
    cmd = [exe, "text", "--model", folder, "--texts", texts_path, "--threads", str(threads),
           "--repeat", str(repeats), "--out", out_path]
    res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    vecs = np.fromfile(out_path, dtype=np.float32).reshape(len(texts), -1)
    return vecs, res


def export_onnx(folder, path):
    if os.path.exists(path):
        return
    import torch
    from transformers import AutoModel
    inner = AutoModel.from_pretrained(folder, attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    model = Encoder(inner).eval()
    ids = torch.tensor([[0, 100, 200, 2], [0, 300, 2, 1]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    axes = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}, "last_hidden_state": {0: "batch", 1: "seq"}}
    with torch.no_grad():
        torch.onnx.export(model, (ids, mask), path, input_names=["input_ids", "attention_mask"],
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)


def run_ort(folder, ids, threads, repeats, cache, name, pad_id, batch=32):
    import onnxruntime as ort
    path = os.path.join(cache, name + ".onnx")
    export_onnx(folder, path)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    batches = []
    for b in range(0, len(order), batch):
        idx = order[b:b + batch]
        L = max(len(ids[i]) for i in idx)
        x = np.full((len(idx), L), pad_id, dtype=np.int64)
        m = np.zeros((len(idx), L), dtype=np.int64)
        for r, i in enumerate(idx):
            x[r, :len(ids[i])] = ids[i]
            m[r, :len(ids[i])] = 1
        batches.append((idx, x, m))

    def go():
        out = np.zeros((len(ids), 0), dtype=np.float32)
        rows = {}
        for idx, x, m in batches:
            h = sess.run(None, {"input_ids": x, "attention_mask": m})[0]
            mf = m[:, :, None].astype(np.float32)
            v = (h * mf).sum(1) / np.clip(mf.sum(1), 1e-9, None)
            v /= np.clip(np.linalg.norm(v, axis=1, keepdims=True), 1e-12, None)
            for r, i in enumerate(idx):
                rows[i] = v[r]
        return np.stack([rows[i] for i in range(len(ids))])

    return best_of(go, repeats)


def run_st(folder, texts, threads, repeats):
    import torch
    from sentence_transformers import SentenceTransformer
    torch.set_num_threads(threads)
    model = SentenceTransformer(folder, device="cpu")
    return best_of(lambda: model.encode(texts, batch_size=32, convert_to_numpy=True), repeats)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="all-MiniLM-L6-v2,all-mpnet-base-v2")
    ap.add_argument("--count", type=int, default=4000)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--engines", default="quiver,quiver-e2e,ort,st")
    ap.add_argument("--cache", default="/tmp/quiver-bench")
    a = ap.parse_args()
    os.makedirs(a.cache, exist_ok=True)
    texts = glosses(a.count)
    engines = a.engines.split(",")
    print(f"corpus: first {len(texts)} glosses of data.noun; threads {a.threads}; best of {a.repeat} after a warm-up; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    for name in a.models.split(","):
        folder = os.path.join(HOME, "models", name)
        max_len = json.load(open(os.path.join(folder, "sentence_bert_config.json")))["max_seq_length"]
        pad_id = json.load(open(os.path.join(folder, "config.json"))).get("pad_token_id", 0)
        ids, tok_s = tokenize(folder, texts, max_len)
        ntok = sum(len(i) for i in ids)
        print(f"\n{name}: {len(ids)} texts, {ntok} tokens (mean {ntok / len(ids):.1f}, max {max(len(i) for i in ids)}); "
              f"tokenization (tokenizers, Rust, batch): {tok_s:.3f} s", flush=True)
        results = {}
        if "quiver" in engines:
            v, res = run_quiver(folder, ids, a.threads, a.repeat, a.cache, name)
            results["quiver"] = (v, res["seconds"])
            print(f"  quiver (pre-tokenized ids)   {len(ids) / res['seconds']:8.1f} texts/s  ({res['seconds']:.3f} s; runs {res['runs']}; "
                  f"CPU {res['cpu_seconds']:.2f} s; simd {res['simd']}, blas {res['blas_core']})", flush=True)
        if "quiver-e2e" in engines:
            v, res = run_quiver_e2e(folder, texts, a.threads, a.repeat, a.cache, name)
            results["quiver-e2e"] = (v, res["seconds"])
            print(f"  quiver (e2e, Swift tokenizer) {len(ids) / res['seconds']:7.1f} texts/s  ({res['seconds']:.3f} s; runs {res['runs']}; "
                  f"CPU {res['cpu_seconds']:.2f} s)", flush=True)
        if "ort" in engines:
            v, s, runs, cpu = run_ort(folder, ids, a.threads, a.repeat, a.cache, name, pad_id)
            results["ort"] = (v, s)
            print(f"  onnxruntime (pre-tokenized)  {len(ids) / s:8.1f} texts/s  ({s:.3f} s; runs {[round(x, 3) for x in runs]}; CPU {cpu:.2f} s)", flush=True)
        if "st" in engines:
            v, s, runs, cpu = run_st(folder, texts, a.threads, a.repeat)
            results["st"] = (v, s)
            print(f"  sentence-transformers (e2e)  {len(ids) / s:8.1f} texts/s  ({s:.3f} s; runs {[round(x, 3) for x in runs]}; CPU {cpu:.2f} s)", flush=True)
        if "quiver" in results:
            q = results["quiver"][1]
            for k, label in (("ort", "onnxruntime"), ("st", "sentence-transformers")):
                if k in results:
                    print(f"  quiver / {label}: {results[k][1] / q:.2f}x")
        if "quiver-e2e" in results and "st" in results:
            print(f"  quiver e2e / sentence-transformers e2e: {results['st'][1] / results['quiver-e2e'][1]:.2f}x")
        if "st" in results:
            ref = results["st"][0]
            for k in ("quiver", "quiver-e2e", "ort"):
                if k in results:
                    cos = (results[k][0] * ref).sum(1)
                    print(f"  {k} vs sentence-transformers: min cosine {cos.min():.7f}")


if __name__ == "__main__":
    main()
