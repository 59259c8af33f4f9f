"""What a preview of a changed model file finds (grading.core.preview): which settings and rules
changed between two models, how chunks of grades add up to moves and rule hits, and how the move
matrix reads (its moves, totals, the cells shown, the leads graded before and after).

The grades are built by hand (`graded(...)`): services/preview.py, which grades real leads under
both files, is tested in tests/integration/test_preview.py."""

from collections import Counter

import pytest

from grading.core.batch import CompactGrade
from grading.core.preview import (
    CELLS,
    NONE,
    ModelPreview,
    Tally,
    model_status,
    preview_result,
    rule_changes,
    setting_changes,
    tally_chunk,
)
from tests.factories import AS_OF, make_config, make_model, spec_model, spec_rule


def changed_file(change) -> dict:
    """The example model file after `change(data)` edited it in place."""
    data = spec_model()
    change(data)
    return data


def changed_model(change):
    """The `prospects` model of ``changed_file(change)``."""
    return make_config(changed_file(change)).models[0]


def graded(cell: str, *explanation) -> CompactGrade:
    return CompactGrade(None, 0.0, cell[0], 0.0, int(cell[1]), cell, None, tuple(explanation))


def matrix(**moves: int) -> dict[str, dict[str, int]]:
    """A move matrix: ``A4_B4=3`` is 3 leads from A4 to B4, ``none_none`` the ungraded ones."""
    out = {src: dict.fromkeys(CELLS, 0) for src in CELLS}
    for key, n in moves.items():
        src, dst = key.split("_")
        out[src][dst] = n
    return out


def hits(**counts: int) -> Counter:
    """Rule hits: ``fit__ceo=2`` is 2 leads whose main grade met the fit rule `ceo`."""
    return Counter({tuple(key.split("__")): n for key, n in counts.items()})


# model_status ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "before, after, status",
    [
        (None, make_model(), "added"),
        (make_model(), None, "removed"),
        (make_model(), make_model(), "unchanged"),
        (make_model(), make_model(label="Prospects"), "changed"),
        (make_model(), make_model(audience=None), "changed"),
    ],
)
def test_a_model_is_added_removed_changed_or_unchanged(before, after, status):
    assert model_status(before, after) == status


# setting_changes --------------------------------------------------------------------------


def _fit_b(data):
    data["models"][0]["fit"]["thresholds"]["B"] = 50


def _activity_3_and_2(data):
    data["models"][0]["activity"]["thresholds"].update({3: 30, 2: 5})


def _window(data):
    data["models"][0]["activity"]["window_days"] = 120


def _no_half_life(data):
    del data["models"][0]["activity"]["half_life_days"]


def _audience(data):
    data["models"][0]["audience"]["not_in"] = ["customer"]


def _categories(data):
    data["models"][0]["categories"] = [
        {"name": "hr", "where": {"field": "product", "equals": "hr"}}
    ]


def _a_rules_points(data):
    spec_rule(data, "ceo")["points"] = 35


