"""Storing a new version of a large file: following its earlier version's chunk list.

Cutting (FastCDC) is the costliest step of storing a large file after reading it. When a
file is stored again after an append or a change near its end, most of its chunks are those
of its earlier version, at the same offsets. So once the first chunk is cut and hashed, the
pack index's hints (`chunk_heads`) name the chunk lists stored with that first chunk; the
latest one that is still stored is *followed*: its next chunks' sizes are taken as cut
points, each region is hashed, and a region is kept only when its hash is the chunk list's
digest for it. At the first region that differs, cutting resumes, from the start of the
last chunk not yet confirmed.

The chunk list this gives is the one cutting from scratch gives (a property test checks
it), because FastCDC decides a cut from the bytes since the previous cut alone:

- its gear hash starts again at every cut, and a cut at offset n of a chunk is decided by
  the bytes up to n *inclusive* (the first byte of the next chunk), or by the maximum size;
- it looks at most MAX_CHUNK bytes ahead, and decides differently only when fewer than
  MAX_CHUNK bytes are left (it then shortens its normal size to what is left).

So an earlier chunk j (offset o, size n) is confirmed when: its bytes hash to its digest;
the next earlier chunk's bytes hash to that one's digest too (so the byte after chunk j is
the same); and both the earlier file and this one had at least MAX_CHUNK bytes left at o
(this keeps the end of either file, where FastCDC shortens its look-ahead, out of the
question; it costs following the last MAX_CHUNK bytes only).

After a change in the middle (a rewritten region, bytes inserted or deleted), cutting
soon gives the earlier chunks again, shifted. When a chunk just cut is an earlier chunk k,
this file's offset o' at its end is earlier offset o(k + 1) shifted; if the offset this
file is cut at now, less that shift, is an earlier cut point, following resumes there
(`realign`). The same rules confirm every chunk, so a wrong guess costs one buffer's
hashing, and once wrong guesses outnumber right ones by REALIGN_TRIES, the rest of the
file is cut.
"""
from __future__ import annotations

from canalis.store.errors import StoreError

#: wrong guesses `realign` may make for one file before it stops guessing
REALIGN_TRIES = 8


def find(store, head: str, first_size: int) -> "Earlier | None":
    """The latest stored chunk list that starts with chunk `head` (of `first_size` bytes)
    and has more chunks to follow, or None. Hints naming a list that is gone or unreadable
    are passed over."""
    for lst in store._index.lists_headed_by(head):
        try:
            chunks = store.chunks(lst)
        except StoreError:
            continue
        if len(chunks) > 2 and chunks[0] == (head, first_size):
            return Earlier(lst, chunks)
    return None


class Earlier:
    """An earlier version's chunks, followed from chunk 1 (chunk 0 is the one that found it)."""

    def __init__(self, digest: str, chunks: list[tuple[str, int]]):
        self.digest = digest
        self.chunks = chunks
        self.offsets = [0]
        for _, n in chunks:
            self.offsets.append(self.offsets[-1] + n)
        self.size = self.offsets[-1]
        self.next = 1  # the earlier chunk that starts where this file was last cut
        self.tries = REALIGN_TRIES
        self._by_digest: dict[str, int] | None = None
        self._by_offset: dict[int, int] | None = None

    def regions(self, room: int, end: bool, max_chunk: int) -> tuple[list[tuple[int, int]], bool]:
        """The regions (offset, size) to hash next, given `room` bytes read from where this
        file was last cut (`end`: they reach the end of the file): candidate chunks, then
        the follower of the last one. Also whether following can go on (False: no candidate
        can be confirmed from here on, cut instead)."""
        out: list[tuple[int, int]] = []
        j, rel = self.next, 0
        while j + 1 < len(self.chunks):
            n, follower = self.chunks[j][1], self.chunks[j + 1][1]
            if self.size - self.offsets[j] < max_chunk:
                break  # the earlier file's cut here saw its end
            if room - rel < max_chunk or rel + n + follower > room:
                if end:  # this file ends before a candidate could be confirmed
                    break
                return self._with_follower(out), True  # wait for more bytes
            out.append((rel, n))
            rel += n
            j += 1
        return self._with_follower(out), False

    def _with_follower(self, out: list[tuple[int, int]]) -> list[tuple[int, int]]:
        if out:
            out.append((sum(n for _, n in out), self.chunks[self.next + len(out)][1]))
        return out

    def realign(self, at: int, last: str, last_end: int) -> bool:
        """Whether following can resume at this file's offset `at` (a cut point), given that
        the latest chunk stored was `last`, ending at offset `last_end`; if so, the earlier
        chunk that starts there is the next candidate."""
        if self.tries <= 0:
            return False
        if self._by_digest is None:
            self._by_digest = {d: k for k, (d, _) in reversed(list(enumerate(self.chunks)))}
            self._by_offset = {o: k for k, o in enumerate(self.offsets)}
        k = self._by_digest.get(last)
        if k is None:
            return False
        j = self._by_offset.get(at - last_end + self.offsets[k + 1])
        if j is None or not 1 <= j < len(self.chunks) - 1:
            return False
        self.next = j
        self.tries -= 1  # given back by a confirmed chunk
        return True

    def confirm(self, digests: list[str]) -> int:
        """How many of the candidates whose regions hashed to `digests` (the candidates',
        then the follower's) are confirmed; following moves past them."""
        ok = 0
        while ok + 1 < len(digests):
            j = self.next + ok
            if digests[ok] != self.chunks[j][0] or digests[ok + 1] != self.chunks[j + 1][0]:
                break
            ok += 1
        self.next += ok
        if ok:
            self.tries = min(REALIGN_TRIES, self.tries + 1)
        return ok
