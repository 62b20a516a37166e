"""How the simulator's cost grows with the network: four networks, small to ImageNet size.

    python benchmarks/scaling.py [--only NAME ...] [--cache DIR]

For mnist-cnn and cifar10-cifarnet (reference workloads, reference T and batch),
VGG-11 on CIFAR-10 (T=4, B=64) and the ResNet-18 layer chain at 224x224 (T=4, B=8)
— the last two from benchmarks/networks/*.toml — it generates a synthetic trace
(seed 0, cached) and times one ``h2learn run`` process: wall, CPU, peak RSS, trace
size, and CPU per modelled synaptic operation. A synaptic operation here is one
weight × input term of the dense layer, counted for the three BPTT phases
(forward, backward, weight update) over T and the batch — the work the simulated
hardware is asked to do, whatever it skips — so the cost per operation says how the
simulator scales with work, independent of sparsity.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from traces.netfile import load_network_file
from traces.network import Network
from traces.workloads import get_workload

HERE = Path(__file__).parent
NETWORKS = {"mnist-cnn": None, "cifar10-cifarnet": None,
            "vgg11-cifar10": HERE / "networks" / "vgg11-cifar10.toml",
            "resnet18-imagenet": HERE / "networks" / "resnet18-imagenet.toml"}
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
PHASES = 3  # forward, backward (do = W^T du), weight update (dW = du x spikes)


def synaptic_ops(network: Network, timesteps: int, batch: int) -> int:
    """Dense weight × input terms of one iteration, all three phases."""
    per_sample = sum(math.prod(layer.out_shape) * layer.fan_in for layer in network.layers)
    return per_sample * timesteps * batch * PHASES


def workload_of(name: str):
    source = NETWORKS[name]
    return get_workload(name) if source is None else load_network_file(source)[0]


def make_trace(name: str, cache: Path) -> Path:
    path = cache / f"scaling-{name}.h5"
    if not path.exists():
        source = NETWORKS[name]
        what = ["--workload", name] if source is None else ["--network", str(source)]
        subprocess.run([sys.executable, "-m", "tlm", "trace", "gen", *what, "-o", str(path)],
                       check=True, env=ENV, stdout=subprocess.DEVNULL)
    return path


def run_once(path: Path) -> tuple[float, float, float, dict]:
    """(wall s, CPU s, peak RSS MiB, results JSON) of one ``h2learn run`` process."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "tlm", "run", str(path), "--json", "-"],
                             stdout=subprocess.PIPE, env=ENV)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"h2learn run {path}: failed")
    return (time.perf_counter() - start, usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss / 1024, json.loads(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(NETWORKS), default=list(NETWORKS))
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "h2learn-bench")
    args = parser.parse_args()
    from measured import print_header  # benchmarks/measured.py, beside this script
    print_header()
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'network':<19}{'T':>3}{'B':>4}{'trace MB':>9}{'wall s':>8}{'CPU s':>7}{'RSS MiB':>8}"
          f"{'synops':>9}{'ns CPU/synop':>13}")
    for name in args.only:
        workload = workload_of(name)
        path = make_trace(name, args.cache)
        wall_s, cpu_s, rss_mib, results = run_once(path)
        timesteps, batch = results["workload"]["timesteps"], results["workload"]["batch"]
        ops = synaptic_ops(workload.network, timesteps, batch)
        print(f"{name:<19}{timesteps:>3}{batch:>4}{path.stat().st_size / 1e6:>9.1f}{wall_s:>8.2f}"
              f"{cpu_s:>7.2f}{rss_mib:>8.0f}{ops / 1e9:>8.1f}G{cpu_s / ops * 1e9:>13.4f}")
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
