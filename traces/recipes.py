"""Named, reproducible recipes for the reference workloads' traces, with a cache.

A recipe says exactly how a reference trace is made, so that anyone can make
the same file: the workload, how long the project's numpy BPTT trainer trains
it first (at a small batch, so the network learns in affordable time), and the
batch and T of the one iteration that is then recorded. The recorded iteration
is the one right after training (index ``train_iterations``, 0-based), run at
the recorded batch on the trained weights.

Two sources:

* ``trainer`` — the recorded iteration comes from the trainer itself;
* ``synthetic`` — the trainer trains and records at its small batch only, its
  per-layer firing, mask and du densities (and input rate) are measured, and
  the synthetic generator writes the trace at the recorded batch with those
  densities (for networks too slow to train and record at full size).

Traces are cached by a hash of the recipe (and ``RECIPE_VERSION``) under
``$H2LEARN_CACHE`` (default ``~/.cache/h2learn``), in ``traces/``; next to
each trace a JSON file keeps the recipe, the training history, the measured
densities and the trace's content hash (``traces/identity.py``), which a trace
rebuilt anywhere from the same recipe reproduces. Nothing here prints; ``progress`` callbacks report training steps.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from traces.atomic import write_atomic
from traces.identity import content_sha256
from traces.record import LayerRecord
from traces.synthetic import LayerRates, SyntheticParams, generate_trace
from traces.workloads import get_workload
from traces.writer import TraceWriter, header_for_workload

# bump when the way a recipe is turned into a trace changes
# (2: fixed-point synaptic sums, the same trace on every machine)
RECIPE_VERSION = 2
PRODUCER = "h2learn-tlm recipe"
CACHE_ENV = "H2LEARN_CACHE"
SOURCES = ("trainer", "synthetic")
DENSITY_FLOOR = 1e-3          # LayerRates needs densities strictly inside (0, 1)

Progress = Callable[[int, int], None]   # (steps done, steps in all)


@dataclass(frozen=True)
class Recipe:
    """How one reference trace is made. Every field enters the cache key."""

    workload: str
    source: str = "trainer"
    train_batch: int = 8          # batch while training
    train_iterations: int = 40    # iterations trained before the recorded one
    lr: float = 0.05
    batch: int | None = None      # recorded batch; None = the workload's
    timesteps: int | None = None  # T for training and recording; None = the workload's
    seed: int = 0

    def __post_init__(self) -> None:
        get_workload(self.workload)  # raises KeyError naming the known workloads
        if self.source not in SOURCES:
            raise ValueError(f"recipe source {self.source!r}: expected one of {', '.join(SOURCES)}")
        for name in ("train_batch", "batch", "timesteps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"recipe {name} = {value}: expected >= 1")
        if self.train_iterations < 0 or not self.lr > 0:
            raise ValueError(f"recipe train_iterations {self.train_iterations}, lr {self.lr}: "
                             "expected >= 0 and > 0")

    @property
    def record_batch(self) -> int:
        return self.batch or get_workload(self.workload).batch

    @property
    def record_timesteps(self) -> int:
        return self.timesteps or get_workload(self.workload).timesteps

    def key(self) -> str:
        """Stable hash of the recipe: same recipe, same file."""
        text = json.dumps({"version": RECIPE_VERSION, **dataclasses.asdict(self)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def with_overrides(self, **changes: Any) -> "Recipe":
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


# The reference recipes. Batch and T are the workloads' (traces/workloads.py); the
# training batch and length are what the 2-core budget affords (docs/assumptions.md
# gives the wall times); learning rates are the largest that train each network
# without the loss diverging (the trainer's note: deep nets need 0.01-0.05).
REFERENCE_RECIPES: dict[str, Recipe] = {r.workload: r for r in (
    Recipe("mnist-cnn", train_batch=8, train_iterations=60, lr=0.05),
    Recipe("nmnist-cnn", train_batch=8, train_iterations=60, lr=0.05),
    Recipe("cifar10-cifarnet", train_batch=2, train_iterations=12, lr=0.01),
    Recipe("dvsgesture-cnn", train_batch=4, train_iterations=30, lr=0.03),
)}


def reference_recipe(workload: str) -> Recipe:
    try:
        return REFERENCE_RECIPES[workload]
    except KeyError:
        known = ", ".join(REFERENCE_RECIPES)
        raise KeyError(f"no reference recipe for {workload!r}; known: {known}") from None


def cache_dir(override: str | os.PathLike | None = None) -> Path:
    """The cache root: ``override``, else ``$H2LEARN_CACHE``, else ``~/.cache/h2learn``."""
    if override is not None:
        return Path(override)
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "h2learn"


def cached_path(recipe: Recipe, cache: str | os.PathLike | None = None) -> Path:
    return cache_dir(cache) / "traces" / f"{recipe.workload}-{recipe.key()}.h5"


def ensure_trace(recipe: Recipe, cache: str | os.PathLike | None = None,
                 progress: Progress | None = None) -> Path:
    """The recipe's trace in the cache, made first if it is not there yet."""
    path = cached_path(recipe, cache)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        provenance = make_trace(recipe, path, progress)
        _write_json_atomic(path.with_suffix(".json"), provenance)
    return path


