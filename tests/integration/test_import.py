"""Imports: formats, merging, shared companies, duplicates, and all-or-nothing files."""

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grading.services.ingest import ImportFailed, import_file
from grading.store.db import connect
from tests.factories import make_config, spec_model


def jsonl(*records):
    return "".join(orjson.dumps(r).decode() + "\n" for r in records)


ANA = {
    "id": "L-1",
    "person": {"email": "ana@acme.io", "title": "CEO", "phone": "+49 1"},
    "company": {"domain": "acme.io", "name": "Acme", "industry": "software", "employees": 250},
}
AT = "2026-10-02T09:14:00Z"
BO = {"id": "L-2", "person": {"title": "Analyst"}, "company": {"domain": "ACME.IO "}}


def count(db, table):
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def lead(db, ext_id):
    from grading.store.leads import find_lead

    return find_lead(db, ext_id)


def test_leads_share_their_company_by_domain_case_insensitively(db, config, write):
    import_file(db, config, "leads", write("l.jsonl", jsonl(ANA, BO)))
    assert count(db, "companies") == 1
    assert lead(db, "L-2")["company"]["industry"] == "software"


def test_companies_without_domain_are_shared_by_name(db, config, write):
    a = {"id": "L-1", "company": {"name": "Globex  Corp", "employees": 10}}
    b = {"id": "L-2", "company": {"name": "globex corp"}}
    import_file(db, config, "leads", write("l.jsonl", jsonl(a, b)))
    assert count(db, "companies") == 1


def test_sending_a_lead_again_merges_and_null_removes(db, config, write):
    import_file(db, config, "leads", write("a.jsonl", jsonl(ANA)))
    update = {"id": "L-1", "person": {"phone": None, "owner": "kim"}}
    import_file(db, config, "leads", write("b.jsonl", jsonl(update)))
    person = lead(db, "L-1")["person"]
    assert "phone" not in person
    assert person["owner"] == "kim" and person["title"] == "CEO"
    assert lead(db, "L-1")["owner"] == "kim"


def test_lifecycle_defaults_to_lead(db, config, write):
    import_file(db, config, "leads", write("a.jsonl", jsonl(BO)))
    assert lead(db, "L-2")["lifecycle"] == "lead"


def test_a_company_update_regrades_every_lead_of_the_company(db, config, write):
    import_file(db, config, "leads", write("a.jsonl", jsonl(ANA, BO)))
    before = dict(
        db.execute("SELECT lead_id, fit_score FROM grades WHERE category = ''").fetchall()
    )
    shrink = {"id": "L-1", "company": {"domain": "acme.io", "employees": 20}}
    result = import_file(db, config, "leads", write("b.jsonl", jsonl(shrink)))
    assert len(result.leads_touched) == 2
    after = dict(db.execute("SELECT lead_id, fit_score FROM grades WHERE category = ''").fetchall())
    assert all(after[k] == before[k] - 30 for k in before)


def test_events_with_an_id_are_stored_once(db, config, write):
    import_file(db, config, "leads", write("l.jsonl", jsonl(ANA)))
    event = {"id": "E-1", "lead": "L-1", "type": "download", "at": "2026-10-02T09:14:00Z"}
    first = import_file(db, config, "events", write("e.jsonl", jsonl(event, event)))
    again = import_file(db, config, "events", write("e2.jsonl", jsonl(event)))
    assert (first.stored, first.duplicates) == (1, 1)
    assert (again.stored, again.duplicates) == (0, 1)
    assert count(db, "events") == 1


def test_events_without_an_id_are_all_kept(db, config, write):
    import_file(db, config, "leads", write("l.jsonl", jsonl(ANA)))
    event = {"lead": "L-1", "type": "download", "at": "2026-10-02T09:14:00Z"}
    import_file(db, config, "events", write("e.jsonl", jsonl(event, event)))
    assert count(db, "events") == 2


def test_csv_with_dotted_headers_and_empty_cells(db, config, write):
    path = write(
        "l.csv",
        "id,person.title,person.phone,company.domain,company.employees\n"
        "L-1,CEO,,acme.io,250\nL-2,Analyst,+1 555,acme.io,\n",
    )
    import_file(db, config, "leads", path)
    assert "phone" not in lead(db, "L-1")["person"]
    assert lead(db, "L-1")["company"]["employees"] == "250"
    grade = db.execute(
        "SELECT fit_score FROM grades g JOIN leads l ON l.id = g.lead_id"
        " WHERE l.ext_id = 'L-1' AND category = ''"
    ).fetchone()[0]
    assert grade == 30 + 30  # numeric-looking "250" counts for gte: 200


def test_a_csv_column_given_twice_is_refused_naming_it(db, config, write):
    path = write("twice.csv", "id,person.title,person.title\nL-1,CEO,Intern\n")
    with pytest.raises(ImportFailed) as failed:  # the last cell won silently: an Intern
        import_file(db, config, "leads", path)
    assert failed.value.result.problems == [f"{path}:1: person.title: this column is given twice"]
    assert count(db, "leads") == 0


