"""What the code-table generators share: reading tshark's value strings,
formatting Rust as `cargo fmt` would, and writing or checking the output."""
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tshark_values(fields):
    """{field: {value: name}} for the wanted fields of `tshark -G values`, and
    the tshark version ("TShark (Wireshark) 4.0.17")."""
    out = subprocess.run(["tshark", "-G", "values"], capture_output=True, text=True, check=True).stdout
    version = subprocess.run(["tshark", "--version"], capture_output=True, text=True, check=True).stdout
    values = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and parts[0] == "V" and parts[1] in fields:
            _, field, value, name = parts
            values.setdefault(field, {})[int(value, 0)] = name
    first = version.splitlines()[0]  # "TShark (Wireshark) 4.0.17 (Git ...)"
    return values, " ".join(first.split(" ")[:3])


def rust_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def formatted(text):
    """The text as rustfmt leaves it with the repository's settings, so a check
    compares like with like."""
    with tempfile.NamedTemporaryFile("w+", suffix=".rs") as f:
        f.write(text)
        f.flush()
        subprocess.run(
            ["rustfmt", "--edition", "2021", "--config-path", str(ROOT / "rustfmt.toml"), f.name], check=True
        )
        return Path(f.name).read_text()


def write_or_check(relative, text, check, script, detail=""):
    """Writes ROOT/relative, or with `check` exits non-zero when it differs."""
    target = ROOT / relative
    if check:
        if not target.exists() or target.read_text() != text:
            sys.exit(f"out of date (run {script}): {relative}")
        print(f"{relative} is up to date{detail}")
    else:
        target.write_text(text)
        print(f"wrote {relative}{detail}")
