"""int8 text embedding: Quiver int8 vs Quiver fp32 vs ONNX Runtime fp32 vs ONNX Runtime dynamic int8.

Same corpus, tokenization, batching and timing rules as bench/text/run.py (whose helpers this
imports): the first N WordNet noun glosses, pre-tokenized with the `tokenizers` library, all
cores, one warm-up then the best of --repeat runs, wall-clock texts/s and process CPU seconds.
- quiver fp32 / int8: .build/release/quiver-bench text --precision fp32|int8 (weights quantized
  per output channel at load, activations per token, u8 x s8 products with AVX-512 VNNI).
- onnxruntime fp32: the fp32 ONNX export of bench/text/run.py (torch.onnx.export, cached).
- onnxruntime int8: onnxruntime.quantization.quantize_dynamic of that export with its defaults
  (QInt8 weights, per-tensor, dynamic u8 activations: the usual way to get int8 from ORT), cached.
Cosines are against ONNX Runtime fp32 (which matches sentence-transformers, see run.py).

Run: python bench/text/int8.py [--models all-MiniLM-L6-v2,all-mpnet-base-v2] [--count 4000]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import HOME, ROOT, best_of, export_onnx, glosses, tokenize  # noqa: E402


def run_quiver(folder, ids, threads, repeats, cache, name, precision):
    exe = os.path.join(ROOT, ".build/release/quiver-bench")
    if not os.path.exists(exe):
        sys.exit("build it first: swift build -c release --product quiver-bench")
    ids_path = os.path.join(cache, name + "-ids.json")
    out_path = os.path.join(cache, f"{name}-quiver-{precision}.f32")
    with open(ids_path, "w") as f:
        json.dump({"ids": ids}, f)
    cmd = [exe, "text", "--model", folder, "--ids", ids_path, "--threads", str(threads),
           "--repeat", str(repeats), "--out", out_path, "--precision", precision]
    res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return np.fromfile(out_path, dtype=np.float32).reshape(len(ids), -1), res


def run_ort(path, ids, threads, repeats, pad_id, batch=32):
    import onnxruntime as ort
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


def quantized(fp32_path):
    path = fp32_path.replace(".onnx", "-int8-dynamic.onnx")
    if not os.path.exists(path):
        from onnxruntime.quantization import QuantType, quantize_dynamic
        quantize_dynamic(fp32_path, path, weight_type=QuantType.QInt8)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="all-MiniLM-L6-v2,all-mpnet-base-v2")
    ap.add_argument("--count", type=int, default=4000)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache", default="/tmp/quiver-bench")
    a = ap.parse_args()
    os.makedirs(a.cache, exist_ok=True)
    texts = glosses(a.count)
    print(f"corpus: first {len(texts)} glosses of data.noun; threads {a.threads}; best of {a.repeat} after a warm-up; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    for name in a.models.split(","):
        folder = os.path.join(HOME, "models", name)
        max_len = json.load(open(os.path.join(folder, "sentence_bert_config.json")))["max_seq_length"]
        pad_id = json.load(open(os.path.join(folder, "config.json"))).get("pad_token_id", 0)
        ids, _ = tokenize(folder, texts, max_len)
        ntok = sum(len(i) for i in ids)
        print(f"\n{name}: {len(ids)} texts, {ntok} tokens (mean {ntok / len(ids):.1f}); load average {os.getloadavg()[0]:.2f}", flush=True)
        fp32_path = os.path.join(a.cache, name + ".onnx")
        export_onnx(folder, fp32_path)
        int8_path = quantized(fp32_path)
        res = {}
        for precision in ("fp32", "int8"):
            v, r = run_quiver(folder, ids, a.threads, a.repeat, a.cache, name, precision)
            res["quiver-" + precision] = (v, r["seconds"], r["cpu_seconds"])
            print(f"  quiver {precision}            {len(ids) / r['seconds']:8.1f} texts/s  ({r['seconds']:.3f} s; runs {r['runs']}; "
                  f"CPU {r['cpu_seconds']:.2f} s; simd {r['simd']}, int8 form {r.get('int8_form')})", flush=True)
        for label, path in (("ort-fp32", fp32_path), ("ort-int8", int8_path)):
            v, s, runs, cpu = run_ort(path, ids, a.threads, a.repeat, pad_id)
            res[label] = (v, s, cpu)
            print(f"  onnxruntime {label[4:]} {'(dynamic)' if label == 'ort-int8' else '         '} {len(ids) / s:8.1f} texts/s  "
                  f"({s:.3f} s; runs {[round(x, 3) for x in runs]}; CPU {cpu:.2f} s)", flush=True)
        q8 = res["quiver-int8"][1]
        for k in ("quiver-fp32", "ort-fp32", "ort-int8"):
            print(f"  quiver int8 / {k}: {res[k][1] / q8:.2f}x wall, {res[k][2] / res['quiver-int8'][2]:.2f}x CPU")
        ref = res["ort-fp32"][0]
        for k in ("quiver-fp32", "quiver-int8", "ort-int8"):
            cos = (res[k][0] * ref).sum(1)
            print(f"  {k} vs onnxruntime fp32: min cosine {cos.min():.5f}, mean {cos.mean():.6f}")


if __name__ == "__main__":
    main()
