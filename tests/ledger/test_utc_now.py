"""`utc_now` caches the text of the current second; a thread switching in while another
thread updates that cache must still get its own second's text."""
import time
import types

import pytest

from hypothesis import given, strategies as st

from canalis.ledger import log


class SwitchingCache(list):
    """The cache list, with a thread switch simulated right after each store into it: another
    caller asks for the time of `other_ns` there."""

    def __init__(self, items, other_ns, seen):
        super().__init__(items)
        self.other_ns, self.seen = other_ns, seen

    def __setitem__(self, index, value):
        super().__setitem__(index, value)
        if self.other_ns is not None:
            ns, self.other_ns = self.other_ns, None
            clock.now = ns
            self.seen.append((ns, log.utc_now()))


class Clock:
    now = 0

    def time_ns(self):
        return self.now


clock = Clock()


def expected(ns: int) -> str:
    s, us = divmod(ns // 1000, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ".%06dZ" % us


@given(first=st.integers(0, 4_000_000_000), step=st.integers(1, 100), us_a=st.integers(0, 999_999),
       us_b=st.integers(0, 999_999))
def test_a_caller_switching_in_during_a_cache_update_gets_its_own_second(first, step, us_a, us_b):
    with pytest.MonkeyPatch.context() as mp:
        check_switch(mp, first, step, us_a, us_b)


def check_switch(mp, first, step, us_a, us_b):
    old_ns = (first * 1_000_000 + us_a) * 1000
    new_ns = ((first + step) * 1_000_000 + us_b) * 1000
    fake = types.SimpleNamespace(time_ns=clock.time_ns, strftime=time.strftime, gmtime=time.gmtime)
    mp.setattr(log, "_time", fake)
    clock.now = old_ns
    mp.setattr(log, "_second_cache", list(log._second_cache))
    assert log.utc_now() == expected(old_ns)  # the cache now holds the old second
    seen: list = []
    mp.setattr(log, "_second_cache", SwitchingCache(log._second_cache, old_ns, seen))
    clock.now = new_ns
    assert log.utc_now() == expected(new_ns)
    assert seen and all(text == expected(ns) for ns, text in seen)
