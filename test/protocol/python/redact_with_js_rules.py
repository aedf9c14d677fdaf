"""
Applies protocol/redact.ts's own rules (its regex sources and word lists, piped in as JSON) with
Python's re, to the shared vectors; prints the ids that differ. Guards that the redactor stays
portable: the same regexes must mean the same in JavaScript and in Python (re.ASCII).
"""
import json
import re
import sys

rules = json.load(sys.stdin)
S = {k: set(v) for k, v in rules["sets"].items()}
R = "[REDACTED]"
def key_words(key):
    key = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    key = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", key)
    return [w for w in re.split(r"[^a-z0-9]+", key.lower()) if w]
def singular(w): return w[:-1] if w.endswith("s") and w[:-1] in S["PLURALS"] else w
def is_secret_key(key):
    raw = key_words(key)
    if not raw or raw[-1] in S["MEASURE_WORDS"]: return False
    if len(raw) == 1 and raw[0] in S["SECRET_KEYS"]: return True
    words = [singular(w) for w in raw]
    if any(w in S["SECRET_WORDS"] for w in words): return True
    if any(f"{a} {b}" in S["SECRET_PAIRS"] for a, b in zip(words, words[1:])): return True
    end = len(raw)
    while end > 1 and raw[end-1] in S["VALUE_WORDS"]: end -= 1
    return raw[end-1] in S["SECRET_LAST_WORDS"]
pats = [re.compile(src, re.ASCII | (re.IGNORECASE if "i" in fl else 0)) for src, fl in rules["patterns"]]
assign = re.compile(rules["assignment"], re.ASCII)
def one_pass(s):
    for p in pats: s = p.sub(lambda m: (m.group(1) or "") + R, s)
    def a(m):
        before, name, sep, secret = m.group(1), m.group(2), m.group(3), m.group(4)
        if is_secret_key(name) and not re.sub(r'^\\?["\']', "", secret).startswith(R): return before + name + sep + R
        return m.group(0)
    return assign.sub(a, s)
def redact_string(s):
    for _ in range(rules["passes"]):
        n = one_pass(s)
        if n == s: break
        s = n
    return s
v = json.load(open(sys.argv[1]))
bad = [k for k in v["secret_keys"] if not is_secret_key(k)] + [k for k in v["harmless_keys"] if is_secret_key(k)]
bad += [s["id"] for s in v["strings"] if redact_string(s["input"]) != s["output"]]
bad += [s for s in v["harmless_strings"] if redact_string(s) != s]
print(json.dumps(bad))
