"""``flask cases import|export|withdraw|publish`` (CONTRACTS.md §1 and §4) and the demo content, on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEntry
from app.auth.models import User
from app.case_studies import interchange
from app.case_studies.commands import seed_demo_content
from app.case_studies.models import Adoption
from app.case_studies.models import Answer
from app.case_studies.models import CaseRevision
from app.case_studies.models import CaseStudy
from app.case_studies.models import CaseTopic
from app.case_studies.models import Question
from app.case_studies.services import revision_snapshots
from app.cli import seed_demo_accounts
from app.extensions import db
from app.regions.models import Akimat
from app.regions.models import Municipality
from app.regions.models import Region
from tests.conftest import TEST_DATABASE_URL
from tests.conftest import create_schema
from tests.conftest import make_app
from tests.conftest import pg_schema_url
from tests.conftest import sqlalchemy_pg_url

SAMPLE = Path("/work/shared/data/case_studies_demo.jsonl")


def sample_lines() -> list[dict]:
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]


def exported_form(line: dict) -> dict:
    """A line as export writes it: every field in the contract's order, the optional ones the line leaves out
    (``evidence_level``, ``evidence_url``) as null."""
    from app.case_studies.interchange import FIELDS

    return {name: line.get(name) for name in FIELDS}


def canonical_sample() -> bytes:
    """The sample as export writes it: ordered by id, every field, topics sorted, default json.dumps spacing."""
    lines = sorted(map(exported_form, sample_lines()), key=lambda line: line["id"])
    return "".join(json.dumps({**line, "topics": sorted(line["topics"])}, ensure_ascii=False) + "\n"
                   for line in lines).encode("utf-8")


def write_lines(path: Path, lines: list) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
                            for line in lines), encoding="utf-8")
    return path


def db_state(db_session) -> dict:
    """Everything an import may touch, as plain values."""
    cases = db_session.execute(
        sa.select(CaseStudy.slug, CaseStudy.state, CaseStudy.version, CaseStudy.title, CaseStudy.results,
                  CaseStudy.updated_at, CaseStudy.akimat_id).order_by(CaseStudy.slug)
    ).all()
    return {
        "cases": cases,
        "revisions": db_session.execute(
            sa.select(CaseRevision.case_study_id, CaseRevision.number).order_by(CaseRevision.id)).all(),
        "topics": db_session.execute(
            sa.select(CaseTopic.case_study_id, CaseTopic.topic).order_by(CaseTopic.case_study_id, CaseTopic.topic)
        ).all(),
        "adoptions": db_session.execute(
            sa.select(Adoption.case_study_id, Adoption.akimat_id, Adoption.year, Adoption.note).order_by(Adoption.id)
        ).all(),
        "audit": db_session.scalar(sa.select(sa.func.count(AuditEntry.id))),
    }


def import_sample(runner) -> None:
    result = runner.invoke(args=["cases", "import", str(SAMPLE)])
    assert result.exit_code == 0, result.output


@pytest.fixture
def second_app(app, backend, tmp_path):
    """Another application on another empty database of the same backend."""
    folder = tmp_path / "second"
    folder.mkdir()
    schema = None
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'second.sqlite3'}"
    else:
        schema = f"t_{uuid.uuid4().hex[:16]}"
        admin = sa.create_engine(sqlalchemy_pg_url(TEST_DATABASE_URL))
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = pg_schema_url(schema)
    application = make_app(url, folder)
    create_schema(application)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    if schema:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# --- round trip and idempotency --------------------------------------------------------------------------


def test_round_trip_of_the_shared_sample_is_byte_identical(app, runner, second_app, tmp_path):
    result = runner.invoke(args=["cases", "import", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "Created: 40, updated: 0, unchanged: 0, skipped (invalid): 0." in result.output
    first = tmp_path / "first.jsonl"
    result = runner.invoke(args=["cases", "export", str(first)])
    assert result.exit_code == 0, result.output
    assert "Exported 40 published case studies" in result.output

    # The export is the sample in canonical form: every field of every line equal (topics are a set,
    # exported sorted), and byte for byte the canonical re-serialisation.
    exported = {line["id"]: line for line in map(json.loads, first.read_text(encoding="utf-8").splitlines())}
    for line in map(exported_form, sample_lines()):
        out = exported.pop(line["id"])
        assert list(out) == list(line), "every field present, in the contract's order"
        for key, value in line.items():
            want = sorted(value) if key == "topics" else value
            assert out[key] == want and type(out[key]) is type(want), (line["id"], key)
    assert exported == {}
    assert first.read_bytes() == canonical_sample()

    # ... and into another empty database, and out again: identical bytes.
    second_runner = second_app.test_cli_runner()
    result = second_runner.invoke(args=["cases", "import", str(first)])
    assert result.exit_code == 0, result.output
    assert "Created: 40," in result.output
    second = tmp_path / "second.jsonl"
    assert second_runner.invoke(args=["cases", "export", str(second)]).exit_code == 0
    assert second.read_bytes() == first.read_bytes()

    # Importing the export back into the first database changes nothing.
    result = runner.invoke(args=["cases", "import", str(first)])
    assert "Created: 0, updated: 0, unchanged: 40" in result.output


def test_import_twice_is_idempotent(app, runner, db_session):
    import_sample(runner)
    before = db_state(db_session)
    assert len(before["cases"]) == 40 and {case.state for case in before["cases"]} == {"published"}
    assert len(before["revisions"]) == 40  # the "published" revision of each
    result = runner.invoke(args=["cases", "import", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "Created: 0, updated: 0, unchanged: 40, skipped (invalid): 0." in result.output
    assert db_state(db_session) == before


def test_imported_case_studies_are_published_and_owned_by_the_akimat_of_their_place(app, runner, db_session):
    import_sample(runner)
    esil = db_session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == "astana-e-akimat-online-appointments"))
    akimat = db_session.get(Akimat, esil.akimat_id)
    assert db_session.get(Municipality, akimat.municipality_id).name_en == "Esil District"
    assert db_session.get(Region, akimat.region_id).iso_code == "KZ-71"
    assert esil.state == "published" and esil.published_at is not None
    assert esil.author_name == "Yerlan Baimukhanov" and esil.created_by_id is None
    assert db_session.scalar(sa.select(sa.func.count(User.id))) == 0  # no accounts needed

    zhezkazgan = db_session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == "zhezkazgan-heating-network-ppp"))
    owner = db_session.get(Akimat, zhezkazgan.akimat_id)
    assert owner.municipality_id is None and zhezkazgan.municipality_id is None
    assert db_session.get(Region, owner.region_id).iso_code == "KZ-62" and zhezkazgan.level == "city"

    abai = db_session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == "abai-region-new-akimat-setup"))
    adoptions = db_session.execute(
        sa.select(Region.iso_code, Adoption.year, Adoption.status, Adoption.note)
        .join(Akimat, Adoption.akimat_id == Akimat.id).join(Region, Akimat.region_id == Region.id)
        .where(Adoption.case_study_id == abai.id, Akimat.municipality_id.is_(None)).order_by(Region.iso_code)
    ).all()
    assert adoptions == [("KZ-33", 2022, "adopted", "similar handover plan with Almaty region"),
                         ("KZ-62", 2022, "adopted", "handover plan with Karaganda region")]


def test_a_changed_line_updates_the_case_study_with_a_revision(app, runner, db_session, client, tmp_path):
    import_sample(runner)
    before = db_state(db_session)
    lines = sample_lines()
    before_results = lines[0]["results"]
    lines[0]["results"] = "Bus speed at peak hours rose by a third."
    lines[0]["adoptions"] = []
    lines[1]["budget_kzt"] = 1234.5
    result = runner.invoke(args=["cases", "import", str(write_lines(tmp_path / "changed.jsonl", lines))])
    assert result.exit_code == 0, result.output
    assert "Created: 0, updated: 2, unchanged: 38" in result.output

    after = db_state(db_session)
    assert len(after["cases"]) == 40
    assert len(after["revisions"]) == len(before["revisions"]) + 2
    case = db_session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == lines[0]["id"]))
    revisions = db_session.scalars(
        sa.select(CaseRevision).where(CaseRevision.case_study_id == case.id).order_by(CaseRevision.number)).all()
    assert [r.number for r in revisions] == [1, 2]
    snapshots = revision_snapshots(case)
    assert snapshots[2]["results"] == "Bus speed at peak hours rose by a third."
    assert snapshots[1]["results"] == before_results
    assert db_session.scalar(sa.select(sa.func.count(Adoption.id)).where(Adoption.case_study_id == case.id)) == 0
    changed = {row.slug for row, old in zip(after["cases"], before["cases"], strict=True)
               if row.updated_at != old.updated_at}
    assert changed == {lines[0]["id"], lines[1]["id"]}
    body = client.get(f"/api/v1/cases/{lines[1]['id']}").json
    assert body["budget_kzt"] == 1234.5


def test_a_withdrawn_case_study_stays_withdrawn_when_imported_again(app, runner, db_session):
    import_sample(runner)
    assert runner.invoke(args=["cases", "withdraw", "oral-urban-tree-inventory", "--reason", "Dup"]).exit_code == 0
    result = runner.invoke(args=["cases", "import", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "unchanged: 40" in result.output and "Still withdrawn" in result.output
    state = db_session.scalar(sa.select(CaseStudy.state).where(CaseStudy.slug == "oral-urban-tree-inventory"))
    assert state == "withdrawn"


def test_a_draft_with_the_same_id_is_updated_and_published_never_duplicated(app, runner, db_session, make_case,
                                                                            tmp_path):
    slug = make_case("draft")  # owned by the Almaty akimat
    owner = db_session.scalar(sa.select(CaseStudy.akimat_id).where(CaseStudy.slug == slug))
    line = {**sample_lines()[3], "id": slug}  # an Astana (Esil District) line
    result = runner.invoke(args=["cases", "import", str(write_lines(tmp_path / "one.jsonl", [line]))])
    assert result.exit_code == 0, result.output
    assert "Created: 0, updated: 1" in result.output
    rows = db_session.execute(
        sa.select(CaseStudy.state, CaseStudy.title, CaseStudy.akimat_id).where(CaseStudy.slug == slug)).all()
    assert rows == [("published", line["title"], owner)]  # an import never takes a case from its akimat


# --- bad files -------------------------------------------------------------------------------------------


def bad_file(tmp_path: Path) -> tuple[Path, dict[int, str]]:
    """A file with two good lines (one new, one update) and one bad line for each kind of problem."""
    lines = sample_lines()
    new = {**lines[2], "id": "new-good-case", "title": "A brand new case"}
    update = {**lines[0], "title": "A changed title"}
    base = lines[3]
    file_lines = [
        new,  # 1
        '{"id": "broken", "title": ',  # 2
        {**base, "id": "bad-region", "region": "KZ-99"},  # 3
        {**base, "id": "bad-district", "district": "Zerendi District"},  # 4
        {**base, "id": "Bad_ID!"},  # 5
        {**base, "id": "bad-years", "started": 2021, "ended": 2019},  # 6
        {**base, "id": "bad-topic", "topics": ["transport", "space-travel"]},  # 7
        {**base, "id": "bad-budget", "budget_kzt": -100},  # 8
        {key: value for key, value in base.items() if key != "lessons"} | {"id": "missing-field"},  # 9
        {**base, "id": "extra-field", "rating": 5},  # 10
        {**new, "title": "Same id again"},  # 11
        update,  # 12
    ]
    reasons = {
        2: "not valid JSON",
        3: "region: unknown region 'KZ-99'",
        4: "district: 'Zerendi District' is not a district or city of KZ-71",
        5: "id: must be 3 to 120 characters",
        6: "ended: The end year cannot be before the start year.",
        7: "topics: unknown topic 'space-travel'",
        8: "budget_kzt: The budget must be zero or more",
        9: "missing field: lessons",
        10: "unknown field: 'rating'",
        11: "id: 'new-good-case' is already used on line 1",
    }
    return write_lines(tmp_path / "bad.jsonl", file_lines), reasons


def test_a_file_with_bad_lines_changes_nothing_and_names_every_bad_line(app, runner, db_session, tmp_path):
    import_sample(runner)
    before = db_state(db_session)
    path, reasons = bad_file(tmp_path)
    result = runner.invoke(args=["cases", "import", str(path)])
    assert result.exit_code == 1, result.output
    for number, reason in reasons.items():
        assert any(line.startswith(f"line {number}: ") and reason in line for line in result.output.splitlines()), (
            number, result.output)
    reported = {int(line.split(":")[0].removeprefix("line ")) for line in result.output.splitlines()
                if line.startswith("line ")}
    assert reported == set(reasons)
    assert "nothing was imported" in result.output
    assert db_state(db_session) == before


def test_skip_invalid_imports_the_good_lines(app, runner, db_session, tmp_path):
    import_sample(runner)
    path, reasons = bad_file(tmp_path)
    result = runner.invoke(args=["cases", "import", "--skip-invalid", str(path)])
    assert result.exit_code == 0, result.output
    assert f"Created: 1, updated: 1, unchanged: 0, skipped (invalid): {len(reasons)}." in result.output
    assert "line 3: region: unknown region 'KZ-99'" in result.output
    slugs = set(db_session.scalars(sa.select(CaseStudy.slug)))
    assert len(slugs) == 41 and "new-good-case" in slugs
    assert not slugs & {"bad-region", "bad-district", "bad-years", "bad-topic", "bad-budget", "missing-field",
                        "extra-field"}
    assert db_session.scalar(sa.select(CaseStudy.title).where(CaseStudy.slug == "new-good-case")) == "A brand new case"
    updated = db_session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == sample_lines()[0]["id"]))
    assert updated.title == "A changed title"
    assert db_session.scalar(
        sa.select(sa.func.count(CaseRevision.id)).where(CaseRevision.case_study_id == updated.id)) == 2


def test_a_file_of_only_bad_lines_with_skip_invalid_imports_nothing(app, runner, db_session, tmp_path):
    path = write_lines(tmp_path / "bad.jsonl", ["not json", '{"id": "x"}'])
    result = runner.invoke(args=["cases", "import", "--skip-invalid", str(path)])
    assert result.exit_code == 0, result.output
    assert "Created: 0, updated: 0, unchanged: 0, skipped (invalid): 2." in result.output
    assert db_session.scalar(sa.select(sa.func.count(CaseStudy.id))) == 0


def test_import_of_an_empty_file_and_a_missing_file(app, runner, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    result = runner.invoke(args=["cases", "import", str(empty)])
    assert result.exit_code == 0 and "Created: 0, updated: 0, unchanged: 0" in result.output
    result = runner.invoke(args=["cases", "import", str(tmp_path / "absent.jsonl")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_import_of_a_binary_file_reports_lines_and_does_not_crash(app, runner, tmp_path):
    path = tmp_path / "binary.jsonl"
    path.write_bytes(b"\x00\x01\xff\xfe\n\x89PNG\r\n")
    result = runner.invoke(args=["cases", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert "line 1: not valid UTF-8 text" in result.output and "line 2: not valid UTF-8 text" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# --- export ------------------------------------------------------------------------------------------------


def test_export_writes_only_published_case_studies(app, runner, make_case, tmp_path):
    draft = make_case("draft", title="A draft")
    withdrawn = make_case("withdrawn", title="A withdrawn one")
    published = make_case("published", title="A published one", status="idea", results="")
    result = runner.invoke(args=["cases", "export", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == [published]
    assert draft not in result.output and withdrawn not in result.output
    assert list(lines[0]) == list(interchange.FIELDS)
    assert lines[0]["results"] is None and lines[0]["budget_kzt"] is None and lines[0]["district"] is None
    assert lines[0]["adoptions"] == [] and lines[0]["ended"] is None
    stdout = runner.invoke(args=["cases", "export", "-"])
    assert stdout.exit_code == 0 and stdout.output == (tmp_path / "out.jsonl").read_text(encoding="utf-8")


def test_export_to_an_unwritable_place_is_a_clear_error(app, runner, tmp_path):
    result = runner.invoke(args=["cases", "export", str(tmp_path / "no-such-folder" / "out.jsonl")])
    assert result.exit_code == 1 and "Cannot write" in result.output


# --- withdraw and publish -------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["almaty-bike-sharing-cycle-lanes", "zhezkazgan-heating-network-ppp"])
def test_withdraw_hides_everywhere_and_publish_restores(app, runner, client, db_session, slug, tmp_path):
    import_sample(runner)
    region = next(line["region"] for line in sample_lines() if line["id"] == slug)
    assert slug in client.get(f"/cases/?region={region}").get_data(as_text=True)

    result = runner.invoke(args=["cases", "withdraw", slug, "--reason", "Figures under review"])
    assert result.exit_code == 0, result.output
    case = db_session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug))
    assert case.state == "withdrawn" and case.withdrawn_reason == "Figures under review"
    api = client.get(f"/api/v1/cases/{slug}")
    assert api.status_code == 404 and api.json["error"]["code"] == "not_found"
    assert slug not in client.get(f"/cases/?region={region}").get_data(as_text=True)
    assert slug not in client.get("/cases/").get_data(as_text=True)
    assert client.get(f"/cases/{slug}").status_code == 404
    runner.invoke(args=["cases", "export", str(tmp_path / "out.jsonl")])
    assert slug not in (tmp_path / "out.jsonl").read_text(encoding="utf-8")

    result = runner.invoke(args=["cases", "publish", slug])
    assert result.exit_code == 0, result.output
    assert client.get(f"/api/v1/cases/{slug}").status_code == 200
    assert slug in client.get(f"/cases/?region={region}").get_data(as_text=True)
    assert client.get(f"/cases/{slug}").status_code == 200
    actions = db_session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.target_id == case.id, AuditEntry.target_type == "case_study")
        .order_by(AuditEntry.id)).all()
    assert actions == ["case.published", "case.withdrawn", "case.restored"]


def test_withdraw_and_publish_errors(app, runner, db_session, make_case):
    published = make_case("published")
    draft = make_case("draft", title="Another draft")
    before = db_state(db_session)
    cases = [
        (["withdraw", "no-such-case", "--reason", "x"], 1, "No case study has the id 'no-such-case'."),
        (["withdraw", "Odd ID/..", "--reason", "x"], 1, "No case study has the id"),
        (["withdraw", draft, "--reason", "x"], 1, "Only a published case study can be withdrawn."),
        (["withdraw", published, "--reason", "   "], 1, "Say why the case study is withdrawn."),
        (["withdraw", published], 2, "Missing option '--reason'"),
        (["publish", published], 1, "This case study is already published."),
        (["publish", "no-such-case"], 1, "No case study has the id"),
    ]
    for args, code, message in cases:
        result = runner.invoke(args=["cases", *args])
        assert result.exit_code == code, (args, result.output)
        assert message in result.output, (args, result.output)
    assert db_state(db_session) == before
    # publish also publishes a draft
    assert runner.invoke(args=["cases", "publish", draft]).exit_code == 0
    assert db_session.scalar(sa.select(CaseStudy.state).where(CaseStudy.slug == draft)) == "published"


# --- demo content --------------------------------------------------------------------------------------


def test_seed_demo_content_is_idempotent(app, runner, db_session, tmp_path):
    with app.app_context():  # the demo accounts only (seed-demo would also load the project's demo content)
        seed_demo_accounts()
        db.session.commit()
    questions = tmp_path / "questions.json"
    questions.write_text(json.dumps([
        {"case_id": "almaty-dedicated-bus-lanes", "question": "How did you enforce the lanes?",
         "asked_by": "reader@demo.example.kz", "answer": "With cameras at every junction.", "language": "en"},
        {"case_id": "oral-urban-tree-inventory", "question": "Какое ПО вы использовали?",
         "asked_by": "akim.district@demo.example.kz", "answer": "Открытую ГИС.", "language": "ru"},
        {"case_id": "zerendi-rural-libraries-digital-hubs", "question": "Who pays for the internet?",
         "asked_by": "reader@demo.example.kz", "answer": None, "language": "en"},
        {"case_id": "no-such-case", "question": "?", "asked_by": "reader@demo.example.kz", "answer": None,
         "language": "en"},
    ], ensure_ascii=False), encoding="utf-8")

    def run():
        with app.app_context():
            result = seed_demo_content(SAMPLE, questions)
            db.session.commit()
            return result

    first = run()
    assert len(first["report"].created) == 40 and first["questions"] == 3 and first["answers"] == 2
    assert len(first["problems"]) == 1 and "no-such-case" in first["problems"][0]
    authors = dict(db_session.execute(
        sa.select(Question.body, User.email).join(Answer, Answer.question_id == Question.id)
        .join(User, Answer.author_id == User.id)).all())
    assert authors == {"How did you enforce the lanes?": "akim@demo.example.kz",  # a demo akim of the akimat
                       "Какое ПО вы использовали?": "admin@demo.example.kz"}  # nobody there: the first admin
    before = db_state(db_session)
    counts = (db_session.scalar(sa.select(sa.func.count(Question.id))),
              db_session.scalar(sa.select(sa.func.count(Answer.id))))

    second = run()
    assert len(second["report"].unchanged) == 40 and second["questions"] == 0 and second["answers"] == 0
    assert db_state(db_session) == before
    assert (db_session.scalar(sa.select(sa.func.count(Question.id))),
            db_session.scalar(sa.select(sa.func.count(Answer.id)))) == counts


def test_seed_demo_content_without_files_reports_and_adds_nothing(app, db_session, tmp_path):
    with app.app_context():
        result = seed_demo_content(tmp_path / "absent.jsonl", tmp_path / "absent.json")
        db.session.commit()
    assert result["report"] is None and result["questions"] == 0 and "not found" in result["problems"][0]
    assert db_session.scalar(sa.select(sa.func.count(CaseStudy.id))) == 0
