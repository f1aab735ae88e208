"""Image model throughput: Quiver vs PyTorch, forward passes on batches of synthetic inputs.

Models (same weights on both sides):
- resnet50: torchvision resnet50() with random weights (state dict saved with torch.save, loaded
  by Quiver from that .pth), penultimate 2048-d features (fc removed on the PyTorch side).
- clip-b32-image / clip-b32-text: Hugging Face CLIPModel with the openai/clip-vit-base-patch32
  configuration and random weights (save_pretrained, loaded by Quiver from the folder);
  get_image_features / get_text_features. Texts: 16 id sequences of 8-24 tokens, PyTorch pads to
  the batch maximum with an attention mask, Quiver runs them unpadded.
- efficientnet-lite0: the real checkpoint in the model home; the PyTorch side is the
  EfficientNet-Lite architecture written below (static TF SAME padding, BN eps 1e-3, ReLU6) on the
  same state dict, checked against Tests/Fixtures/reference/image/efficientnet-lite0.json's
  architecture by comparing its features with Quiver's.
Both run with all cores (--threads, default 2): torch.set_num_threads and quiver-image-bench
--threads. Inputs are 224x224 tensors (decoding and resizing are not timed). One warm-up run,
then the best of --repeat timed runs of one batch (--batch, default 16).

Run: swift build -c release --product quiver-image-bench
     python bench/image/run.py [--models resnet50,clip-b32-image,clip-b32-text,efficientnet-lite0]
"""
import argparse
import json
import os
import subprocess
import time

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOME = os.environ.get("QUIVER_HOME", os.path.expanduser("~/.cache/quiver"))
torch.set_grad_enabled(False)


def best_of(fn, repeats):
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def quiver(args, *extra):
    exe = os.path.join(ROOT, ".build/release/quiver-image-bench")
    out = subprocess.run([exe, *extra, "--threads", str(args.threads), "--repeat", str(args.repeat)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


class EfficientNetLite(torch.nn.Module):
    """EfficientNet-Lite forward on a lukemelas-style state dict (inference only)."""
    strides = [1, 2, 2, 2, 1, 2, 1]

    def __init__(self, sd):
        super().__init__()
        self.sd = sd
        self.blocks = []
        n, stage, cin = 0, -1, sd["_conv_stem.weight"].shape[0]
        while f"_blocks.{n}._depthwise_conv.weight" in sd:
            cout = sd[f"_blocks.{n}._project_conv.weight"].shape[0]
            if cout != cin or n == 0:
                stage += 1
                stride = self.strides[stage]
            else:
                stride = 1
            self.blocks.append((n, stride, stride == 1 and cin == cout))
            cin, n = cout, n + 1

    def conv_bn(self, x, conv, bn, stride=1, groups=1, act=True):
        w = self.sd[conv + ".weight"]
        k = w.shape[-1]
        ih = x.shape[-1]
        oh = (ih + stride - 1) // stride
        pad = max((oh - 1) * stride + k - ih, 0)
        x = F.pad(x, (pad // 2, pad - pad // 2, pad // 2, pad - pad // 2))
        x = F.conv2d(x, w, stride=stride, groups=groups)
        x = F.batch_norm(x, self.sd[bn + ".running_mean"], self.sd[bn + ".running_var"], self.sd[bn + ".weight"],
                         self.sd[bn + ".bias"], False, 0.0, 1e-3)
        return F.relu6(x) if act else x

    def forward(self, x):
        x = self.conv_bn(x, "_conv_stem", "_bn0", stride=2)
        for n, stride, skip in self.blocks:
            p = f"_blocks.{n}."
            y = x
            if p + "_expand_conv.weight" in self.sd:
                y = self.conv_bn(y, p + "_expand_conv", p + "_bn0")
            y = self.conv_bn(y, p + "_depthwise_conv", p + "_bn1", stride=stride, groups=y.shape[1])
            y = self.conv_bn(y, p + "_project_conv", p + "_bn2", act=False)
            x = x + y if skip else y
        x = self.conv_bn(x, "_conv_head", "_bn1")
        return x.mean(dim=(2, 3))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="resnet50,clip-b32-image,clip-b32-text,efficientnet-lite0")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache", default="/tmp/quiver-bench-image")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.cache, exist_ok=True)
    torch.manual_seed(0)
    pixels = torch.randn(args.batch, 3, 224, 224)
    print(f"uptime: {os.getloadavg()} threads={args.threads} batch={args.batch} torch={torch.__version__}")
    rows = []
    for name in args.models.split(","):
        if name == "resnet50":
            import torchvision
            m = torchvision.models.resnet50().eval()
            path = os.path.join(args.cache, "resnet50-random.pth")
            if not os.path.exists(path):
                torch.save(m.state_dict(), path)
            m.load_state_dict(torch.load(path))
            m.fc = torch.nn.Identity()
            t = best_of(lambda: m(pixels), args.repeat)
            q = quiver(args, "image", path, "--batch", str(args.batch))
        elif name.startswith("clip-b32"):
            from transformers import CLIPConfig, CLIPModel
            folder = os.path.join(args.cache, "clip-b32-random")
            if not os.path.exists(os.path.join(folder, "model.safetensors")):
                CLIPModel(CLIPConfig()).save_pretrained(folder)
            m = CLIPModel.from_pretrained(folder).eval()
            if name == "clip-b32-image":
                t = best_of(lambda: m.get_image_features(pixel_values=pixels), args.repeat)
                q = quiver(args, "image", folder, "--batch", str(args.batch))
            else:
                g = torch.Generator().manual_seed(1)
                ids = []
                for i in range(args.batch):
                    n = 8 + (i * 7) % 17
                    ids.append([49406] + torch.randint(300, 40000, (n - 2,), generator=g).tolist() + [49407])
                ids_path = os.path.join(args.cache, "clip-text-ids.json")
                with open(ids_path, "w") as f:
                    json.dump({"ids": ids}, f)
                longest = max(len(x) for x in ids)
                input_ids = torch.tensor([x + [49407] * (longest - len(x)) for x in ids])
                mask = torch.tensor([[1] * len(x) + [0] * (longest - len(x)) for x in ids])
                t = best_of(lambda: m.get_text_features(input_ids=input_ids, attention_mask=mask), args.repeat)
                q = quiver(args, "text", folder, "--ids", ids_path)
        elif name == "efficientnet-lite0":
            folder = os.path.join(HOME, "models/efficientnet-lite0")
            path = os.path.join(folder, [f for f in os.listdir(folder) if f.endswith(".pth")][0])
            m = EfficientNetLite(torch.load(path, map_location="cpu")).eval()
            t = best_of(lambda: m(pixels), args.repeat)
            q = quiver(args, "image", path, "--batch", str(args.batch))
        else:
            raise SystemExit(f"unknown model {name}")
        torch_rate = args.batch / t
        rows.append((name, torch_rate, q["items_per_s"], q["items_per_s"] / torch_rate, q["blas"], q["simd"]))
        print(f"{name:20s} torch {torch_rate:7.1f}/s   quiver {q['items_per_s']:7.1f}/s   x{q['items_per_s'] / torch_rate:.2f}"
              f"   (quiver blas={q['blas']} simd={q['simd']})", flush=True)
    print(f"uptime after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
