"""The step channel (executor/channel.py): the reader moves past messages only as far as it is
told, so a request answered in the middle of a read does not make the messages before it be
recorded twice, and a line the step has not finished is left for the next read."""
from __future__ import annotations

from canalis.executor.channel import ChannelReader, ChannelWriter


def test_the_reader_moves_past_only_the_messages_acknowledged(tmp_path):
    path = tmp_path / "channel.jsonl"
    writer = ChannelWriter(str(path))
    for i in range(3):
        writer.send({"op": "metric", "name": f"m{i}", "value": i})
    with open(path, "ab") as f:
        f.write(b'{"op": "metric", "na')  # a line the step has not finished writing
    reader = ChannelReader(path)
    assert [m["name"] for m in reader.read_new()] == ["m0", "m1", "m2"]
    reader.ack(1)
    assert [m["name"] for m in reader.read_new()] == ["m1", "m2"]  # not acknowledged: read again
    reader.ack()
    assert reader.read_new() == []
    with open(path, "ab") as f:
        f.write(b'me": "m3", "value": 3}\n')
    assert [m["name"] for m in reader.read_new()] == ["m3"]
    reader.ack(0)  # nothing done with: the next read gives it again
    assert [m["name"] for m in reader.read_new()] == ["m3"]


def test_a_line_that_is_not_json_is_passed_on_as_invalid(tmp_path):
    path = tmp_path / "channel.jsonl"
    path.write_bytes(b'{"op": "tag", "tags": {}}\nnot json\n\n')
    messages = ChannelReader(path).read_new()
    assert [m["op"] for m in messages] == ["tag", "invalid", "invalid"]
    assert messages[1]["raw"] == "not json"
