"""tonic event data (issue 12, item 5): events in tonic's own dtype become binary spikes."""

from __future__ import annotations

import numpy as np
import pytest

from capture_support import need


def test_events_land_in_their_bin_pixel_and_polarity():
    need("tonic")
    from tonic.datasets import NMNIST
    from traces.events import events_to_spikes

    events = np.zeros(3, dtype=NMNIST.dtype)
    events[0] = (3, 5, 0, 1)       # x, y, t (µs), p
    events[1] = (3, 5, 10, 1)      # a second event in the same bin: still one spike
    events[2] = (30, 1, 900, 0)    # the last bin (tonic drops an event at the very end)
    events = np.concatenate([events, np.array([(0, 0, 1000, 0)], dtype=NMNIST.dtype)])
    spikes = events_to_spikes(events, (34, 34, 2), timesteps=4)
    assert spikes.shape == (4, 2, 34, 34) and spikes.dtype == bool
    assert spikes[0, 1, 5, 3] and spikes[3, 0, 1, 30] and spikes.sum() == 2


def test_random_events_downsample_and_bad_arrays():
    need("tonic")
    from traces.events import EventDataError, events_to_spikes, load_batch, synthetic_events

    events = synthetic_events(np.random.default_rng(0), (34, 34, 2), 500)
    spikes = events_to_spikes(events, (34, 34, 2), 8, downsample=2)
    assert spikes.shape == (8, 2, 17, 17) and 0 < spikes.mean() < 1
    with pytest.raises(EventDataError, match="fields x, y, t, p"):
        events_to_spikes(np.zeros(4), (34, 34, 2), 8)
    with pytest.raises(EventDataError, match="no such directory"):
        load_batch("nmnist", "/nonexistent/nmnist", 2, 4)
    with pytest.raises(EventDataError, match="unknown dataset"):
        load_batch("mnist", "/tmp", 2, 4)
