"""Trace identity: the file hash follows bytes, the content hash follows what is read."""

import h5py
import numpy as np

from traces.identity import content_sha256, file_sha256
from traces.sample import sample_trace_path


def _rewrite_unchunked(src, dst, *, flip_first_bit=False):
    """Copy every dataset without chunking: another layout, the same content."""
    flipped = []
    with h5py.File(src, "r") as fin, h5py.File(dst, "w") as fout:
        fout.attrs.update(fin.attrs)

        def copy(name, obj):
            if isinstance(obj, h5py.Group):
                out = fout.require_group(name)
            else:
                data = obj[()]
                if flip_first_bit and not flipped and data.size and data.dtype == np.uint8:
                    data = data.copy()
                    data.flat[0] ^= 1
                    flipped.append(name)
                out = fout.create_dataset(name, data=data)
            out.attrs.update(obj.attrs)

        fin.visititems(copy)
    assert flipped or not flip_first_bit


def test_content_hash_ignores_layout_but_not_values(tmp_path):
    src = sample_trace_path()
    same, changed = tmp_path / "same.h5", tmp_path / "changed.h5"
    _rewrite_unchunked(src, same)
    _rewrite_unchunked(src, changed, flip_first_bit=True)
    assert file_sha256(same) != file_sha256(src)
    assert content_sha256(same) == content_sha256(src)
    assert content_sha256(changed) != content_sha256(src)
