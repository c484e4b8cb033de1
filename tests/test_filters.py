"""The filter language parser and sort specs (pure): the tree each filter becomes, and the errors bad ones get."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weir.domain.filters import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_LIST,
    AllOf,
    AnyOf,
    Condition,
    Field,
    FilterError,
    Kind,
    Not,
    Op,
    SortKey,
    parse_filter,
    parse_sort,
)

FIELDS = {
    "type": Field(Kind.STRING),
    "team": Field(Kind.STRING, nullable=True),
    "created_at": Field(Kind.DATETIME),
    "starts_at": Field(Kind.DATETIME, nullable=True),
    "backstage": Field(Kind.BOOL),
    "members": Field(Kind.LIST),
}


def parse(raw: object) -> object:
    return parse_filter(raw, FIELDS)


def error_path(raw: object) -> str:
    with pytest.raises(FilterError) as caught:
        parse(raw)
    return caught.value.path


def test_bare_value_means_eq_and_several_keys_mean_and() -> None:
    assert parse({"type": "livestream"}) == Condition("type", (), Op.EQ, "livestream")
    assert parse({"type": "a", "backstage": True}) == AllOf((
        Condition("type", (), Op.EQ, "a"), Condition("backstage", (), Op.EQ, True),
    ))
    assert parse({}) == AllOf(())


def test_operators_combinators_and_custom_paths() -> None:
    tree = parse({
        "$or": [{"custom.color": {"$in": ["red", 3, None]}}, {"$not": {"members": {"$contains": "ann"}}}],
        "custom.a.b-c": {"$gte": 2.5, "$lt": 10},
        "team": None,
    })
    assert tree == AllOf((
        AnyOf((Condition("custom", ("color",), Op.IN, ("red", 3, None)),
               Not(Condition("members", (), Op.CONTAINS, "ann")))),
        Condition("custom", ("a", "b-c"), Op.GTE, 2.5),
        Condition("custom", ("a", "b-c"), Op.LT, 10),
        Condition("team", (), Op.EQ, None),
    ))


def test_timestamps_become_utc_and_operator_spellings_are_accepted() -> None:
    tree = parse({"created_at": {"gt": "2021-01-15T11:30:20.45+02:00"}, "type": {"$neq": "x"}})
    assert tree == AllOf((
        Condition("created_at", (), Op.GT, datetime(2021, 1, 15, 9, 30, 20, 450000, tzinfo=UTC)),
        Condition("type", (), Op.NE, "x"),
    ))
    assert parse({"starts_at": "2030-01-01T00:00:00"}) == Condition(
        "starts_at", (), Op.EQ, datetime(2030, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(("raw", "path"), [
    ({"created_at": {"$foo": 1}}, "filter_conditions.created_at.$foo"),
    ({"nope": 1}, "filter_conditions.nope"),
    ({"custom": {"a": 1}}, "filter_conditions.custom"),
    ({"custom.a b": 1}, "filter_conditions.custom.a b"),
    ({"custom.": 1}, "filter_conditions.custom."),
    ({"$nor": []}, "filter_conditions.$nor"),
    ({"$and": []}, "filter_conditions.$and"),
    ({"$and": {"type": "a"}}, "filter_conditions.$and"),
    ({"$or": [{"type": "a"}, 5]}, "filter_conditions.$or.1"),
    ({"$not": [{"type": "a"}]}, "filter_conditions.$not"),
    ({"type": {}}, "filter_conditions.type"),
    ({"type": 5}, "filter_conditions.type"),
    ({"type": ["a"]}, "filter_conditions.type"),
    ({"type": {"$in": "a"}}, "filter_conditions.type.$in"),
    ({"type": {"$in": ["a", 2]}}, "filter_conditions.type.$in.1"),
    ({"type": None}, "filter_conditions.type"),
    ({"type": {"$contains": "a"}}, "filter_conditions.type.$contains"),
    ({"type": {"$autocomplete": " "}}, "filter_conditions.type.$autocomplete"),
    ({"created_at": "yesterday"}, "filter_conditions.created_at"),
    ({"created_at": {"$gt": 5}}, "filter_conditions.created_at.$gt"),
    ({"created_at": {"$autocomplete": "2021"}}, "filter_conditions.created_at.$autocomplete"),
    ({"starts_at": {"$lt": None}}, "filter_conditions.starts_at.$lt"),
    ({"backstage": "yes"}, "filter_conditions.backstage"),
    ({"backstage": {"$gt": True}}, "filter_conditions.backstage.$gt"),
    ({"members": {"$exists": True}}, "filter_conditions.members.$exists"),
    ({"members": None}, "filter_conditions.members"),
    ({"team": {"$exists": 1}}, "filter_conditions.team.$exists"),
    ({"custom.x": {"a": 1}}, "filter_conditions.custom.x.a"),
    ({"custom.x": [1]}, "filter_conditions.custom.x"),
    ({"custom.x": {"$gt": True}}, "filter_conditions.custom.x.$gt"),
    ({"custom.x": {"$eq": 2**64}}, "filter_conditions.custom.x.$eq"),
    ({"custom.x": {"$eq": float("inf")}}, "filter_conditions.custom.x.$eq"),
    ({"custom.x": "y" * 1025}, "filter_conditions.custom.x"),
    ({"custom.x": "nul\x00"}, "filter_conditions.custom.x"),
    ({"type": {"$in": ["\ud800"]}}, "filter_conditions.type.$in.0"),
    ({"custom.a.b.c.d.e.f": 1}, "filter_conditions.custom.a.b.c.d.e.f"),
    ({"type": {"$in": ["a"] * (MAX_LIST + 1)}}, "filter_conditions.type.$in"),
    ("type", "filter_conditions"),
])
def test_bad_filters_name_the_offending_path(raw: object, path: str) -> None:
    assert error_path(raw) == path


def test_nesting_and_size_limits() -> None:
    nested: dict[str, object] = {"type": "a"}
    for _ in range(MAX_DEPTH - 1):
        nested = {"$not": nested}
    assert parse(nested) is not None
    assert error_path({"$and": [nested]}).count("$not") == MAX_DEPTH - 1
    assert error_path({"$or": [{"type": str(i)} for i in range(MAX_CONDITIONS + 1)]}).endswith(
        f"$or.{MAX_CONDITIONS}.type")


def test_sort_specs() -> None:
    default = SortKey("created_at", ascending=False)
    assert parse_sort([], ["created_at", "cid"], default) == (default,)
    assert parse_sort([("cid", 1), ("created_at", -1)], ["created_at", "cid"], default) == (
        SortKey("cid", True), SortKey("created_at", False))
    with pytest.raises(FilterError) as unknown:
        parse_sort([("cid", 1), ("custom.x", 1)], ["cid"], default)
    assert unknown.value.path == "sort.1.field"
    with pytest.raises(FilterError) as twice:
        parse_sort([("cid", 1), ("cid", -1)], ["cid"], default)
    assert twice.value.path == "sort.1.field"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from(["2021-01-15T09:30:20Z", "a", ""]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "team", "created_at", "starts_at", "backstage", "members", "custom.x",
                         "custom.a.b", "$and", "$or", "$not", "$eq", "$in", "$gt", "$exists", "$autocomplete",
                         "$q", "$contains", "$nin", "eq", "$foo", "zzz"]) | st.text(max_size=6),
        children, max_size=4),
    max_leaves=25,
)


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_any_json_gives_a_tree_or_a_filter_error(raw: object) -> None:
    try:
        tree = parse(raw)
    except FilterError as error:
        assert error.path.startswith("filter_conditions") and error.message
    else:
        assert isinstance(tree, Condition | AllOf | AnyOf | Not)