def test_json_list_files(db, config, write):
    import_file(db, config, "leads", write("l.json", orjson.dumps([ANA, BO]).decode()))
    assert count(db, "leads") == 2


def test_a_bad_row_stores_nothing_of_the_file_and_every_problem_is_listed(db, config, write):
    rows = jsonl(
        ANA, {"id": "", "person": {"title": ["x", 1]}}, BO, {"person": {"lifecycle": "prospect"}}
    )
    path = write("bad.jsonl", rows + "{not json\n")
    with pytest.raises(ImportFailed) as failed:
        import_file(db, config, "leads", path)
    problems = failed.value.result.problems
    assert f"{path}:2: id: must be a non-empty string" in problems
    assert (
        f"{path}:2: person.title: must be a string, number, boolean or list of strings" in problems
    )
    assert f"{path}:4: id: is required" in problems
    assert any(p.startswith(f"{path}:4: person.lifecycle: must be one of") for p in problems)
    assert any(p.startswith(f"{path}:5: invalid JSON") for p in problems)
    assert count(db, "leads") == 0 and count(db, "companies") == 0


def test_bad_events_are_reported_by_line_and_none_is_stored(db, config, write):
    import_file(db, config, "leads", write("l.jsonl", jsonl(ANA)))
    path = write(
        "e.csv",
        "id,lead,type,at,properties.url\n"
        "E-1,L-1,page_view,2026-10-02T09:14:00Z,/pricing\n"
        "E-2,L-404,page_view,2026-10-02T09:14:00Z,/pricing\n"
        "E-3,L-1,page_view,2026-10-02 09:14,/pricing\n"
        "E-4,L-1,page_view,2099-01-01T00:00:00Z,/pricing\n",
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(db, config, "events", path)
    assert failed.value.result.problems == [
        f"{path}:3: lead: unknown lead 'L-404'",
        f"{path}:4: at: needs a UTC offset, e.g. 2026-10-02T09:14:00Z",
        f"{path}:5: at: is more than 1 day in the future",
    ]
    assert count(db, "events") == 0


def test_outcomes_are_stored(db, config, write):
    import_file(db, config, "leads", write("l.jsonl", jsonl(ANA)))
    path = write("o.csv", "lead,outcome,at,amount\nL-1,won,2026-11-01T00:00:00Z,12000\n")
    result = import_file(db, config, "outcomes", path)
    assert result.stored == 1
    assert db.execute("SELECT outcome, amount FROM outcomes").fetchone() == ("won", 12000.0)


def test_bad_outcomes_are_refused(db, config, write):
    import_file(db, config, "leads", write("l.jsonl", jsonl(ANA)))
    path = write(
        "o.jsonl", jsonl({"lead": "L-1", "outcome": "maybe", "at": "2026-11-01T00:00:00Z"})
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(db, config, "outcomes", path)
    assert failed.value.result.problems == [f"{path}:1: outcome: must be won or lost"]


def test_unknown_file_types_are_refused(db, config, write):
    with pytest.raises(ValueError, match="unknown file type"):
        import_file(db, config, "leads", write("l.xml", "<x/>"))


@pytest.mark.parametrize("second_process", [False, True])
def test_bad_lines_in_any_block_are_reported_by_their_line_and_duplicates_across_blocks_count(
    db, config, write, monkeypatch, second_process
):
    from grading.services import ingest

    monkeypatch.setattr(ingest, "BLOCK_BYTES", 300)  # a few lines a block
    if second_process:  # (a large file is read and checked by a second process)
        monkeypatch.setattr(ingest, "PARALLEL_BYTES", 0)
    import_file(db, config, "leads", write("l.jsonl", jsonl(ANA)))
    good = [
        {"id": f"E-{i}", "lead": "L-1", "type": "download", "at": AT, "properties": {"n": i}}
        for i in range(12)
    ]
    lines = jsonl(*good, good[0], good[11]).splitlines(keepends=True)
    result = import_file(db, config, "events", write("e.jsonl", "".join(lines)))
    assert (result.rows, result.stored, result.duplicates) == (14, 12, 2)
    assert count(db, "events") == 12

    again = {"id": "E-99", "lead": "L-1", "type": "download", "at": AT}
    bad = lines[:3] + ["\n", '{"lead": "L-404", "type": "x", "at": "' + AT + '"}\n'] + lines[3:9]
    bad += ['{"lead": "L-1", "type": "x", "at": "2026-10-02"}\n', "{oops\n", jsonl(again)]
    path = write("bad.jsonl", "".join(bad))
    with pytest.raises(ImportFailed) as failed:
        import_file(db, config, "events", path)
    problems = failed.value.result.problems
    assert problems[:2] == [
        f"{path}:5: lead: unknown lead 'L-404'",
        f"{path}:12: at: needs a UTC offset, e.g. 2026-10-02T09:14:00Z",
    ]
    assert len(problems) == 3 and problems[2].startswith(f"{path}:13: invalid JSON")
    assert count(db, "events") == 12


def test_events_whose_read_properties_differ_only_in_type_get_their_own_class(db, config, write):
    import_file(db, config, "leads", write("l.jsonl", jsonl(ANA)))
    values = ["1", 1, True, 1.0, "1", None]
    events = [
        {"id": f"E-{i}", "lead": "L-1", "type": "page_view", "at": AT, "properties": {"url": v}}
        for i, v in enumerate(values)
    ]
    for i, event in enumerate(events):  # (the classes already known are remembered)
        import_file(db, config, "events", write(f"e{i}.jsonl", jsonl(event)), grade=False)
    classes = db.execute(
        "SELECT c.key FROM events e JOIN event_classes c ON c.id = e.class_id ORDER BY e.id"
    ).fetchall()
    keys = [orjson.loads(key) for (key,) in classes]
    assert [key[2] for key in keys] == ["1", 1, True, 1.0, "1", None]  # [type, product, url]
    assert len({key for (key,) in classes}) == 5


company_changes = st.fixed_dictionaries(
    {},
    optional={
        "domain": st.sampled_from(["acme.io", "ACME.io ", "globex.com", None]),
        "name": st.sampled_from(["Acme", "Globex", "globex ", None]),
        "employees": st.sampled_from([10, 500, None]),
    },
)
lead_records = st.lists(
    st.fixed_dictionaries(
        {"id": st.sampled_from(["L-1", "L-2", "L-3"])},
        optional={
            "person": st.fixed_dictionaries(
                {}, optional={"title": st.sampled_from(["CEO", None]), "owner": st.just("kim")}
            ),
            "company": company_changes,
        },
    ),
    min_size=1,
    max_size=8,
)


def stored_rows(database):
    leads = database.execute("SELECT id, ext_id, company_id, attrs FROM leads ORDER BY id")
    companies = database.execute("SELECT id, domain, name_key, attrs FROM companies ORDER BY id")
    return leads.fetchall(), companies.fetchall()


@settings(max_examples=60, deadline=None, derandomize=True)
@given(lead_records)
def test_a_file_of_leads_stores_what_its_lines_store_one_file_each(tmp_path_factory, leads):
    # one file has one writer, which remembers the leads and companies it read and wrote
    config = make_config(spec_model())
    folder = tmp_path_factory.mktemp("leads")
    whole, one_by_one = connect(str(folder / "a.db")), connect(str(folder / "b.db"))
    path = folder / "all.jsonl"
    path.write_text(jsonl(*leads))
    import_file(whole, config, "leads", str(path), grade=False)
    for i, record in enumerate(leads):
        (folder / f"{i}.jsonl").write_text(jsonl(record))
        import_file(one_by_one, config, "leads", str(folder / f"{i}.jsonl"), grade=False)
    assert stored_rows(whole) == stored_rows(one_by_one)


def test_what_stops_the_reading_process_stops_the_import_and_stores_nothing(
    db, config, write, monkeypatch
):
    from grading.services import ingest

    monkeypatch.setattr(ingest, "PARALLEL_BYTES", 0)
    import_file(db, config, "leads", write("l.jsonl", jsonl(ANA)))
    event = {"id": "E-1", "lead": "L-1", "type": "download", "at": AT}
    path = write("e.jsonl", jsonl(event))

    def broken(*args):
        raise OSError("the disk went away")

    monkeypatch.setattr(ingest, "_block_events", broken)
    with pytest.raises(OSError, match="the disk went away"):
        import_file(db, config, "events", path)
    assert count(db, "events") == 0


def test_a_file_of_more_leads_than_the_writer_remembers_stores_the_same(
    tmp_path, config, write, monkeypatch
):
    """The lead writer remembers the leads and companies it read and wrote, a bounded number:
    past the bound it forgets them (a million leads took 1.6 GiB), and reads them again."""
    from grading.store import leads as lead_store

    people = [
        {
            "id": f"L-{i % 230}",  # leads come again, with other values
            "person": {"title": f"Title {i} " + "x" * 80},
            # the first line of each company names its industry; the later ones keep it
            "company": {"domain": f"c{i % 70}.io", "employees": i}
            | ({"industry": f"i{i}"} if i < 70 else {}),
        }
        for i in range(2000)  # a few blocks of the reader: the writer forgets between them
    ]
    path = write("leads.jsonl", "\n".join(orjson.dumps(p).decode() for p in people))

    def stored(limit):
        monkeypatch.setattr(lead_store, "CACHE_LIMIT", limit)
        db = connect(str(tmp_path / f"{limit}.db"))
        import_file(db, config, "leads", path, grade=False)
        rows = db.execute(
            "SELECT l.ext_id, l.attrs, c.domain, c.attrs FROM leads l JOIN companies c"
            " ON c.id = l.company_id ORDER BY l.ext_id"
        ).fetchall()
        db.conn.close()
        return rows

    assert stored(2) == stored(10**6)
