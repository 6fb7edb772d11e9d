#!/usr/bin/env python3
"""Generates crates/dissect/src/dnp3/objects.rs, the DNP3 object group and
variation table (IEEE 1815-2012 Annex A): size and name of each (STYLE rule 8).

Sources, merged in this order (none of their code is copied, only facts):
- opendnp3 (Apache-2.0, https://github.com/dnp3/opendnp3): the generated object
  headers (`cpp/**/objects/GroupN.h`) give each GroupXVarY's name and, for fixed
  sizes, `Size()`; read at HEAD (3.x) and at tag 2.3.3, the last release with
  secure authentication (groups 120-122).
- Suricata (https://github.com/OISF/suricata), `scripts/dnp3-gen/dnp3-objects.yaml`:
  the field layout of each object, from which a fixed size is summed (or, for
  packed objects, a bit width read) where opendnp3 has none; where both give a
  size they must agree or this script fails.
- Wireshark's value strings for `dnp3.al.obj` (`tshark -G values`; the value is
  group * 256 + variation): names opendnp3 lacks.
- For the few objects none of them names: GROUP_TITLES (groups 31, 33, 102) with
  a variation description derived from Suricata's field layout, and
  VARIATION_TITLES, the object titles of the DNP3 Device Profile object table
  (as vendors publish it, e.g. the Control Microsystems SCADAPack and ProSoft
  ProLinx DNP3 device profiles).

Each source's commit (or version) goes into the generated file's header.

    scripts/gen-dnp3-objects.py --opendnp3 PATH --suricata PATH          # rewrite
    scripts/gen-dnp3-objects.py --opendnp3 PATH --suricata PATH --check  # compare

PATH is a clone (work tree or bare) of each repository; it defaults to
$OPENDNP3_SRC / $SURICATA_SRC. Get them with
`git clone https://github.com/dnp3/opendnp3` (tags included) and
`git clone https://github.com/OISF/suricata`. `--check` prints one line
"skipped: ..." and exits 0 when a checkout or tshark is not available.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from codegen import formatted, rust_str, tshark_values, write_or_check
OUTPUT = "crates/dissect/src/dnp3/objects.rs"
OPENDNP3_SA_TAG = "2.3.3"
SURICATA_YAML = "scripts/dnp3-gen/dnp3-objects.yaml"

# IEEE 1815-2012 Annex A group titles, only for groups opendnp3 does not name
# (checked below); the variation text is derived from Suricata's fields.
GROUP_TITLES = {31: "Frozen Analog Input", 33: "Frozen Analog Input Event", 102: "Unsigned Integer"}
# Device Profile object titles of the objects no other source names (checked
# below: an entry another source names is an error).
VARIATION_TITLES = {
    (81, 1): "Storage Object",
    (82, 1): "Device Profile",
    (83, 1): "Private Registration Object",
    (83, 2): "Private Registration Object Descriptor",
    (90, 1): "Application Identifier",
    (91, 1): "Status of Requested Operation",
    (101, 1): "Small Packed Binary-Coded Decimal",
    (101, 2): "Medium Packed Binary-Coded Decimal",
    (101, 3): "Large Packed Binary-Coded Decimal",
}

# Suricata field types of fixed width, in octets.
WIDTHS = {
    "uint8": 1, "int8": 1, "bstr8": 1, "uint16": 2, "int16": 2, "uint24": 3,
    "uint32": 4, "int32": 4, "flt32": 4, "flt64": 8, "dnp3time": 6, "vstr4": 4,
}


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def opendnp3_objects(repo, rev):
    """{(g, v): (name, size or None, packed)} from the object headers at rev."""
    files = [p for p in git(repo, "ls-tree", "-r", "--name-only", rev).splitlines()
             if re.search(r"^cpp/.*objects/Group\d+\.h$", p)]
    if not files:
        sys.exit(f"no cpp/**/objects/GroupN.h in {repo} at {rev}")
    out = {}
    block = re.compile(r"^// ([^\n]+)\nstruct Group(\d+)Var(\d+)\b[^\n]*\n\{\n(.*?)^\};", re.M | re.S)
    for path in files:
        for m in block.finditer(git(repo, "show", f"{rev}:{path}")):
            name, g, v, body = m.group(1).strip(), int(m.group(2)), int(m.group(3)), m.group(4)
            size = re.search(r"static \w+ Size\(\) \{ return (\d+); \}", body)
            out[(g, v)] = (name, int(size.group(1)) if size else None, "Packed Format" in name)
    paths = sorted({str(Path(p).parent) for p in files})
    commit = git(repo, "log", "-1", "--format=%H", rev, "--", *paths).strip()
    return out, paths, commit


def suricata_objects(repo):
    """{(g, v): (size kind or None, fields)} from the YAML field layouts."""
    import yaml  # PyYAML; only needed here

    text = git(repo, "show", f"HEAD:{SURICATA_YAML}")
    commit = git(repo, "log", "-1", "--format=%H", "HEAD", "--", SURICATA_YAML).strip()
    out = {}
    for o in yaml.safe_load(text)["objects"]:
        g, v = o["group"], o["variation"]
        if not isinstance(v, int):
            continue  # "*": the variation is a length (110-113) or obsolete (100)
        fields = o.get("fields") or []
        kind = None
        if "unimplemented" in o or "extra_fields" in o or "constraints" in o:
            kind = None  # size prefixed, free format or not described
        elif o.get("packed"):
            if len(fields) != 1 or "width" not in fields[0]:
                sys.exit(f"suricata g{g}v{v}: packed object without one field width")
            kind = ("Bits", fields[0]["width"])
        elif fields and all(f.get("type") in WIDTHS and "len_field" not in f for f in fields):
            kind = ("Octets", sum(WIDTHS[f["type"]] for f in fields))
        out[(g, v)] = (kind, fields)
    return out, commit


def tshark_names():
    values, version = tshark_values({"dnp3.al.obj"})
    names = {}
    for value, name in values.get("dnp3.al.obj", {}).items():
        names[(value >> 8, value & 0xFF)] = re.sub(r"\s*\(Obj[^)]*\)\s*$", "", name).strip()
    return names, version


def described(fields):
    """opendnp3-style variation text from a field layout: value, flag, time."""
    types = [f.get("type") for f in fields]
    value = [t for t in types if t in ("int16", "int32", "uint16", "uint32", "flt32", "flt64", "uint8")]
    if len(value) != 1 or set(types) - {"bstr8", "dnp3time", value[0]}:
        return None
    width = {"int16": "16-bit", "uint16": "16-bit", "int32": "32-bit", "uint32": "32-bit", "uint8": "8-bit",
             "flt32": "Single-precision", "flt64": "Double-precision"}[value[0]]
    flag = "With Flag" if "bstr8" in types else "Without Flag"
    time = " and Time" if "dnp3time" in types else ""
    return f"{width} {flag}{time}" if flag == "With Flag" or not time else f"{width} With Time"


def merge(odnp, odnp_sa, suri, tshark):
    rows = {}
    problems = []
    keys = set(odnp) | set(odnp_sa) | set(suri) | set(tshark)
    for key in sorted(keys):
        g, v = key
        size = None
        # opendnp3 sizes, HEAD before 2.3.3; both must agree with Suricata.
        given = [(src, s[1]) for src, s in (("opendnp3", odnp.get(key)), ("opendnp3 2.3.3", odnp_sa.get(key)))
                 if s is not None and s[1] is not None]
        suri_kind = suri.get(key, (None, None))[0]
        sizes = {("Octets", n) for _, n in given}
        if suri_kind is not None:
            sizes.add(suri_kind)
        if len(sizes) > 1:
            problems.append(f"g{g}v{v}: sizes disagree: opendnp3 {given}, suricata {suri_kind}")
        if sizes:
            size = sizes.pop()
        if g == 0:
            size = ("Attribute", None)  # every group 0 variation is a device attribute
        # A packed opendnp3 object must be packed in Suricata too.
        packed = any(s is not None and s[2] for s in (odnp.get(key), odnp_sa.get(key)))
        if packed and (size is None or size[0] != "Bits"):
            problems.append(f"g{g}v{v}: opendnp3 says packed, suricata gives {suri_kind}")
        name = None
        for src in (odnp, odnp_sa):
            if key in src:
                name = src[key][0]
                break
        if name is None and key in tshark:
            name = tshark[key]
        if name is not None and key in VARIATION_TITLES:
            problems.append(f"g{g}v{v} is named by a source; drop it from VARIATION_TITLES")
        if name is None and key in VARIATION_TITLES:
            name = VARIATION_TITLES[key]
        if name is None:
            desc = described(suri[key][1]) if key in suri else None
            if g not in GROUP_TITLES or desc is None:
                problems.append(f"g{g}v{v}: no name in any source")
                continue
            name = f"{GROUP_TITLES[g]} - {desc}"
        rows[key] = (size, name)
    for g in GROUP_TITLES:
        named = [k for k in keys if k[0] == g and (k in odnp or k in odnp_sa)]
        if named:
            problems.append(f"group {g} has opendnp3 names; drop it from GROUP_TITLES")
    if problems:
        sys.exit("sources disagree:\n  " + "\n  ".join(problems))
    return rows


def rust_size(size):
    if size is None:
        return "None"
    kind, n = size
    return f"Some({kind})" if n is None else f"Some({kind}({n}))"


def render(rows, odnp, sa, suri_commit, tversion):
    fixed = sum(1 for s, _ in rows.values() if s is not None and s[0] != "Attribute")
    out = [
        "//! DNP3 object groups and variations (IEEE 1815-2012 Annex A): generated by",
        "//! scripts/gen-dnp3-objects.py. Do not edit; regenerate. Sources:",
        f"//! - opendnp3 (Apache-2.0): names and sizes from `{', '.join(odnp[1])}`",
        f"//!   at {odnp[2]},",
        f"//!   and from `{', '.join(sa[1])}` at tag {OPENDNP3_SA_TAG}",
        f"//!   ({sa[2]});",
        f"//! - Suricata: sizes from the field layouts of `{SURICATA_YAML}`",
        f"//!   at {suri_commit};",
        f"//! - {tversion}: names from the value strings of `dnp3.al.obj` (`tshark -G values`);",
        "//! - the script's own short lists of Annex A and Device Profile titles, for the rest.",
        "",
        "use super::app::ObjectSize::{self, Attribute, Bits, Octets};",
        "",
        f"/// (group, variation, size of one object when fixed, name), sorted: {len(rows)} rows, {fixed} of fixed size.",
        "/// The size is `None` for variation 0 (any variation, only named in requests), for",
        "/// objects sized by a prefix or by their own fields, and where no source gives one.",
        "pub(crate) const OBJECTS: &[(u8, u8, Option<ObjectSize>, &str)] = &[",
    ]
    for (g, v), (size, name) in sorted(rows.items()):
        out.append(f"    ({g}, {v}, {rust_size(size)}, {rust_str(name)}),")
    out += [
        "];",
        "",
        "/// The table row of a group and variation.",
        "fn row(group: u8, variation: u8) -> Option<&'static (u8, u8, Option<ObjectSize>, &'static str)> {",
        "    OBJECTS.binary_search_by_key(&(group, variation), |&(g, v, _, _)| (g, v)).ok().and_then(|i| OBJECTS.get(i))",
        "}",
        "",
        "/// The size of one object of a group and variation, when the table gives a fixed one.",
        "pub fn fixed_size(group: u8, variation: u8) -> Option<ObjectSize> {",
        "    row(group, variation).and_then(|&(_, _, size, _)| size)",
        "}",
        "",
        "/// The name of a group and variation (`Analog Input - 32-bit With Flag`).",
        "pub fn name(group: u8, variation: u8) -> Option<&'static str> {",
        "    row(group, variation).map(|&(_, _, _, name)| name)",
        "}",
        "",
    ]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--opendnp3", default=os.environ.get("OPENDNP3_SRC"), help="opendnp3 clone")
    ap.add_argument("--suricata", default=os.environ.get("SURICATA_SRC"), help="suricata clone")
    ap.add_argument("--check", action="store_true", help="fail if the committed file is out of date")
    a = ap.parse_args()

    missing = [f"--{n} (or ${n.upper()}_SRC)" for n in ("opendnp3", "suricata") if not getattr(a, n)]
    missing += [f"{p} is not a directory" for p in (a.opendnp3, a.suricata) if p and not Path(p).is_dir()]
    if not shutil.which("tshark"):
        missing.append("tshark not on PATH")
    if missing:
        if a.check:
            print("skipped: source checkouts not available: " + "; ".join(missing))
            return
        sys.exit("need: " + "; ".join(missing))

    odnp = opendnp3_objects(a.opendnp3, "HEAD")
    try:
        sa = opendnp3_objects(a.opendnp3, f"{OPENDNP3_SA_TAG}^{{commit}}")
    except subprocess.CalledProcessError:
        sys.exit(f"{a.opendnp3} has no tag {OPENDNP3_SA_TAG}: clone with tags")
    suri, suri_commit = suricata_objects(a.suricata)
    names, tversion = tshark_names()
    rows = merge(odnp[0], sa[0], suri, names)
    text = formatted(render(rows, odnp, sa, suri_commit, tversion))
    write_or_check(OUTPUT, text, a.check, "scripts/gen-dnp3-objects.py", f" ({len(rows)} rows)")


if __name__ == "__main__":
    main()
