"""Relevance evaluation on a labelled set: nDCG@10, recall@20 and P@5 per split (tune / held-out) and query kind,
through the real ``GET /api/v1/search`` view on a real Whoosh index built by ``flask search reindex``.

Run from the repository root::

    .venv/bin/python bench/relevance.py                      # the independent set, tests/data/relevance_v2
    .venv/bin/python bench/relevance.py --show-misses        # and each query's missing and top results
    .venv/bin/python bench/relevance.py --json /tmp/rel.json # the figures as JSON too

The set's ``queries.json`` holds ``{"id", "query", "language", "kind", "split", "relevant": {case id: grade}}``;
grades 3/2/1 as in ``tests/functional/test_search_relevance.py`` (unlisted cases count 0). Tune on the "tune"
half only; the "heldout" half is reported, never looked at query by query while changing the engine.

Everything runs in a temporary folder (SQLite database, index, uploads); nothing outside it is written.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_SET = ROOT / "tests" / "data" / "relevance_v2"


def ndcg_at(ranked: list[str], grades: dict[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain at ``k`` with gains 2^grade − 1."""
    def dcg(gains):
        return sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(gains[:k]))

    ideal = dcg(sorted(grades.values(), reverse=True))
    return dcg([grades.get(slug, 0) for slug in ranked]) / ideal if ideal else 1.0


def recall_at(ranked: list[str], grades: dict[str, int], k: int = 20) -> float:
    """Share of the relevant (grade ≥ 1) cases among the first ``k`` results."""
    relevant = {slug for slug, grade in grades.items() if grade > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 1.0


def precision_at(ranked: list[str], grades: dict[str, int], k: int = 5) -> float:
    """Share of relevant cases among the first ``k`` places (an empty place counts as not relevant)."""
    return sum(1 for slug in ranked[:k] if grades.get(slug, 0) > 0) / k


def load_set(folder: Path) -> tuple[Path, list[dict]]:
    return folder / "cases.jsonl", json.loads((folder / "queries.json").read_text(encoding="utf-8"))


def build_app(folder: Path, cases: Path):
    """An app on a fresh SQLite database in ``folder`` holding the cases of ``cases``, indexed."""
    from app import create_app
    from app.case_studies import interchange
    from app.extensions import db
    from app.regions.services import sync_reference_data
    from config import TestConfig

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'relevance.sqlite3'}",
                     SEARCH_INDEX_DIR=str(folder / "search_index"), UPLOAD_DIR=str(folder / "uploads"),
                     MAIL_OUTBOX_DIR=str(folder / "outbox"), SERVER_NAME=None)
    with app.app_context():
        db.create_all()
        sync_reference_data(db.session.connection())
        db.session.commit()
        report = interchange.import_file(cases)
        if report.errors:
            raise SystemExit(f"{cases}: {report.errors[:3]}")
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return app


def run(app, queries: list[dict]) -> list[dict]:
    """Each query's ranked ids and scores."""
    client = app.test_client()
    rows = []
    for q in queries:
        response = client.get("/api/v1/search", query_string={"q": q["query"], "per_page": 20},
                              headers={"Accept-Language": "en"})
        if response.status_code != 200:
            raise SystemExit(f"{q['id']}: {response.status_code} {response.get_data(as_text=True)[:200]}")
        ranked = [r["id"] for r in response.get_json()["results"]]
        grades = q["relevant"]
        rows.append({**q, "ranked": ranked, "ndcg10": ndcg_at(ranked, grades), "recall20": recall_at(ranked, grades),
                     "p5": precision_at(ranked, grades)})
    return rows


def summarise(rows: list[dict]) -> dict[str, dict[str, dict[str, float]]]:
    """{split: {kind or "all": {"n", "ndcg10", "recall20", "p5"}}}, plus the "all" split."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        for split in (r["split"], "all"):
            for kind in (r["kind"], "all"):
                groups[split, kind].append(r)
    out: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    for (split, kind), members in sorted(groups.items()):
        out[split][kind] = {"n": len(members), **{m: sum(r[m] for r in members) / len(members)
                                                   for m in ("ndcg10", "recall20", "p5")}}
    return dict(out)


def table(summary: dict) -> str:
    kinds = ["all", "cross-language", "same-language", "place-variant", "phrase"]
    lines = ["| split | kind | queries | nDCG@10 | recall@20 | P@5 |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for split in ("tune", "heldout", "all"):
        for kind in kinds:
            s = summary.get(split, {}).get(kind)
            if s:
                lines.append(f"| {split} | {kind} | {s['n']} | {s['ndcg10']:.3f} | {s['recall20']:.3f} "
                             f"| {s['p5']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="folder with cases.jsonl and queries.json")
    parser.add_argument("--split", choices=("tune", "heldout", "all"), default="all",
                        help="which half to list with --show-misses (the table always shows both)")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    logging.getLogger("app.requests").setLevel(logging.WARNING)
    cases, queries = load_set(args.set)
    with tempfile.TemporaryDirectory(prefix="relevance-") as tmp:
        app = build_app(Path(tmp), cases)
        rows = run(app, queries)
        with app.app_context():
            from app.extensions import db
            db.session.remove()
            db.engine.dispose()
    summary = summarise(rows)
    print(table(summary))
    if args.show_misses:
        for r in sorted(rows, key=lambda r: (r["ndcg10"], r["recall20"])):
            if args.split != "all" and r["split"] != args.split:
                continue
            missing = sorted({s for s, g in r["relevant"].items() if g > 0} - set(r["ranked"][:20]))
            print(f"{r['id']} {r['split']:7} {r['kind']:14} {r['ndcg10']:.2f} {r['recall20']:.2f} {r['query']!r}"
                  f"\n    missing={missing}\n    top={r['ranked'][:5]}")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
