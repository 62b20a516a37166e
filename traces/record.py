"""In-memory form of one layer's recorded BPTT tensors (one training iteration).

This is what the trainer and the synthetic generator produce and what the
writer stores. All arrays are indexed [t, b, *neuron_shape]:

- ``input_spikes``  bool, the layer's input (layer n-1's output; the encoded
  input for layer 0), shape [T, B, *in_shape]
- ``output_spikes`` bool, o[t, n], shape [T, B, *out_shape]
- ``h_mask``        bool, surrogate mask h[t, n] = |u - Vth| < a/2
- ``du_nonzero``    bool, du[t, n] != 0
- ``du_values``     optional float16 du[t, n] (zero where du_nonzero is False)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TENSORS = ("input_spikes", "output_spikes", "h_mask", "du_nonzero")


@dataclass
class LayerRecord:
    input_spikes: np.ndarray
    output_spikes: np.ndarray
    h_mask: np.ndarray
    du_nonzero: np.ndarray
    du_values: np.ndarray | None = None
