#!/usr/bin/env python3
"""Lists every product_version / product_version_range name in the CISA CSAF
corpus (../shared/intel/csaf/csaf_files), with how many product nodes use it.

    scripts/csaf-versions.py [DIR] > versions.tsv

Output: count <TAB> category <TAB> vendor <TAB> advisory-id <TAB> name (one line per
distinct (category, name); vendor and id are of the first occurrence).
"""
import json, os, sys
from collections import Counter

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../shared/intel/csaf/csaf_files")
counts = Counter()
first = {}

def walk(branches, vendor, doc_id):
    for b in branches or []:
        cat = b.get("category")
        v = b.get("name") if cat == "vendor" else vendor
        if cat in ("product_version", "product_version_range"):
            key = (cat, b.get("name", ""))
            counts[key] += 1
            first.setdefault(key, (v, doc_id))
        walk(b.get("branches"), v, doc_id)

for dirpath, _, files in os.walk(root):
    for f in sorted(files):
        if not f.endswith(".json"):
            continue
        with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
            try:
                d = json.load(fh)
            except Exception as e:
                print(f"# {f}: {e}", file=sys.stderr)
                continue
        doc_id = d.get("document", {}).get("tracking", {}).get("id", f)
        walk(d.get("product_tree", {}).get("branches"), None, doc_id)

for (cat, name), n in counts.most_common():
    v, i = first[(cat, name)]
    print(f"{n}\t{cat}\t{v}\t{i}\t{name!r}")