def make_trace(recipe: Recipe, path: str | os.PathLike,
               progress: Progress | None = None) -> dict[str, Any]:
    """Write the recipe's trace to ``path``; returns its provenance (recipe, history, densities)."""
    from traces.trainer import train  # heavy; only trace making needs it

    workload = get_workload(recipe.workload)
    small = recipe.source == "synthetic"
    steps = recipe.train_iterations + 1
    run = train(workload, batch=recipe.train_batch, timesteps=recipe.record_timesteps,
                iterations=steps, lr=recipe.lr, seed=recipe.seed,
                record=[recipe.train_iterations])
    for i in range(recipe.train_iterations):
        run.step(i)
        if progress is not None:
            progress(i + 1, steps)
    if not small:  # record the next iteration at the full batch, on the trained weights
        run.config = dataclasses.replace(run.config, batch=recipe.record_batch)
    recorded = run.step(recipe.train_iterations)
    assert recorded is not None  # the last step is the recorded one by construction
    if progress is not None:
        progress(steps, steps)
    densities = measure_densities(recorded.layers)
    if small:
        generate_trace(path, workload, synthetic_params(densities), batch=recipe.record_batch,
                       timesteps=recipe.record_timesteps, seed=recipe.seed)
    else:
        header = header_for_workload(workload, producer=PRODUCER, batch=recipe.record_batch,
                                     timesteps=recipe.record_timesteps)
        with TraceWriter(path, header) as writer:
            writer.write_iteration(0, recorded.layers, loss=recorded.loss,
                                   accuracy=recorded.accuracy)
    return {"recipe": dataclasses.asdict(recipe), "recipe_version": RECIPE_VERSION,
            "key": recipe.key(), "content_sha256": content_sha256(path),
            "recorded_iteration": recipe.train_iterations,
            "history": [dataclasses.asdict(h) for h in run.history], "densities": densities}


def measure_densities(layers: dict[str, LayerRecord]) -> dict[str, dict[str, float]]:
    """Per layer: input rate, firing rate, h density and du density of one recorded iteration."""
    return {name: {"input_rate": float(np.mean(rec.input_spikes)),
                   "firing_rate": float(np.mean(rec.output_spikes)),
                   "h_density": float(np.mean(rec.h_mask)),
                   "du_density": float(np.mean(rec.du_nonzero))}
            for name, rec in layers.items()}


def synthetic_params(densities: dict[str, dict[str, float]]) -> SyntheticParams:
    """Generator parameters that reproduce measured per-layer densities."""
    def clamp(x: float) -> float:
        return min(max(x, DENSITY_FLOOR), 1.0 - DENSITY_FLOOR)

    rates = {name: LayerRates(clamp(d["firing_rate"]), clamp(d["h_density"]),
                              clamp(d["du_density"])) for name, d in densities.items()}
    first = next(iter(densities.values()))
    return SyntheticParams(input_rate=clamp(first["input_rate"]), layer_rates=rates)


def read_provenance(trace_path: str | os.PathLike) -> dict[str, Any] | None:
    """The JSON written next to a cached trace, or None when there is none."""
    side = Path(trace_path).with_suffix(".json")
    return json.loads(side.read_text()) if side.exists() else None


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(data, indent=1))
