"""Case revisions are stored compactly (#14): JSON columns as UTF-8 without escapes, and each revision only its
differences from the next one (the newest: from the case's current content), read back exactly as before."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa

from app.case_studies import services
from app.case_studies.models import CaseRevision
from app.case_studies.models import CaseStudy
from app.extensions import db

SAMPLE = Path("/work/shared/data/case_studies_demo.jsonl")
KAZAKH, RUSSIAN = "shortandy-rural-youth-resource-centre-kk", "almaty-dedicated-bus-lanes"
TEXT_FIELDS = ("title", "summary", "problem", "solution", "challenges", "results", "lessons", "author_name",
               "author_position")
EDITS = [
    {"results": "Орталыққа екі жылда үш жүзден астам жас қатысты; олардың қырқы жұмысқа орналасты."},
    {"lessons": "Жастардың өздері құрған кеңес жоспарды жылына екі рет қайта қарайды."},
    {"title": "Шортанды ауданындағы жастар ресурстық орталығы (жаңартылған)"},
]


def sample_line(case_id: str) -> dict:
    return next(line for line in map(json.loads, SAMPLE.read_text(encoding="utf-8").splitlines())
                if line["id"] == case_id)


def text_bytes(case: CaseStudy) -> int:
    """The case study's text in UTF-8 bytes (title, summary, the five sections, author)."""
    return sum(len((getattr(case, name) or "").encode()) for name in TEXT_FIELDS)


def revision_bytes(case_id: int) -> int:
    """What the revisions table holds for one case study's content: its JSON text and notes, in bytes."""
    if db.engine.dialect.name == "postgresql":
        sql = "SELECT SUM(octet_length(changes::text) + COALESCE(octet_length(note), 0)) FROM case_revision"
    else:
        sql = "SELECT SUM(length(CAST(changes AS BLOB)) + COALESCE(length(CAST(note AS BLOB)), 0)) FROM case_revision"
    return db.session.scalar(sa.text(f"{sql} WHERE case_study_id = :id"), {"id": case_id})


def raw_changes(case_id: int) -> list[str]:
    cast = "changes::text" if db.engine.dialect.name == "postgresql" else "changes"
    return db.session.scalars(sa.text(f"SELECT {cast} FROM case_revision WHERE case_study_id = :id ORDER BY number"),
                              {"id": case_id}).all()


def import_cases(runner, tmp_path: Path, *lines: dict) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    result = runner.invoke(args=["cases", "import", str(path)])
    assert result.exit_code == 0, result.output


def edit(case: CaseStudy, **changes) -> dict:
    """Save an edit through the service, as the edit form does; return the content it saved."""
    services.update_case(None, case, replace(services.data_from_case(case), **changes), case.version)
    db.session.commit()
    return services.snapshot(case)


def test_an_imported_case_stores_no_second_copy_and_stays_small_after_edits(app, runner, client, tmp_path):
    import_cases(runner, tmp_path, sample_line(KAZAKH), sample_line(RUSSIAN))
    with app.app_context():
        for slug in (KAZAKH, RUSSIAN):
            case = db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug))
            assert len(case.revisions) == 1
            assert case.revisions[0].changes == {}  # the only revision is the current content
            assert revision_bytes(case.id) <= 1.2 * text_bytes(case)
            assert services.revision_snapshots(case) == {1: services.snapshot(case)}

        case = db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == KAZAKH))
        expected = {1: services.snapshot(case)}
        for number, changes in enumerate(EDITS, start=2):
            expected[number] = edit(case, **changes)
        db.session.expire_all()
        case = db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == KAZAKH))
        assert [r.number for r in case.revisions] == [1, 2, 3, 4]
        assert services.revision_snapshots(case) == expected  # every revision reads as the content it saved
        stored, text = revision_bytes(case.id), text_bytes(case)
        assert stored <= 1.2 * text, (stored, text)
        raw = raw_changes(case.id)
        # UTF-8 without escapes: revision 3 holds the title revision 4 replaced, letter for letter
        assert raw[-1] == "{}" and expected[3]["title"] in raw[2] and "\\u" not in "".join(raw)
        old_results = expected[1]["results"]
        db.session.remove()

    page = client.get(f"/cases/{KAZAKH}/diff?a=1&b=4").get_data(as_text=True)
    assert "<del>- " + old_results.splitlines()[0][:40] in page
    assert "<ins>+ " + EDITS[0]["results"] in page and EDITS[2]["title"] in page
    unchanged = client.get(f"/cases/{KAZAKH}/diff?a=3&b=3").get_data(as_text=True)
    assert "These two revisions are identical." in unchanged
    step = client.get(f"/cases/{KAZAKH}/diff?a=2&b=3").get_data(as_text=True)
    assert EDITS[1]["lessons"] in step and EDITS[0]["results"] not in step


def test_a_withdrawn_case_edited_without_a_revision_keeps_its_history(app, runner, client, tmp_path):
    """Content that changes without a new revision (a withdrawn case study) leaves every revision as it was."""
    line = sample_line(RUSSIAN)
    import_cases(runner, tmp_path, line)
    with app.app_context():
        case = db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == RUSSIAN))
        expected = {1: services.snapshot(case), 2: edit(case, summary="Выделенные полосы ускорили автобусы.")}
        services.withdraw(None, case, "Уточняются данные")
        db.session.commit()
        db.session.remove()

    import_cases(runner, tmp_path, {**line, "results": "Скорость автобусов выросла на треть."})
    with app.app_context():
        case = db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == RUSSIAN))
        assert case.state == "withdrawn" and case.results == "Скорость автобусов выросла на треть."
        assert len(case.revisions) == 2
        assert services.revision_snapshots(case) == expected
        assert case.revisions[-1].changes["results"] == expected[2]["results"]
        db.session.remove()

    assert runner.invoke(args=["cases", "publish", RUSSIAN]).exit_code == 0
    with app.app_context():
        case = db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == RUSSIAN))
        expected[3] = services.snapshot(case)
        assert services.revision_snapshots(case) == expected
        assert [r.note for r in case.revisions] == ["published", None, "restored"]
        assert db.session.scalar(sa.select(CaseRevision.changes).where(CaseRevision.case_study_id == case.id,
                                                                  CaseRevision.number == 3)) == {}
        db.session.remove()
    page = client.get(f"/cases/{RUSSIAN}/diff?a=2&b=3").get_data(as_text=True)
    assert "<ins>+ Скорость автобусов выросла на треть.</ins>" in page
