"""The buyer's diagnostic over a large delivery: time, memory and report size. Asserts nothing.

    .venv/bin/python benchmarks/diagnose.py [--n 10000] [--seed 11]

Generates N varied handoffs (fixed seed) from the three tier samples, the way several
providers and their qualifiers would deliver them: each provider with its own habits
(reasons without evidence, unsourced facts, vague or undated next actions, missing checks,
stale evidence, unknown or flagged checks), about 1% invalid and 1.5% duplicates. Then
times the whole `handoff-brief diagnose` process to HTML and to PDF (wall time and peak
memory), and prints the report's sizes. Targets on 2 cores: under 30 s, HTML under 2 MB.
`varied()` also feeds scripts/diagnose-picture.py (the README's picture).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
sys.path.insert(0, str(ROOT / "benchmarks"))

from batch import FIRST, INDUSTRY, LAST, PAIN, PeakMemory  # noqa: E402

#: Provider -> (its qualifiers, and how often each habit shows in its handoffs).
PROVIDERS: dict[str, tuple[list[str], dict[str, float]]] = {
    "Northwind Leads": (["Ana Lima", "Ben Carter", "Chloé Dubois"],
                        {"no_evidence": 0.25, "unsourced": 0.2, "vague": 0.3, "no_due": 0.1,
                         "no_checks": 0.15, "stale": 0.35, "unknown": 0.1, "flagged": 0.02,
                         "no_confidence": 0.2}),
    "Pipeline Partners": (["Dmitri Ivanov", "Eva Roth"],
                          {"no_evidence": 0.08, "unsourced": 0.05, "vague": 0.1, "no_due": 0.05,
                           "no_checks": 0.03, "stale": 0.15, "unknown": 0.05, "flagged": 0.01,
                           "no_confidence": 0.05}),
    "Atlas SDR Team": (["Farid Haddad", "Greta Berg", "Hugo Moreau", "Ines Sousa"],
                       {"no_evidence": 0.02, "unsourced": 0.02, "vague": 0.04, "no_due": 0.01,
                        "no_checks": 0.01, "stale": 0.05, "unknown": 0.08, "flagged": 0.01,
                        "no_confidence": 0.02}),
    "Quick List Co": (["Jonas Lima"],
                      {"no_evidence": 0.6, "unsourced": 0.5, "vague": 0.55, "no_due": 0.3,
                       "no_checks": 0.5, "stale": 0.6, "unknown": 0.05, "flagged": 0.03,
                       "no_confidence": 0.5}),
}
INVALID_DATE = "2026-13-01"
VAGUE = ["Follow up", "Reach out again", "Touch base next week", "Check in with the prospect"]


def varied(n: int, seed: int = 11) -> list[Any]:
    """N handoffs as JSON-ready data (an invalid one is still a dict, just not a handoff)."""
    rng = random.Random(seed)
    bases = [yaml.safe_load((SAMPLES / f"{tier}.yaml").read_text())
             for tier in ("qualified", "warmed", "call-qualified")]
    providers = list(PROVIDERS)
    items: list[Any] = []
    for i in range(n):
        if items and rng.random() < 0.015:  # a duplicate: an earlier handoff, sent again later
            again = copy.deepcopy(rng.choice(items[-50:]))
            if again["prepared_on"] != INVALID_DATE:
                day = dt.date.fromisoformat(again["prepared_on"]) + dt.timedelta(days=3)
                again["prepared_on"] = day.isoformat()
            items.append(again)
            continue
        data = copy.deepcopy(bases[rng.choice((0, 0, 1, 1, 2))])
        provider = rng.choice(providers)
        qualifiers, habits = PROVIDERS[provider]
        data["provider"] = provider
        data["prepared_by"] = rng.choice(qualifiers)
        company = f"{rng.choice(LAST)} {rng.choice(['GmbH', 'Ltd', 'SA', 'AB', 'BV'])} {i}"
        person = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        data["id"] = f"lead-{i:05d}"
        data["account"]["name"] = company
        data["account"]["website"] = f"https://company-{i}.example"
        data["account"]["industry"] = rng.choice(INDUSTRY)
        data["contacts"][0]["name"] = person
        data["contacts"][0]["email"] = f"buyer{i}@company-{i}.example"
        action = data["next_action"]
        action["with"] = person
        minutes = rng.choice([20, 30])
        action["action"] = f"Send {person} the benchmark and book a {minutes}-minute call"
        prepared = dt.date(2026, 11, 20) + dt.timedelta(days=rng.randint(0, 30))
        data["prepared_on"] = prepared
        action["due"] = prepared + dt.timedelta(days=rng.choice([2, 5, 7, 7, 10, 14, 21, 35]))
        data["fit"][0]["reason"] = f"The company {rng.choice(PAIN)}, the problem we solve."

        def habit(name: str, habits: dict[str, float] = habits) -> bool:
            return rng.random() < habits[name]

        if habit("no_evidence"):
            data["fit"][-1]["evidence"] = []
        for item in data["evidence"]:
            if item.get("checked_on") or item["status"] == "known":
                age = rng.randint(100, 400) if habit("stale") else rng.randint(0, 60)
                item["checked_on"] = prepared - dt.timedelta(days=age)
            if item["status"] == "known" and habit("unsourced"):
                item.pop("source", None)
            if item["status"] == "inferred" and habit("no_confidence"):
                item.pop("confidence", None)
        if habit("vague"):
            action["action"] = rng.choice(VAGUE)
        if habit("no_due"):
            action.pop("due")
        if habit("no_checks"):
            data["disqualifiers"] = []
        for check in data["disqualifiers"]:
            if habit("unknown"):
                check["result"] = "unknown"
            elif habit("flagged"):
                check["result"] = "flagged"
        if rng.random() < 0.01:  # invalid: a date no calendar has
            data["prepared_on"] = INVALID_DATE
        items.append(json.loads(json.dumps(data, default=str)))
    return items


def timed(command: list[str]) -> tuple[float, float, int, str]:
    """Wall time, CPU time of the process and its workers, peak memory, what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    with PeakMemory(process.pid) as memory:
        _, err = process.communicate()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, memory.peak, err.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}; "
          f"{args.n:,} varied handoffs, seed {args.seed}")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        source = work / "leads.jsonl"
        source.write_text("".join(json.dumps(item) + "\n" for item in varied(args.n, args.seed)))
        for name in ("report.html", "report.pdf"):
            target = work / name
            seconds, cpu, peak, said = timed([sys.executable, "-m", "handoff_brief",
                                              "diagnose", str(source), "-o", str(target)])
            size = target.stat().st_size if target.exists() else 0
            print(f"  diagnose -o {name:<12} {seconds:6.2f} s wall, {cpu:6.2f} s CPU  "
                  f"{args.n / seconds:5.0f} handoffs/s  peak {peak / 2**20:6.1f} MB  "
                  f"{size / 2**10:6.1f} KB written")
            if said:
                print(f"    {said.splitlines()[-1]}")
        pages = _pages(work / "report.pdf")
        if pages:
            print(f"  PDF pages: {pages}")


def _pages(path: Path) -> int | None:
    try:
        from pypdf import PdfReader
    except ImportError:  # pragma: no cover
        return None
    return len(PdfReader(path).pages) if path.exists() else None


if __name__ == "__main__":
    main()
