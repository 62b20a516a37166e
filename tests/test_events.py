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


def test_downsample_and_bad_arrays():
    need("tonic")
    from tonic.datasets import NMNIST
    from capture_support import random_events
    from traces.events import EventDataError, events_to_spikes

    events = random_events(np.random.default_rng(0), NMNIST.dtype, (34, 34, 2), 500)
    spikes = events_to_spikes(events, (34, 34, 2), 8, (17, 17))
    assert spikes.shape == (8, 2, 17, 17) and 0 < spikes.mean() < 1
    with pytest.raises(EventDataError, match="fields x, y, t, p"):
        events_to_spikes(np.zeros(4), (34, 34, 2), 8)


def test_a_downloaded_nmnist_copy_reads_back_what_was_written(tmp_path):
    need("tonic")
    from capture_support import write_nmnist_copy
    from traces.events import find_recordings

    written = write_nmnist_copy(tmp_path, per_class=1)
    found = find_recordings(tmp_path)
    assert len(found) == 10 and sorted(found.labels.tolist()) == list(range(10))
    first = found.files[0]
    assert np.array_equal(found.events(0)[["x", "y", "p"]], written[first][["x", "y", "p"]])
    assert found.spikes(np.array([0, 1]), 4, (2, 34, 34)).shape == (4, 2, 2, 34, 34)


@pytest.mark.parametrize("case, message", [
    ("missing", "no such directory"), ("empty", "no recordings|neither|expected"),
    ("unknown", "unknown dataset"), ("short-bin", "5 bytes|multiple")])
def test_bad_data_dirs_are_one_error(tmp_path, case, message):
    need("tonic")
    from capture_support import write_nmnist_copy
    from traces.events import EventDataError, find_recordings

    name = None
    if case == "missing":
        where = tmp_path / "nope"
    elif case == "empty":
        where = tmp_path
    elif case == "unknown":
        where, name = tmp_path, "mnist"
    else:
        written = write_nmnist_copy(tmp_path, per_class=1)
        next(iter(written)).write_bytes(b"\x00" * 7)
        where = tmp_path
    with pytest.raises(EventDataError, match=message):
        found = find_recordings(where, name)
        for i in range(len(found)):
            found.events(i)


def test_trace_gen_from_a_data_dir_checks_and_runs(tmp_path):
    need("tonic")
    from capture_support import write_nmnist_copy
    from tlm.app.cli import main

    write_nmnist_copy(tmp_path / "data", per_class=1)
    net = tmp_path / "n.toml"
    net.write_text('topology = "4C3-AP2-FC10"\ninput_shape = [2, 34, 34]\n'
                   'timesteps = 3\nbatch = 2\n')
    out = tmp_path / "n.h5"
    assert main(["trace", "gen", "--network", str(net), "--source", "trainer", "--data-dir",
                 str(tmp_path / "data"), "--batch", "2", "--timesteps", "3",
                 "--train-iterations", "1", "-o", str(out)]) == 0
    assert main(["trace", "check", str(out)]) == 0
    assert main(["run", str(out)]) == 0
    assert main(["trace", "gen", "--network", str(net), "--source", "trainer", "--data-dir",
                 str(tmp_path / "none"), "-o", str(tmp_path / "x.h5")]) == 2
    assert not (tmp_path / "x.h5").exists()
