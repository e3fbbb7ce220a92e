#!/usr/bin/env python3
"""Kazakh and Russian morphology for search: today's stemmers against dictionary-based analysers (#13 item 3).

Reads ``bench/data/kk_morphology.jsonl`` and ``bench/data/ru_morphology.jsonl`` (one lemma group per line,
{"lemma", "pos", "forms", "in_test_data"}, and distractor pairs {"distractor": [a, b], "homograph", "note"})
and, for every analyser, reports:

* recall: the share of (form, lemma) pairs of a group that get the same key;
* precision: the share of distractor pairs (different lemmas a too-aggressive stemmer would merge) kept apart,
  over all pairs and over the pairs that are not homographs (where neither word is also a form of the other);
* cross-group collisions: pairs of words of *different* groups that get the same key (over-conflation);
* out-of-dictionary rate: the share of the words the dictionary does not recognise (dictionary analysers only);
* speed: words per second, every analyser timed on the same word list in interleaved rounds (best round), and the
  ratio to today's stemmer.

An analyser maps a word to a tuple of keys. Single-key analysers give one; "all" analysers give every stem or
lemma the dictionary offers, as the index would if it put them all at one position (``stems()`` does this
already for Cyrillic words without Kazakh letters). Two words match when their key sets intersect.

Run: ``.venv/bin/python bench/morphology_eval.py`` (or ``make bench-morphology``). Needs Debian's hunspell-kk and
hunspell-ru (/usr/share/hunspell) and the packages of bench/requirements-morphology.txt; an analyser whose
dictionary or binding is missing is reported as unavailable, not silently dropped.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.search import analysis  # noqa: E402

DATA = ROOT / "bench" / "data"
HUNSPELL_DIR = Path("/usr/share/hunspell")

Keys = tuple[str, ...]


@dataclass
class Analyser:
    name: str
    keys: Callable[[str], Keys]
    known: Callable[[str], bool] | None = None  # the dictionary's verdict, for the out-of-dictionary rate
    note: str = ""


@dataclass
class Dataset:
    language: str
    groups: list[dict]
    distractors: list[dict]
    words: list[str] = field(default_factory=list)  # every distinct word, in file order

    def __post_init__(self) -> None:
        seen: dict[str, None] = {}
        for g in self.groups:
            for w in [g["lemma"], *g["forms"]]:
                seen.setdefault(w)
        for d in self.distractors:
            for w in d["distractor"]:
                seen.setdefault(w)
        self.words = list(seen)


def load(language: str) -> Dataset:
    groups, distractors = [], []
    for number, line in enumerate((DATA / f"{language}_morphology.jsonl").read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        row["_line"] = number  # 1-based line number in the file, for --split
        (distractors if "distractor" in row else groups).append(row)
    return Dataset(language, groups, distractors)


HALVES = ("tune", "heldout")


def half(ds: Dataset, name: str) -> Dataset:
    """One half of a list, chosen by the parity of the line number in the file (fixed before any tuning): odd lines
    are "tune", even lines "heldout", for the lemma groups and the distractor pairs alike. A stemmer is improved by
    looking at the failures of the tune half only; the held-out half then says whether the rules generalise."""
    parity = HALVES.index(name)  # tune: odd (n % 2 == 1), heldout: even
    keep = [row["_line"] % 2 != parity for row in ds.groups], [row["_line"] % 2 != parity for row in ds.distractors]
    return Dataset(
        f"{ds.language} ({name})",
        [g for g, k in zip(ds.groups, keep[0], strict=True) if k],
        [d for d, k in zip(ds.distractors, keep[1], strict=True) if k],
    )


def _norm(word: str) -> str:
    return analysis.normalize(word)


def _clear_caches() -> None:
    for fn in (analysis.kazakh_stem, analysis.russian_stem, analysis.stems):
        fn.cache_clear()


# --------------------------------------------------------------------------------------------------------------
# Analysers


def today_kazakh() -> list[Analyser]:
    return [
        Analyser("kazakh_stem (today)", lambda w: (analysis.kazakh_stem(w),)),
        Analyser(
            "stems() (today, as indexed)",
            lambda w: analysis.stems(_norm(w)),
            note="Kazakh letters → kazakh_stem; else (russian_stem, kazakh_stem)",
        ),
    ]


def today_russian() -> list[Analyser]:
    return [
        Analyser("russian_stem (PyStemmer, today)", lambda w: (analysis.russian_stem(w),)),
        Analyser(
            "stems() (today, as indexed)",
            lambda w: analysis.stems(_norm(w)),
            note="(russian_stem, kazakh_stem, fleeting-vowel stem)",
        ),
    ]


def _shortest(stems: list[str], word: str) -> str:
    # Deterministic: the shortest stem, ties broken alphabetically; the word itself when there is none.
    return min(stems, key=lambda s: (len(s), s)) if stems else word


class HunspellC:
    """The ``hunspell`` C binding (pyhunspell 0.5.5 on libhunspell)."""

    binding = "hunspell (C)"

    def __init__(self, base: Path) -> None:
        import hunspell

        self.h = hunspell.HunSpell(str(base) + ".dic", str(base) + ".aff")
        self.enc = self.h.get_dic_encoding()

    def stems(self, word: str) -> list[str]:
        return list(dict.fromkeys(_norm(s.decode(self.enc)) for s in self.h.stem(word)))

    def known(self, word: str) -> bool:
        return bool(self.h.spell(word))


class HunspellSpylls:
    """spylls 0.1.7, a pure-Python port of Hunspell: ``Dictionary.lookuper.good_forms(word)`` gives every
    (stem, affixes) hypothesis that the dictionary accepts; its ``.stem`` is the dictionary entry."""

    binding = "spylls"

    def __init__(self, base: Path) -> None:
        from spylls.hunspell import Dictionary

        self.d = Dictionary.from_files(str(base))

    def stems(self, word: str) -> list[str]:
        return list(dict.fromkeys(_norm(f.stem) for f in self.d.lookuper.good_forms(word)))

    def known(self, word: str) -> bool:
        return self.d.lookup(word)


def hunspell_variants(h, language: str, fallback: Callable[[str], str] | None) -> list[Analyser]:
    b = h.binding
    if language == "ru":

        def ru_combo(w: str) -> Keys:
            found = h.stems(w)
            return (found[0],) if found else (analysis.russian_stem(w),)

        extra = [
            Analyser(
                f"{b}: first stem if known, else russian_stem",
                ru_combo,
                h.known,
                "the dictionary where it knows the word, Snowball elsewhere",
            )
        ]
    else:
        extra = []
    out = [
        Analyser(
            f"{b}: first stem",
            lambda w: (next(iter(h.stems(w)), _norm(w)),),
            h.known,
            "the first stem the library returns (the word itself if unknown)",
        ),
        Analyser(
            f"{b}: shortest stem", lambda w: (_shortest(h.stems(w), _norm(w)),), h.known, "the shortest of its stems"
        ),
        Analyser(
            f"{b}: all stems", lambda w: tuple(h.stems(w)) or (_norm(w),), h.known, "every stem as an alternative key"
        ),
    ]
    if fallback is not None:

        def combo(w: str) -> Keys:
            found = h.stems(w)
            return (_shortest(found, w),) if found else (fallback(w),)

        def combo_stemmed(w: str) -> Keys:
            found = h.stems(w)
            return (fallback(_shortest(found, w)),) if found else (fallback(w),)

        def combo_all(w: str) -> Keys:
            found = h.stems(w)
            return tuple(dict.fromkeys(fallback(s) for s in found)) if found else (fallback(w),)

        out += [
            Analyser(f"{b}: shortest stem if known, else kazakh_stem", combo, h.known, "the combination of the brief"),
            Analyser(
                f"{b}: kazakh_stem(shortest stem) if known, else kazakh_stem",
                combo_stemmed,
                h.known,
                "the dictionary stem, then today's stripper on it",
            ),
            Analyser(
                f"{b}: kazakh_stem of every stem if known, else kazakh_stem",
                combo_all,
                h.known,
                "as above, every stem as an alternative key",
            ),
        ]
    return out + extra


def pymorphy_variants() -> list[Analyser]:
    import pymorphy3

    morph = pymorphy3.MorphAnalyzer(lang="ru")

    def first(w: str) -> Keys:
        return (_norm(morph.parse(w)[0].normal_form),)

    def every(w: str) -> Keys:
        return tuple(dict.fromkeys(_norm(p.normal_form) for p in morph.parse(w)))

    return [
        Analyser("pymorphy3: normal_form (best parse)", first, morph.word_is_known),
        Analyser("pymorphy3: normal_form of every parse", every, morph.word_is_known),
    ]


def build(language: str, bindings: tuple[str, ...]) -> tuple[list[Analyser], list[str]]:
    """The analysers for one language, and a line for each one that could not be built (and why)."""
    analysers = today_kazakh() if language == "kk" else today_russian()
    problems = []
    base = HUNSPELL_DIR / ("kk_KZ" if language == "kk" else "ru_RU")
    fallback = analysis.kazakh_stem if language == "kk" else None
    for binding in bindings:
        cls = HunspellC if binding == "c" else HunspellSpylls
        if not base.with_suffix(".dic").exists():
            problems.append(f"{cls.binding}: {base}.dic missing (apt-get install hunspell-{language})")
            continue
        try:
            t0 = time.perf_counter()
            h = cls(base)
            load_s = time.perf_counter() - t0
        except Exception as exc:
            problems.append(f"{cls.binding}: unavailable: {type(exc).__name__}: {exc}")
            continue
        variants = hunspell_variants(h, language, fallback)
        for a in variants:
            a.note = (a.note + f"; dictionary load {load_s:.2f} s").lstrip("; ")
        analysers += variants
    if language == "ru":
        try:
            analysers += pymorphy_variants()
        except Exception as exc:
            problems.append(f"pymorphy3: unavailable: {type(exc).__name__}: {exc}")
    return analysers, problems


# --------------------------------------------------------------------------------------------------------------
# Metrics


def _match(a: Keys, b: Keys) -> bool:
    return not set(a).isdisjoint(b)


def evaluate(ds: Dataset, a: Analyser) -> dict:
    _clear_caches()
    keys = {w: a.keys(w) for w in ds.words}
    result: dict = {"analyser": a.name, "note": a.note}

    def recall(groups: list[dict]) -> tuple[int, int]:
        hits = total = 0
        for g in groups:
            for f in g["forms"]:
                total += 1
                hits += _match(keys[f], keys[g["lemma"]])
        return hits, total

    hits, total = recall(ds.groups)
    result["recall"] = hits / total
    result["recall_pairs"] = [hits, total]
    fresh = [g for g in ds.groups if not g.get("in_test_data")]
    h2, t2 = recall(fresh)
    result["recall_fresh"] = h2 / t2 if t2 else None
    result["recall_fresh_pairs"] = [h2, t2]
    by_pos = {}
    for pos in sorted({g["pos"] for g in ds.groups}):
        h3, t3 = recall([g for g in ds.groups if g["pos"] == pos])
        by_pos[pos] = h3 / t3
    result["recall_by_pos"] = by_pos
    result["groups_whole"] = sum(all(_match(keys[f], keys[g["lemma"]]) for f in g["forms"]) for g in ds.groups) / len(
        ds.groups
    )
    missed = [
        (f, g["lemma"], keys[f], keys[g["lemma"]])
        for g in ds.groups
        for f in g["forms"]
        if not _match(keys[f], keys[g["lemma"]])
    ]
    result["missed_all"] = [f"{f}→{'|'.join(kf)} ≠ {lem}→{'|'.join(kl)}" for f, lem, kf, kl in missed]
    result["missed_examples"] = result["missed_all"][:12]

    apart = [not _match(keys[d["distractor"][0]], keys[d["distractor"][1]]) for d in ds.distractors]
    strict = [ok for ok, d in zip(apart, ds.distractors, strict=True) if not d["homograph"]]
    result["precision"] = sum(apart) / len(apart)
    result["precision_pairs"] = [sum(apart), len(apart)]
    result["precision_strict"] = sum(strict) / len(strict)
    result["precision_strict_pairs"] = [sum(strict), len(strict)]
    result["merged_distractors"] = [
        "/".join(d["distractor"]) + (" (homograph)" if d["homograph"] else "")
        for ok, d in zip(apart, ds.distractors, strict=True)
        if not ok
    ]

    # Cross-group collisions: word pairs of different groups sharing a key.
    owner: dict[str, int] = {}
    for i, g in enumerate(ds.groups):
        for w in [g["lemma"], *g["forms"]]:
            owner[w] = i
    by_key: dict[str, set[str]] = defaultdict(set)
    for w in owner:
        for k in keys[w]:
            by_key[k].add(w)
    colliding: set[tuple[str, str]] = set()
    for members in by_key.values():
        if len(members) < 2:
            continue
        for x, y in itertools.combinations(sorted(members), 2):
            if owner[x] != owner[y]:
                colliding.add((x, y))
    n = len(owner)
    sizes: dict[int, int] = defaultdict(int)
    for i in owner.values():
        sizes[i] += 1
    cross_total = (n * n - sum(s * s for s in sizes.values())) // 2
    group_pairs = {tuple(sorted((ds.groups[owner[x]]["lemma"], ds.groups[owner[y]]["lemma"]))) for x, y in colliding}
    result["cross_collisions"] = len(colliding)
    result["cross_collision_rate"] = len(colliding) / cross_total
    result["cross_group_pairs"] = len(group_pairs)
    result["cross_all"] = [f"{x}~{y}" for x, y in sorted(colliding)]
    result["cross_examples"] = result["cross_all"][:10]
    if a.known is not None:
        unknown = [w for w in ds.words if not a.known(w)]
        result["ood_rate"] = len(unknown) / len(ds.words)
        result["ood_examples"] = unknown[:15]
    else:
        result["ood_rate"] = None
    result["keys_per_word"] = sum(len(keys[w]) for w in ds.words) / len(ds.words)
    return result


CORPUS = ROOT / "tests" / "data" / "relevance_v2" / "cases.jsonl"


def corpus_words(language: str) -> list[str]:
    """The distinct words (3+ letters, Cyrillic, not stop words) of the relevance corpus's case studies written in
    ``language``: real text, to estimate how often a dictionary meets a word it does not know. No gold labels."""
    if not CORPUS.exists():
        return []
    seen: dict[str, None] = {}
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("language") != language:
            continue
        text = " ".join(str(v) for v in row.values() if isinstance(v, str))
        for m in analysis.TOKEN_PATTERN.finditer(text):
            w = analysis.normalize(m.group())
            cyrillic = analysis.detect_script(w) == "cyrillic"
            if len(w) >= 3 and w.isalpha() and cyrillic and w not in analysis.ALL_STOP_WORDS:
                seen.setdefault(w)
    return list(seen)


def corpus_ood(words: list[str], a: Analyser) -> float | None:
    if a.known is None or not words:
        return None
    return sum(not a.known(w) for w in words) / len(words)


def speed(ds: Dataset, analysers: list[Analyser], rounds: int) -> dict[str, float]:
    """Words per second of each analyser: ``rounds`` rounds, each timing every analyser once over all the words
    (caches cleared first, so each word is analysed afresh), in a rotated order; the best round per analyser (as
    ``timeit`` does: on a shared machine the slower rounds measure the neighbours, not the analyser)."""
    timings: dict[str, list[float]] = defaultdict(list)
    words = ds.words
    for r in range(rounds):
        order = analysers[r % len(analysers) :] + analysers[: r % len(analysers)]
        for a in order:
            _clear_caches()
            gc.collect()
            fn = a.keys
            t0 = time.perf_counter()
            for w in words:
                fn(w)
            timings[a.name].append(time.perf_counter() - t0)
    return {name: len(words) / min(ts) for name, ts in timings.items()}


# --------------------------------------------------------------------------------------------------------------
# Report


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def table(ds: Dataset, results: list[dict], wps: dict[str, float]) -> str:
    base = wps[results[0]["analyser"]]
    first = results[0]
    fresh, n_all, n_strict = (
        first["recall_fresh_pairs"][1],
        first["precision_pairs"][1],
        first["precision_strict_pairs"][1],
    )
    lines = [
        f"| analyser | recall | recall, {fresh} pairs not in tests/data | groups whole | precision (all {n_all}) "
        f"| precision (no homographs, {n_strict}) | cross-group collisions | out of dict. (list) "
        f"| out of dict. (relevance corpus, {first['corpus_words']} words) | keys/word | words/s "
        "| speed vs first row |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        w = wps[r["analyser"]]
        lines.append(
            f"| {r['analyser']} | {_pct(r['recall'])} | {_pct(r['recall_fresh'])} | {_pct(r['groups_whole'])} "
            f"| {_pct(r['precision'])} | {_pct(r['precision_strict'])} | {r['cross_collisions']} "
            f"({r['cross_group_pairs']} lemma pairs) | {_pct(r['ood_rate'])} | {_pct(r['ood_rate_corpus'])} "
            f"| {r['keys_per_word']:.2f} "
            f"| {w:,.0f} | {w / base:.2f}× |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", default="kk,ru")
    parser.add_argument("--bindings", default="c,spylls", help="hunspell bindings to try: c, spylls")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    parser.add_argument("--json", type=Path, help="also write every result (with examples) here")
    parser.add_argument("--details", action="store_true", help="print missed pairs, merged distractors, collisions")
    parser.add_argument(
        "--split",
        choices=("both", *HALVES),
        help="report the halves of each list (odd lines: tune, even lines: heldout) instead of the whole list; "
        "--details then prints only the halves named here",
    )
    args = parser.parse_args(argv)
    out = {}
    for language in args.languages.split(","):
        whole = load(language)
        analysers, problems = build(language, tuple(b for b in args.bindings.split(",") if b))
        if args.split is None:
            datasets = [whole]
        else:
            datasets = [half(whole, h) for h in (HALVES if args.split == "both" else (args.split,))]
        for ds in datasets:
            out[ds.language] = report(ds, analysers, problems, args)
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def report(ds: Dataset, analysers: list[Analyser], problems: list[str], args: argparse.Namespace) -> dict:
    """Evaluate and print one list (or half of one); with --split, --details prints every miss and collision."""
    language = ds.language.split()[0]
    every = args.split is not None
    results = [evaluate(ds, a) for a in analysers]
    real = corpus_words(language)
    for a, r in zip(analysers, results, strict=True):
        r["ood_rate_corpus"] = corpus_ood(real, a)
        r["corpus_words"] = len(real)
    wps = speed(ds, analysers, args.rounds)
    forms = sum(len(g["forms"]) for g in ds.groups)
    print(
        f"\n## {ds.language}: {len(ds.groups)} lemma groups, {forms} forms, {len(ds.distractors)} distractor pairs, "
        f"{len(ds.words)} distinct words; speed: best of {args.rounds} interleaved rounds\n"
    )
    print(table(ds, results, wps))
    for p in problems:
        print(f"\nUNAVAILABLE: {p}")
    if args.details:
        for r in results:
            print(
                f"\n### {r['analyser']}\nrecall by POS: "
                + ", ".join(f"{k} {_pct(v)}" for k, v in r["recall_by_pos"].items())
            )
            print("missed:", "; ".join(r["missed_all" if every else "missed_examples"]))
            print("merged distractors:", ", ".join(r["merged_distractors"]) or "none")
            print("cross-group collisions:", ", ".join(r["cross_all" if every else "cross_examples"]) or "none")
            if r.get("ood_examples"):
                print("out of dictionary:", ", ".join(r["ood_examples"]))
    return {"results": results, "words_per_second": wps, "unavailable": problems}


if __name__ == "__main__":
    raise SystemExit(main())
