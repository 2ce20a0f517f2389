"""The frame decoder, without sockets: fed random streams split anywhere."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from net.chat.framing import FrameDecoder, FrameError, encode

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=50)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
objects = st.dictionaries(st.text(max_size=10), json_values, max_size=5)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@settings(max_examples=200, deadline=None)
@given(st.lists(objects, max_size=8), st.lists(st.integers(0, 10_000), max_size=12))
def test_any_split_of_a_valid_stream_gives_back_the_objects(objs, cuts):
    data = b"".join(encode(o) for o in objs)
    decoder = FrameDecoder()
    out = []
    for piece in split(data, cuts):
        out.extend(decoder.feed(piece))
    assert out == objs
    assert decoder.buffered == 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(0, 400), max_size=6))
def test_random_bytes_either_decode_to_objects_or_raise_frame_error(data, cuts):
    decoder = FrameDecoder(max_payload=1000)
    try:
        for piece in split(data, cuts):
            for obj in decoder.feed(piece):
                assert isinstance(obj, dict)
    except FrameError:
        pass  # the only failure a stream of bytes may cause


def test_length_is_checked_before_the_body_arrives():
    decoder = FrameDecoder(max_payload=100)
    with pytest.raises(FrameError, match="over the 100 limit"):
        decoder.feed(struct.pack(">I", 101))  # header alone: no body needed to refuse


@pytest.mark.parametrize("payload,message", [
    (b"", "length 0"), (b"\xc3\x28", "UTF-8"), (b"{", "JSON"), (b"42", "object"),
    (b'{"a": Infinity}', "JSON"), (b"[" * 100_000 + b"]" * 100_000, "JSON"),
])
def test_each_kind_of_bad_frame(payload, message):
    with pytest.raises(FrameError, match=message):
        FrameDecoder(max_payload=1 << 20).feed(struct.pack(">I", len(payload)) + payload)
