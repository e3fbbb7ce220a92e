"""Searches from 8 threads at once against one index and one shared searcher (no global search lock): no error,
and every answer the same as single-threaded, both with the array evaluator and with Whoosh's own matchers
(which seek and read the segment files the most)."""

from __future__ import annotations

import sys
import threading

import pytest

from app.search import matching
from app.search import vector

WORDS = ["snowplough", "tracking", "routes", "depot", "bus", "card", "water", "pipe", "council", "public",
         "школа", "автобус", "мектеп", "кеңес", "совет", "library"]
THREADS = 8


def _queries() -> list[str]:
    out = []
    for i, word in enumerate(WORDS):
        other = WORDS[(i * 5 + 3) % len(WORDS)]
        out += [word, f"{word} {other}", f'"{word} {other}"', f"{word} -{other}", f"title:{word}"]
    return out


def _answers(client, queries: list[str]) -> list[tuple]:
    out = []
    for q in queries:
        response = client.get("/api/v1/search", query_string={"q": q, "per_page": 20})
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        out.append((q, body["total"], [(r["id"], round(r["score"], 9)) for r in body["results"]], body["facets"]))
    return out


@pytest.mark.parametrize("use_vector", [True, False])
def test_searches_from_eight_threads_at_once_give_the_single_threaded_answers(app, client, make_case, monkeypatch,
                                                                               use_vector):
    for n in range(40):
        words = " ".join(WORDS[(n * k) % len(WORDS)] for k in range(1, 7))
        make_case("published", title=f"{WORDS[n % len(WORDS)]} {WORDS[(n + 3) % len(WORDS)]} practice",
                  summary=f"A practice about {words}.", problem=f"{words} " * (1 + n % 4))
    if not use_vector:
        monkeypatch.setattr(vector, "evaluate", _unsupported)
    queries = _queries()
    expected = {a[0]: a for a in _answers(client, queries)}

    vector.clear_cache()
    matching._scored_cache.clear()
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []
    got: list[list[tuple]] = [[] for _ in range(THREADS)]

    def run(k: int) -> None:
        try:
            mine = queries[k::2] + queries[:k]  # every thread a different order, all at once
            thread_client = app.test_client()
            barrier.wait()
            for _ in range(2):
                got[k].extend(_answers(thread_client, mine))
        except BaseException as exc:  # reported below
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: reads interleave inside Whoosh's seek-then-read
    try:
        threads = [threading.Thread(target=run, args=(k,)) for k in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors
    for answers in got:
        assert answers
        for answer in answers:
            assert answer == expected[answer[0]]


def _unsupported(searcher, query):
    raise vector.Unsupported("Whoosh's matchers, for this test")
