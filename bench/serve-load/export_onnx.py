#!/usr/bin/env python3
"""Copy a sentence-transformers model folder and add model.onnx for infinity-emb's optimum engine.

    python bench/serve-load/export_onnx.py SRC DEST      # run with the infinity venv's python

SRC: e.g. ~/.cache/quiver/models/all-MiniLM-L6-v2 (model.safetensors, tokenizer.json, config.json,
modules.json, 1_Pooling). DEST gets a copy of it plus model.onnx: the transformers encoder
(input_ids, attention_mask, token_type_ids -> last_hidden_state, batch and sequence axes
dynamic), exported with torch.onnx.export's TorchScript exporter (dynamo=False; optimum 1.24's
exporter calls torch.onnx.export without it, which on torch 2.13 needs onnxscript). Checks the
ONNX output, mean-pooled, against sentence-transformers on a few sentences.
"""
import shutil
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from sentence_transformers import SentenceTransformer
from transformers import AutoModel, AutoTokenizer

src, dest = Path(sys.argv[1]).expanduser(), Path(sys.argv[2])
if dest.exists():
    shutil.rmtree(dest)
shutil.copytree(src, dest)
tok = AutoTokenizer.from_pretrained(dest)
model = AutoModel.from_pretrained(dest).eval()
enc = tok(["export me", "a second, longer sentence to export"], padding=True, return_tensors="pt")
names = ["input_ids", "attention_mask", "token_type_ids"]
axes = {n: {0: "batch_size", 1: "sequence_length"} for n in names}
axes["last_hidden_state"] = {0: "batch_size", 1: "sequence_length"}
with torch.no_grad():
    torch.onnx.export(model, tuple(enc[n] for n in names), str(dest / "model.onnx"), input_names=names,
                      output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)

texts = ["A man is eating food.", "The quarterly report shows revenue growth in every region except the north.",
         "Where is the nearest train station?"]
ref = SentenceTransformer(str(src), device="cpu").encode(texts, normalize_embeddings=True)
sess = ort.InferenceSession(str(dest / "model.onnx"), providers=["CPUExecutionProvider"])
e = tok(texts, padding=True, return_tensors="np")
hidden = sess.run(None, {n: e[n].astype(np.int64) for n in names})[0]
mask = e["attention_mask"][..., None].astype(np.float32)
pooled = (hidden * mask).sum(1) / mask.sum(1)
pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
cos = (pooled * ref).sum(1)
print(f"wrote {dest / 'model.onnx'}; cosine to sentence-transformers: min {cos.min():.6f}")
sys.exit(0 if cos.min() >= 0.9999 else 1)
