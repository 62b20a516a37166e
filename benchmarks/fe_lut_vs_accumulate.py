"""Where the Forward Engine's LUT PEs win and lose against zero-skipping accumulate PEs.

Runs one trace twice on the default design (or ``--set`` changes): once as it
is (``fe.mode = lut``) and once with ``fe.mode = accumulate`` (the ablation
``h2learn validate`` calls "FE sparse accumulate"), and prints per forward
layer the layer's time, the FE's busy cycles, the LUT channel tiles and the
input spikes re-streamed for them, then the totals. docs/faithfulness.md
quotes its output on cifar10-cifarnet.

    python benchmarks/fe_lut_vs_accumulate.py TRACE.h5 [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import sys

from tlm.app.api import load_trace, simulate
from tlm.config import load_config
from tlm.costs.forward import lut_storage_bytes
from tlm.engines.context import kib


def channel_tiles(layer, cfg) -> int:
    per_channel = max(1, lut_storage_bytes(layer, cfg.fe, 1))
    per_tile = max(1, kib(cfg.fe.lut_buffer_kib) // per_channel)
    return -(-layer.out_channels // per_tile)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("trace")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    from measured import print_header  # benchmarks/measured.py, beside this script
    print_header()
    lut_cfg = load_config(overrides=args.set)
    acc_cfg = load_config(overrides=args.set + ["fe.mode=accumulate"])
    with load_trace(args.trace) as reader:
        network = reader.meta.network
    runs = {"lut": (lut_cfg, simulate(args.trace, lut_cfg)),
            "accumulate": (acc_cfg, simulate(args.trace, acc_cfg))}
    print(f"{'layer':9} {'mode':10} {'cycles':>9} {'FE busy':>8} {'tiles':>5} {'refetch MB':>10}")
    layers = {mode: [r for r in res.layers if r["phase"] == "forward"]
              for mode, (_, res) in runs.items()}
    for i, layer in enumerate(network.layers):
        for mode, (cfg, _) in runs.items():
            row = layers[mode][i]
            print(f"{row['name']:9} {mode:10} {row['cycles']:9,} {row['busy_cycles']:8,} "
                  f"{channel_tiles(layer, cfg):5} {row['refetch_bytes'] / 1e6:10.2f}")
    for mode, (_, res) in runs.items():
        fe = res.engines["fe"]
        print(f"{mode:10} iteration {res.total_cycles:,} cycles, forward phase "
              f"{res.phases['forward']:,}, FE busy {fe['busy']:,}, "
              f"FE stalled on memory {fe['stall_memory']:,}")
    lut_total, acc_total = (runs[m][1].total_cycles for m in ("lut", "accumulate"))
    print(f"ablation (accumulate / lut time): {acc_total / lut_total:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
