"""The service against `batch` on the same handoffs, in one run. Prints; asserts nothing.

    .venv/bin/python benchmarks/serve.py [--n 60] [--jobs 2]

Generates N varied one-page handoffs (the fixed seed of benchmarks/batch.py) and measures:
  - `handoff-brief batch` to PDF with --jobs J: briefs/s (the baseline),
  - `handoff-brief serve --jobs J`, `POST /v1/briefs?format=pdf` for every handoff at
    concurrency 1, 2 and 4 (each client sends its next request when the last is answered):
    briefs/s, the ratio to batch, and p50/p95 latency per request,
  - each figure on a warm server (a first pass of requests is not counted).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch import synthetic  # noqa: E402  the same handoffs as the batch benchmark

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "handoff_brief"]


def run_batch(handoffs: list[dict[str, object]], jobs: int, folder: Path) -> float:
    source = folder / "handoffs.jsonl"
    source.write_text("".join(json.dumps(h, default=str) + "\n" for h in handoffs))
    started = time.perf_counter()
    subprocess.run([*CLI, "batch", str(source), "-o", str(folder / "out"), "--jobs",
                    str(jobs), "--force"], check=True, capture_output=True)
    return len(handoffs) / (time.perf_counter() - started)


async def load(url: str, bodies: list[bytes], concurrency: int) -> tuple[float, list[float]]:
    """Briefs/s and each request's latency, `concurrency` clients working through `bodies`."""
    todo = list(bodies)
    latencies: list[float] = []

    async def client(http: httpx.AsyncClient) -> None:
        while todo:
            body = todo.pop()
            started = time.perf_counter()
            response = await http.post("/v1/briefs?format=pdf", content=body,
                                       headers={"Content-Type": "application/json"})
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{response.status_code}: {response.text[:200]}")

    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        started = time.perf_counter()
        await asyncio.gather(*[client(http) for _ in range(concurrency)])
        elapsed = time.perf_counter() - started
    return len(bodies) / elapsed, latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    handoffs = synthetic(args.n)
    bodies = [json.dumps(h, default=str).encode() for h in handoffs]
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"{args.n} one-page PDF briefs, {args.jobs} worker processes")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        baseline = run_batch(handoffs, args.jobs, folder)
        print(f"batch --jobs {args.jobs}: {baseline:.1f} briefs/s (whole process, start-up "
              "included)")
        server = subprocess.Popen(
            [*CLI, "serve", "--port", "0", "--jobs", str(args.jobs), "--max-queue", "64",
             "--data-dir", str(folder / "data")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if k != "HANDOFF_API_TOKEN"})
        assert server.stdout is not None
        try:
            url = server.stdout.readline().decode().removeprefix("serving on ").strip()
            asyncio.run(load(url, bodies[: max(4, args.jobs * 2)], args.jobs))  # warm
            print(f"{'concurrency':>11} {'briefs/s':>9} {'vs batch':>9} {'p50 s':>7} "
                  f"{'p95 s':>7}")
            for concurrency in (1, 2, 4):
                rate, latencies = asyncio.run(load(url, bodies, concurrency))
                print(f"{concurrency:>11} {rate:>9.1f} {rate / baseline:>8.2f}x "
                      f"{statistics.median(latencies):>7.3f} {percentile(latencies, 0.95):>7.3f}")
        finally:
            server.terminate()
            server.wait(30)
        # batch once more, after the server, so that a machine that got busier shows
        again = run_batch(handoffs, args.jobs, folder)
        print(f"batch --jobs {args.jobs} again: {again:.1f} briefs/s")


if __name__ == "__main__":
    main()
