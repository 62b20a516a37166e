"""The bandwidth-only DRAM timing model: one FIFO server per channel, bytes / peak."""

from __future__ import annotations

from typing import TYPE_CHECKING

from memory.address_map import Span
from memory.dram_records import AccessRecord, Schedule, to_record

if TYPE_CHECKING:
    from memory.dram import Dram


class BandwidthModel:
    """Service = bytes / peak bandwidth; reads complete a fixed latency later."""

    def __init__(self, dram: "Dram") -> None:
        self.preset, self.address_map, self._state = dram.preset, dram.address_map, dram._state
        self._counters, self._windows = dram._counters, dram._windows
        self.bytes_per_cycle, self.latency_cycles = dram.bytes_per_cycle, dram.latency_cycles

    def access(self, address: int, length: int, arrival: int, is_read: bool) -> AccessRecord:
        """Serve a transaction of ``length > 0`` bytes: its record; counters and windows
        are updated."""
        sp = self.address_map.span(address, length)
        sched = self.reserve(sp, arrival, is_read)
        chans = sched.channels
        nbytes, start = [sp.nbytes[ch] for ch in chans], [sched.start[ch] for ch in chans]
        zeros = [0] * len(chans)      # no row hits, misses or conflicts counted
        self._counters.add(chans, nbytes, is_read, (zeros, zeros, zeros), start, arrival,
                           [sched.busy[ch] for ch in chans])
        self._windows.add(chans, start, [sched.end[ch] for ch in chans], nbytes)
        return to_record(arrival, sched)

    def reserve(self, sp: Span, arrival: int, is_read: bool) -> Schedule:
        st, ch_n, arr = self._state, self.preset.channels, float(arrival)
        chans, nbytes = sp.channels, sp.nbytes
        start, end, busy = [arr] * ch_n, [arr] * ch_n, [0.0] * ch_n
        for ch in chans:
            start[ch] = max(st.bus_free[ch], arr)
            busy[ch] = nbytes[ch] / self.bytes_per_cycle
            end[ch] = st.bus_free[ch] = start[ch] + busy[ch]
        done = [t + self.latency_cycles for t in end] if is_read else end
        zeros = [0] * ch_n
        return Schedule(chans, start, end, done, (zeros, zeros, zeros), busy)
