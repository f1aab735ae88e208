"""Shared data for the relevance benchmarks (bench/relevance/*.py).

Corpus: the 117,659 WordNet 3.0 glosses of Debian's wordnet-base (/usr/share/wordnet/data.noun,
.verb, .adj, .adv, in that order and file order; the text after " | " of every synset line), the
base of bench/ann/make_data.py. Queries: 1,000 WordNet example sentences (the quoted parts of
glosses with 3 or more words), drawn with numpy's default_rng(2024) as bench/ann/make_data.py
draws them.
"""
import ctypes
import json
import os
import re
import subprocess
import time
import unicodedata

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOME = os.environ.get("QUIVER_HOME", os.path.expanduser("~/.cache/quiver"))
BENCH = os.environ.get("QUIVER_BENCH_EXE", os.path.join(ROOT, ".build", "release", "quiver-bench"))

# Lucene's English stop words (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET), Quiver's default list.
STOP = ["a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not",
        "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was",
        "will", "with"]


def wordnet(root="/usr/share/wordnet"):
    glosses, examples = [], []
    for pos in ("noun", "verb", "adj", "adv"):
        with open(os.path.join(root, f"data.{pos}"), encoding="latin-1") as f:
            for line in f:
                if line.startswith("  "):
                    continue  # license header
                gloss = line.split(" | ", 1)[1].strip()
                glosses.append(gloss)
                examples.extend(m for m in re.findall(r'"([^"]+)"', gloss) if len(m.split()) >= 3)
    assert len(glosses) == 117659, len(glosses)
    return glosses, examples


def corpus_and_queries(count=1000):
    glosses, examples = wordnet()
    rng = np.random.default_rng(2024)
    queries = [examples[i] for i in sorted(rng.choice(len(examples), count, replace=False))]
    return glosses, queries


def write_inputs(work, corpus, queries):
    """corpus.txt (one text per line) and queries.json ({"queries": [...]}) in `work`."""
    os.makedirs(work, exist_ok=True)
    cpath, qpath = os.path.join(work, "corpus.txt"), os.path.join(work, "queries.json")
    with open(cpath, "w", encoding="utf-8") as f:
        f.write("\n".join(corpus) + "\n")
    with open(qpath, "w", encoding="utf-8") as f:
        json.dump({"queries": queries}, f)
    return cpath, qpath


def quiver_bench(*args, env=None):
    """Runs .build/release/quiver-bench and returns its JSON line."""
    out = subprocess.run([BENCH, *args], check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def best_of(fn, repeats):
    """(result, best wall seconds, CPU seconds of that run, all wall seconds), after one warm-up run."""
    result = fn()
    best, best_cpu, runs = float("inf"), 0.0, []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        t, c = time.perf_counter() - t0, time.process_time() - c0
        runs.append(t)
        if t < best:
            best, best_cpu = t, c
    return result, best, best_cpu, runs


def pct(values, p):
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 1)) - 1))
    return s[k]


def load_average():
    return " ".join(open("/proc/loadavg").read().split()[:3])


class QuiverAnalyzer:
    """Quiver's default full-text analyzer (QuiverStore TextAnalyzer) in Python: words are maximal
    runs of Unicode letters, marks, numbers and connector punctuation, with ' or U+2019 (as ')
    kept between two word characters; lowercase; Lucene's English stop words dropped; Snowball
    English stemming through Debian's libstemmer (the C library Quiver links), via ctypes."""
    WORD = {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc"}

    def __init__(self, stem=True):
        self.stop = set(STOP)
        self.cache = {}
        self.lib = None
        if stem:
            lib = ctypes.CDLL("libstemmer.so.0d")
            lib.sb_stemmer_new.restype = ctypes.c_void_p
            lib.sb_stemmer_new.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
            lib.sb_stemmer_stem.restype = ctypes.POINTER(ctypes.c_ubyte)
            lib.sb_stemmer_stem.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
            lib.sb_stemmer_length.argtypes = [ctypes.c_void_p]
            self.lib, self.handle = lib, lib.sb_stemmer_new(b"english", b"UTF_8")

    def is_word(self, ch):
        return unicodedata.category(ch) in self.WORD

    def words(self, text):
        out, cur = [], []
        for k, ch in enumerate(text):
            if self.is_word(ch):
                cur.append(ch)
            elif ch in "'\u2019" and cur and k + 1 < len(text) and self.is_word(text[k + 1]):
                cur.append("'")
            elif cur:
                out.append("".join(cur))
                cur = []
        if cur:
            out.append("".join(cur))
        return out

    def stem(self, w):
        s = self.cache.get(w)
        if s is None:
            if self.lib is None:
                s = w
            else:
                b = w.encode("utf-8")
                p = self.lib.sb_stemmer_stem(self.handle, b, len(b))
                s = bytes(p[:self.lib.sb_stemmer_length(self.handle)]).decode("utf-8")
            self.cache[w] = s
        return s

    def terms(self, text):
        return [self.stem(w) for w in (w.lower() for w in self.words(text)) if w not in self.stop]