@pytest.mark.parametrize(
    "change, settings",
    [
        (_fit_b, ["fit thresholds: B 45 → 50"]),
        (_activity_3_and_2, ["activity thresholds: 3 35 → 30, 2 10 → 5"]),
        (_window, ["activity window_days: 90 → 120"]),
        (_no_half_life, ["activity half_life_days: 30 → none"]),
        (_audience, ["audience changed"]),
        (_categories, ["categories added: hr", "categories removed: analytics"]),
        (_a_rules_points, []),  # a rule is no setting: rule_changes lists it
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_a_changed_setting_is_listed_in_the_readers_words(change, settings):
    assert setting_changes(make_model(), changed_model(change)) == settings


def test_settings_are_listed_in_a_fixed_order():
    def everything(data):
        for change in (_categories, _audience, _window, _fit_b):
            change(data)

    assert setting_changes(make_model(), changed_model(everything)) == [
        "fit thresholds: B 45 → 50",
        "activity window_days: 90 → 120",
        "audience changed",
        "categories added: hr",
        "categories removed: analytics",
    ]


def test_a_half_life_is_written_as_the_file_writes_it():
    assert setting_changes(make_model(), changed_model(_no_half_life)) == [
        "activity half_life_days: 30 → none"
    ]


@pytest.mark.parametrize("before, after", [(None, make_model()), (make_model(), None)])
def test_an_added_or_removed_model_lists_no_settings(before, after):
    assert setting_changes(before, after) == []


def test_an_unchanged_model_lists_no_settings():
    assert setting_changes(make_model(), make_model()) == []


# rule_changes ------------------------------------------------------------------------------


def test_a_rule_whose_points_changed_is_listed_as_changed():
    (change,) = rule_changes(make_model(), changed_model(_a_rules_points), [hits(), hits()])
    assert (change.dimension, change.id, change.status) == ("fit", "ceo", "changed")


def test_a_rule_whose_label_changed_is_listed_as_changed():
    after = changed_model(lambda data: spec_rule(data, "downloads").update(label="Downloads"))
    (change,) = rule_changes(make_model(), after, [hits(), hits()])
    assert (change.id, change.label, change.status) == ("downloads", "Downloads", "changed")


def test_a_rule_whose_condition_changed_is_listed_as_changed():
    after = changed_model(lambda data: spec_rule(data, "large-company")["when"].update(gte=500))
    (change,) = rule_changes(make_model(), after, [hits(), hits()])
    assert (change.id, change.label, change.status) == (
        "large-company",
        "200+ employees",
        "changed",
    )


def test_an_unchanged_rule_is_left_out_unless_its_hits_changed():
    before = hits(fit__ceo=3, activity__downloads=2)
    after = hits(fit__ceo=3, activity__downloads=5)
    (change,) = rule_changes(make_model(), make_model(), [before, after])
    assert (change.dimension, change.id, change.status) == ("activity", "downloads", "same")
    assert (change.hits_before, change.hits_after, change.difference) == (2, 5, 3)


def test_added_rules_come_after_the_old_files_rules_and_removed_ones_stay_in_place():
    def swap(data):
        rules = data["models"][0]["fit"]["rules"]
        rules[:] = [r for r in rules if r["id"] != "target-industry"]
        rules.append({"id": "vp", "when": {"field": "person.title", "contains": "vp"}, "points": 5})

    changes = rule_changes(make_model(), changed_model(swap), [hits(), hits(fit__vp=4)])
    assert [(c.id, c.status, c.hits_after) for c in changes] == [
        ("target-industry", "removed", 0),
        ("vp", "added", 4),
    ]


def test_every_rule_of_an_added_model_is_added_with_its_hits():
    changes = rule_changes(None, make_model(), [hits(), hits(fit__ceo=2)])
    assert {c.status for c in changes} == {"added"}
    assert len(changes) == 9  # 5 fit rules and 4 activity rules
    assert [c.hits_after for c in changes if c.id == "ceo"] == [2]


def test_a_fit_and_an_activity_rule_may_share_an_id():
    def same_id(data):
        spec_rule(data, "ceo")["points"] = 35
        spec_rule(data, "downloads")["id"] = "ceo"

    changes = rule_changes(make_model(), changed_model(same_id), [hits(), hits()])
    assert [(c.dimension, c.id, c.status) for c in changes] == [
        ("fit", "ceo", "changed"),
        ("activity", "downloads", "removed"),
        ("activity", "ceo", "added"),
    ]


def test_a_rule_change_as_dict_carries_its_difference():
    (change,) = rule_changes(make_model(), make_model(), [hits(fit__ceo=4), hits(fit__ceo=1)])
    assert change.as_dict() == {
        "dimension": "fit",
        "id": "ceo",
        "label": None,
        "status": "same",
        "hits_before": 4,
        "hits_after": 1,
        "difference": -3,
    }


# tally_chunk and Tally.add -----------------------------------------------------------------


def test_a_chunk_counts_each_lead_once_from_its_old_cell_to_its_new_one():
    moves, rule_hits = Counter(), [Counter(), Counter()]
    before = {"m": [graded("A4"), graded("B3"), None, None]}
    after = {"m": [graded("A4"), graded("A3"), graded("C1"), None]}
    tally_chunk("m", [before, after], 4, moves, rule_hits, [{}, {}])
    assert moves == {("A4", "A4"): 1, ("B3", "A3"): 1, (NONE, "C1"): 1}  # none -> none: not here


@pytest.mark.parametrize("side", [0, 1])
def test_a_model_missing_from_one_file_counts_as_none_there(side):
    moves = Counter()
    files = [{"m": [graded("B2")]}, {}]
    if side:
        files.reverse()
    tally_chunk("m", files, 1, moves, [Counter(), Counter()], [{}, {}])
    assert moves == ({("B2", NONE): 1} if side == 0 else {(NONE, "B2"): 1})


@pytest.mark.parametrize(
    "item, needed, counted",
    [
        (("f", "ceo", 30), {}, [("fit", "ceo")]),  # a fit rule that held
        (("a", "downloads", 10, 1), {}, [("activity", "downloads")]),  # an event matched
        (("a", "many-visits", 20, 6), {"many-visits": 6}, [("activity", "many-visits")]),
        (("a", "many-visits", 20, 5), {"many-visits": 6}, []),  # not enough for its count
        (("p", "many-visits", 5, 6), {"many-visits": 6}, []),  # progress towards it: no hit
    ],
)
def test_a_rule_hit_is_a_fit_rule_that_held_or_an_activity_rule_with_enough_events(
    item, needed, counted
):
    rule_hits = [Counter(), Counter()]
    side = {"m": [graded("A4", item)]}
    tally_chunk("m", [side, side], 1, Counter(), rule_hits, [{"m": needed}, {"m": needed}])
    assert list(rule_hits[0].elements()) == counted
    assert rule_hits[0] == rule_hits[1]


def test_each_file_counts_hits_with_its_own_min_counts():
    rule_hits = [Counter(), Counter()]
    side = {"m": [graded("A4", ("a", "many-visits", 20, 6))]}
    min_counts = [{"m": {"many-visits": 6}}, {"m": {"many-visits": 8}}]
    tally_chunk("m", [side, side], 1, Counter(), rule_hits, min_counts)
    assert rule_hits == [Counter({("activity", "many-visits"): 1}), Counter()]


def test_tallies_add_up_leads_moves_and_hits_per_model():
    total = Tally()
    total.add(Tally(2, {"m": Counter({("A4", "B4"): 2})}, {"m": [hits(fit__ceo=2), hits()]}))
    total.add(
        Tally(
            3,
            {"m": Counter({("A4", "B4"): 1}), "n": Counter({(NONE, "D1"): 1})},
            {"m": [hits(fit__ceo=1), hits(fit__ceo=3)]},
        )
    )
    assert total.leads == 5
    assert total.moves == {"m": {("A4", "B4"): 3}, "n": {(NONE, "D1"): 1}}
    assert total.hits == {"m": [hits(fit__ceo=3), hits(fit__ceo=3)]}


def test_adding_a_tally_leaves_the_added_one_as_it_was():
    part = Tally(1, {"m": Counter({("A4", "B4"): 1})}, {"m": [hits(fit__ceo=1), hits()]})
    total = Tally()
    total.add(part)
    total.add(part)
    assert part.moves == {"m": {("A4", "B4"): 1}} and part.hits["m"][0] == hits(fit__ceo=1)


# preview_result ---------------------------------------------------------------------------


def test_the_matrix_puts_the_leads_no_file_grades_in_none_to_none():
    tally = Tally(10, {"prospects": Counter({("A4", "A4"): 5, ("B4", "A4"): 2})})
    config = make_config()
    result = preview_result(config, config, AS_OF, tally, 0.5)
    (prospects,) = result.models
    assert prospects.status == "unchanged"
    assert prospects.matrix == matrix(A4_A4=5, B4_A4=2, none_none=3)
    assert (result.leads, result.as_of) == (10, AS_OF)


def test_models_of_both_files_are_previewed_old_ones_first():
    def renamed(data):
        data["models"][0]["name"] = "partners"

    current, new = make_config(), make_config(changed_file(renamed))
    tally = Tally(4, {"partners": Counter({(NONE, "C2"): 4})})
    models = preview_result(current, new, AS_OF, tally, 0.0).models
    assert [(m.name, m.status) for m in models] == [("prospects", "removed"), ("partners", "added")]
    assert models[0].matrix == matrix(none_none=4)
    assert models[1].matrix == matrix(none_C2=4)


def test_a_preview_as_dict_is_plain_json():
    config = make_config()
    result = preview_result(config, config, AS_OF, Tally(1), 0.12345)
    out = result.as_dict()
    assert (out["as_of"], out["leads"], out["seconds"]) == ("2026-11-01T15:30:00Z", 1, 0.123)
    assert out["models"][0]["cells"] == list(CELLS)
    assert out["models"][0]["moves"] == [] and out["models"][0]["moved"] == 0


# ModelPreview: how the matrix reads -------------------------------------------------------


def test_moves_are_the_off_diagonal_cells_most_leads_first_then_in_cell_order():
    preview = ModelPreview(
        "m", "changed", matrix(A4_A4=9, B4_A4=2, A4_B4=2, C1_none=5, none_D1=1, none_none=7)
    )
    assert preview.moves() == [
        {"from": "C1", "to": "none", "leads": 5},
        {"from": "A4", "to": "B4", "leads": 2},
        {"from": "B4", "to": "A4", "leads": 2},
        {"from": "none", "to": "D1", "leads": 1},
    ]
    assert preview.moved == 10


def test_graded_before_and_after_leave_out_the_leads_one_file_does_not_grade():
    preview = ModelPreview("m", "changed", matrix(A4_A4=9, C1_none=5, none_D1=1, none_none=7))
    assert (preview.graded_before, preview.graded_after) == (14, 10)


def test_totals_are_row_and_column_sums_without_none_to_none():
    preview = ModelPreview(
        "m", "changed", matrix(A4_A4=9, A4_B3=1, C1_none=5, none_D1=2, none_none=7)
    )
    rows, columns = preview.totals()
    assert {c: n for c, n in rows.items() if n} == {"A4": 10, "C1": 5, NONE: 2}
    assert {c: n for c, n in columns.items() if n} == {"A4": 9, "B3": 1, "D1": 2, NONE: 5}
    assert set(rows) == set(columns) == set(CELLS)


def test_shown_cells_are_those_with_graded_leads_in_cell_order():
    preview = ModelPreview("m", "changed", matrix(C1_none=5, A4_B3=1, none_D1=2, none_none=7))
    assert preview.shown() == (["A4", "C1", NONE], ["B3", "D1", NONE])


def test_a_matrix_of_ungraded_leads_only_shows_no_cell():
    preview = ModelPreview("m", "removed", matrix(none_none=7))
    assert preview.shown() == ([], [])
    assert (preview.graded_before, preview.graded_after, preview.moved) == (0, 0, 0)
