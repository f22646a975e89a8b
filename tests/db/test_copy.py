"""COPY's input stream hands psycopg2 the pieces' text whole, in reads of any size."""

from __future__ import annotations

import pytest

from movie_recs.db.copy import _CopyStream

PIECES = ["a,1\n", "", "bb,22\nccc,333\n" * 50, "d,4\n", "e" * 1000 + "\n"]


@pytest.mark.parametrize("size", [1, 3, 7, 64, 10_000])
def test_reads_of_any_size_give_the_pieces_text_in_order(size):
    stream = _CopyStream(PIECES)
    reads = iter(lambda: stream.read(size), "")
    text = list(reads)
    assert "".join(text) == "".join(PIECES)
    assert all(len(piece) <= size for piece in text)
    assert all(len(piece) == size for piece in text[:-1])


def test_a_read_of_everything_empties_the_stream():
    stream = _CopyStream(PIECES)
    assert stream.read(5) == "a,1\nb"
    assert stream.read() == "".join(PIECES)[5:]
    assert stream.read(5) == ""
