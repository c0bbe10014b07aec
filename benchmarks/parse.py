"""YAML parsing, the pure Python loader and libyaml's C loader side by side. Asserts nothing.

    .venv/bin/python benchmarks/parse.py [--n 2000] [--repeat 3]

Generates N handoffs as YAML text from the three tier samples (each with its own id,
company and contact, comments and layout kept), then times, best of --repeat runs, the
parse step alone (YAML to data, line numbers and problems; no validation):
  - N files of one handoff each, through `parse_bytes` as `handoff-brief render` reads one,
  - one stream of the N handoffs separated by `---`, through `yaml_documents` as a batch
    reads a multi-document file,
once with the pure loader forced and once as shipped (the C loader where libyaml is
there), with the ratio, and whether both gave the same results.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
sys.path.insert(0, str(ROOT))

from handoff_brief.load import parse_bytes, yaml_documents  # noqa: E402

#: The module, not the function `handoff_brief.load` that the package exports.
loading = importlib.import_module("handoff_brief.load")
FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Greta", "Hugo", "Ines", "Jonas"]
LAST = ["Lima", "Carter", "Dubois", "Ivanov", "Roth", "Haddad", "Berg", "Moreau", "Sousa"]


def handoffs(n: int) -> list[str]:
    """N handoffs as YAML text: the tier samples in turn, each made its own by a new id, a
    numbered company and another contact name."""
    samples = [(SAMPLES / f"{tier}.yaml").read_text(encoding="utf-8")
               for tier in ("qualified", "warmed", "call-qualified")]
    texts = []
    for i in range(n):
        lines = samples[i % 3].splitlines(keepends=True)
        person = f"{FIRST[i % len(FIRST)]} {LAST[i // len(FIRST) % len(LAST)]}"
        for index, line in enumerate(lines):
            if line.startswith("id: "):
                lines[index] = f"id: lead-{i:05d}\n"
            elif line.startswith("  name: ") and lines[index - 1].startswith("account:"):
                lines[index] = f"  name: {line[8:].strip()} {i}\n"
            elif line.startswith("  - name: "):
                lines[index] = f"  - name: {person}\n"
        texts.append("".join(lines))
    return texts


def best(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The shortest of `repeat` runs, and what the last one gave."""
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def summary(parsed: Any) -> tuple[Any, ...]:
    return (repr(parsed.data), dict(parsed.lines), dict(parsed.lines.spellings),
            parsed.problems)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    fast = loading._FAST
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, PyYAML {yaml.__version__}, libyaml "
          f"{yaml._yaml.get_version_string() if yaml.__with_libyaml__ else 'absent'}, "
          f"load average {os.getloadavg()[0]:.1f}")
    if fast is None:
        print("  the C loader is not available here: both columns are the pure loader")
    texts = handoffs(args.n)
    raws = [text.encode() for text in texts]
    stream = "---\n".join(texts)
    size = sum(len(raw) for raw in raws)
    print(f"  {args.n:,} handoffs, {size / 2**20:.1f} MiB of YAML, best of {args.repeat}")

    def files() -> list[Any]:
        return [summary(parse_bytes(raw, f"h{i}.yaml", ".yaml")) for i, raw in enumerate(raws)]

    def documents() -> list[Any]:
        return [(line, summary(parsed)) for line, parsed in yaml_documents(stream, "all.yaml")]

    print(f"  {'':<28} {'pure':>10} {'C':>10} {'ratio':>7}  same results")
    runs = ((f"{args.n:,} files of one", files), (f"one stream of {args.n:,}", documents))
    for label, run in runs:
        loading._FAST = None
        pure, expected = best(run, args.repeat)
        loading._FAST = fast
        c, found = best(run, args.repeat)
        print(f"  {label:<28} {pure:9.2f}s {c:9.2f}s {pure / c:6.1f}x  {found == expected}")
        print(f"  {'  per handoff':<28} {pure / args.n * 1000:8.2f}ms {c / args.n * 1000:8.2f}ms")


if __name__ == "__main__":
    main()
