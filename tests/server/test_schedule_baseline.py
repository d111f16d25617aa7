"""The listing of a watched folder as a document: it reads back as the listing, and its
BLAKE3 (an ordinary blob's address in the store) is the folder's state."""
from __future__ import annotations

import string

from blake3 import blake3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canalis.server.scheduler import _digest, folder_state, listing_bytes, parse_listing


NAME = st.text(st.characters(blacklist_characters="\0/", blacklist_categories=("Cs",)) | st.sampled_from(
    ["\udcff", "\udc80"]), min_size=1, max_size=6)  # lone surrogates: a name's bytes that are not UTF-8
PATH = st.lists(NAME, min_size=1, max_size=3).map("/".join)
LISTING = st.dictionaries(PATH, st.tuples(st.integers(0, 2**40), st.integers(-2**62, 2**62)), max_size=8)


@settings(max_examples=200, deadline=None)
@given(listing=LISTING)
def test_a_listing_document_reads_back_and_its_digest_is_the_state(listing):
    data = listing_bytes(listing)
    assert parse_listing(data) == listing
    assert blake3(data).hexdigest() == _digest(listing)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text(string.ascii_letters + "\n ._-é", min_size=1, max_size=8).filter(
    lambda n: n not in (".", "..")), unique=True, max_size=6))
def test_the_stored_listing_of_a_real_folder_is_the_one_the_scheduler_reads(tmp_path, names, ws):
    folder = tmp_path / f"f{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    for i, name in enumerate(names):
        (folder / name).write_bytes(b"x" * i)
    state, listing = folder_state(folder)
    assert ws.session.store.put_bytes(listing_bytes(listing)) == state
    assert parse_listing(ws.session.store.get_bytes(state)) == listing
