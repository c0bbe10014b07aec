"""Batches on a Dask cluster, side by side with the local pool. Prints; asserts nothing.

    .venv/bin/python benchmarks/cluster.py [--n 200] [--jobs 2] [--repeat 1]

On N generated one-page handoffs (benchmarks/batch.py's, fixed seed), rendered to PDF by
`handoff-brief batch`, each run a fresh process and a fresh output folder, timed whole
(start-up, both passes, writing):
  - the local pool of --jobs worker processes,
  - `--cluster local` (a LocalCluster of --jobs worker processes, started by the run),
  - a simulated two-machine run: `dask scheduler` and --jobs `dask worker` processes started
    beforehand on loopback, the batch with `--cluster tcp://127.0.0.1:PORT`;
and whether every output is byte-identical to the local pool's (the index in the state
folder compared as JSON: its stamps are in the order the briefs were finished). Wall time
and the CPU time of every process involved (which the machine's other load disturbs less;
this process is made their subreaper, so that a local cluster's forkserver and workers,
which outlive the batch's process by a moment, are counted too). With --repeat, the best of
that many interleaved runs of each, every run listed as it ends with the load average.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch import synthetic  # noqa: E402

BIN = Path(sys.executable).parent


def batch(source: Path, out: Path, jobs: int, cluster: str | None,
          others: list[int]) -> tuple[float, float]:
    """Wall time, and CPU time of the batch's processes and of `others` (the scheduler and
    workers started beforehand) while it ran."""
    command = [str(BIN / "handoff-brief"), "batch", str(source), "-o", str(out),
               "--format", "pdf", "--jobs", str(jobs)] + (["--cluster", cluster] if cluster
                                                         else [])
    import psutil

    ours = {child.pid for child in psutil.Process().children()}
    before = cpu(others) + children_cpu()
    start = time.perf_counter()
    run = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"{' '.join(command)}: exit {run.returncode}\n{run.stderr[-3000:]}")
    reap_orphans(ours)
    return took, cpu(others) + children_cpu() - before


def reap_orphans(ours: set[int], timeout: float = 30) -> None:
    """Wait for the batch's processes that outlived it and were handed to this process (its
    subreaper; `ours` are the children it had before), so that their CPU time counts in
    `children_cpu`."""
    import psutil

    deadline = time.monotonic() + timeout
    while orphans := [p.pid for p in psutil.Process().children() if p.pid not in ours]:
        if time.monotonic() > deadline:
            print(f"  (processes {orphans} outlived the batch by {timeout} s: not counted)")
            return
        for pid in orphans:
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.01)


def become_subreaper() -> None:
    """Orphaned descendants (a forkserver, say) are handed to this process, not to init."""
    PR_SET_CHILD_SUBREAPER = 36  # noqa: N806  <linux/prctl.h>
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("  (not a subreaper: CPU of processes outliving a batch is not counted)")


def children_cpu() -> float:
    """User and system time of every child process that ended, and of their children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu(pids: list[int]) -> float:
    """User and system time of the processes `pids` and all their descendants, so far."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for process in [root, *root.children(recursive=True)]:
                times = process.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            pass
    return total


def outputs(folder: Path) -> dict[str, object]:
    """The briefs as bytes, the state folder's JSON files as values."""
    return {str(p.relative_to(folder)): json.loads(p.read_bytes())
            if p.parent.name == ".handoff-brief" and p.suffix == ".json" else p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in ("report.json", "report.md")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scheduler_and_workers(workers: int, folder: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """`dask scheduler` and `workers` single-threaded `dask worker` processes, as on separate
    machines (here on loopback); returns once every worker has joined."""
    from distributed import Client

    address = f"tcp://127.0.0.1:{free_port()}"
    log = open(folder / "dask.log", "wb")  # noqa: SIM115  closed with the processes
    processes = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                                   "--port", address.rsplit(":", 1)[1], "--no-dashboard"],
                                  stdout=log, stderr=log)]
    for _ in range(workers):
        processes.append(subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads",
                                           "1", "--nworkers", "1", "--no-dashboard"],
                                          stdout=log, stderr=log))
    with Client(address, timeout=30) as client:
        client.wait_for_workers(workers, timeout=60)
    return address, processes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; {args.n} synthetic one-page handoffs to PDF, "
          f"{args.jobs} workers, best of {args.repeat}")
    become_subreaper()
    with tempfile.TemporaryDirectory() as name:
        work = Path(name)
        source = work / "leads.jsonl"
        source.write_text("".join(json.dumps(item) + "\n" for item in synthetic(args.n)))
        address, processes = scheduler_and_workers(args.jobs, work)
        try:
            runs = {"local pool": None, "--cluster local": "local",
                    "--cluster tcp:// (dask scheduler + workers)": address}
            times: dict[str, float] = {}
            cpus: dict[str, float] = {}
            walls: dict[str, list[float]] = {}  # every run's, for the paired ratios
            made: dict[str, dict[str, object]] = {}
            others = [process.pid for process in processes]
            for attempt in range(args.repeat):  # interleaved: the machine's load drifts
                for number, (label, cluster) in enumerate(runs.items()):
                    out = work / f"out-{number}-{attempt}"
                    took, used = batch(source, out, args.jobs, cluster,
                                       others if cluster == address else [])
                    print(f"  run {attempt + 1}: {label:<44} {took:7.2f}s  CPU {used:6.1f}s  "
                          f"load {os.getloadavg()[0]:.1f}", flush=True)
                    walls.setdefault(label, []).append(took)
                    times[label] = min(times.get(label, took), took)
                    cpus[label] = min(cpus.get(label, used), used)
                    made[label] = outputs(out)
        finally:
            for process in reversed(processes):
                process.terminate()
                process.wait()
    base, base_cpu = times["local pool"], cpus["local pool"]
    print(f"  {'':<44} {'wall':>8}  {'briefs/s':>8}  {'vs pool':>7}  {'CPU':>8}  {'vs pool':>7}")
    for label, took in times.items():
        differ = sorted(name for name in made[label].keys() | made["local pool"].keys()
                        if made[label].get(name) != made["local pool"].get(name))
        same = f"DIFFERENT: {', '.join(differ[:3])}" if differ else "identical"
        print(f"  {label:<44} {took:7.2f}s  {args.n / took:8.2f}  {took / base:6.2f}x  "
              f"{cpus[label]:7.1f}s  {cpus[label] / base_cpu:6.2f}x  outputs {same}")
    if args.repeat > 1:  # a shared machine's speed drifts: each run against its round's pool
        for label, runs in walls.items():
            if label != "local pool":
                ratios = sorted(t / pool for t, pool in zip(runs, walls["local pool"], strict=True))
                listed = ", ".join(f"{ratio:.2f}" for ratio in ratios)
                print(f"  {label}: median of each round's wall vs that round's pool "
                      f"{ratios[len(ratios) // 2]:.2f}x ({listed})")
    print("  wall: the whole command, start-up included (the tcp:// run's workers were started "
          "and joined before);\n  CPU: user+system of every process of the run, workers "
          "included (steady under a loaded machine)")


if __name__ == "__main__":
    main()
