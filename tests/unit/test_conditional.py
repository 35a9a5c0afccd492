"""If-Match and If-None-Match parsing (RFC 9110 13.1.1/13.1.2, RFC 6585)."""

from __future__ import annotations

import pytest

from lendbridge.errors import PreconditionRequired, ValidationFailed
from lendbridge.http.conditional import content_tag, etag, if_match_versions, none_match


@pytest.mark.parametrize(
    ("header", "versions"),
    [
        (None, None),
        ('"3"', (3,)),
        ("3", (3,)),
        ('  "3"  ', (3,)),
        ('"2", "3"', (2, 3)),
        ('"2",3', (2, 3)),
        ('"3",', (3,)),  # empty list elements are skipped (RFC 9110 5.6.1.2)
        ("3,,4", (3, 4)),
        ('W/"3"', ()),  # weak tags never match under strong comparison
        ('W/"3", "4"', (4,)),
        ('"abc"', ()),  # a valid tag that is no version of ours: never current
        ('""', ()),
    ],
)
def test_if_match_names_versions_compared_strongly(header: str | None, versions: tuple[int, ...] | None) -> None:
    assert if_match_versions(header) == versions


def test_if_match_star_is_refused_as_not_a_real_precondition() -> None:
    with pytest.raises(PreconditionRequired):
        if_match_versions(" * ")


@pytest.mark.parametrize("header", ["", "   ", ",", "abc", '"3', '3"', '"3" "4"', 'w/"3"', "-1", "3.0", '"a"b"'])
def test_a_malformed_if_match_is_a_validation_error(header: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        if_match_versions(header)
    assert "If-Match" in refused.value.field_errors


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ('"3"', True),
        ('W/"3"', True),  # weak comparison for If-None-Match
        ("3", True),
        ('"2", "3"', True),
        ('"2"', False),
        ("*", True),
        ("garbage", False),  # ignored: the full answer
    ],
)
def test_if_none_match_compares_weakly(header: str | None, matches: bool) -> None:
    assert none_match(header, etag(3)) is matches


def test_content_tags_follow_the_content() -> None:
    assert content_tag({"a": 1, "b": 2}) == content_tag({"b": 2, "a": 1})
    assert content_tag({"a": 1}) != content_tag({"a": 2})
    assert none_match(content_tag({"a": 1}), content_tag({"a": 1}))
