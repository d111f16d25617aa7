"""A step's captured log: hashed as written, and secrets masked afterwards in bounded memory
wherever they fall (across write pieces and read chunks)."""
from __future__ import annotations

import blake3
from hypothesis import given, settings
from hypothesis import strategies as st

from canalis.executor.logcapture import StepLog
from canalis.ledger.redact import mask_values

_secret = st.text(alphabet="abcxyz", min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.one_of(st.binary(max_size=20), _secret.map(str.encode)), max_size=30),
       secrets=st.lists(_secret, min_size=1, max_size=3), pieces=st.integers(1, 7), chunk=st.integers(1, 9),
       data=st.data())
def test_remask_masks_every_occurrence_and_rehashes(tmp_path_factory, parts, secrets, pieces, chunk, data):
    raw = b"".join(parts)
    path = tmp_path_factory.mktemp("log") / "stdout.txt"
    log = StepLog(path)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=pieces)))
    for a, b in zip([0, *cuts], [*cuts, len(raw)]):
        log.write(raw[a:b])
    log.close()
    log.remask(secrets, chunk=chunk)
    want = mask_values(raw, secrets)
    assert path.read_bytes() == want
    assert log.size == len(want) and log._hash.hexdigest() == blake3.blake3(want).hexdigest()


def test_remask_without_secrets_leaves_the_log_alone(tmp_path):
    log = StepLog(tmp_path / "stderr.txt")
    log.write(b"hello\n")
    log.close()
    before = log._hash.hexdigest()
    log.remask([])
    assert (tmp_path / "stderr.txt").read_bytes() == b"hello\n" and log._hash.hexdigest() == before
