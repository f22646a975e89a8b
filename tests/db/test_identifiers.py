"""Identifiers from configuration are checked before they reach SQL."""

from __future__ import annotations

import pytest

from movie_recs.db.copy import copy_rows
from movie_recs.identifiers import checked_identifier


@pytest.mark.parametrize("name", ["movies", "rt_user_interactions", "_staging2"])
def test_plain_names_pass(name):
    assert checked_identifier(name) == name


@pytest.mark.parametrize(
    "name", ["movies; drop table movies", "Movies", "a-b", "1abc", "", "x" * 64, None]
)
def test_anything_else_is_refused(name):
    with pytest.raises(ValueError, match="not a valid SQL identifier"):
        checked_identifier(name)


def test_copy_refuses_an_injected_table_name_before_touching_the_database(pg):
    with pg.transaction() as cur:
        with pytest.raises(ValueError, match="not a valid SQL identifier"):
            copy_rows(cur, "movies; drop table movies", ["movie_id"], [(1,)])
        cur.execute("select to_regclass('movies') is not null")
        assert cur.fetchone() == (True,)
