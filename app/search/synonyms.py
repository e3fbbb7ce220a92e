"""Curated domain synonym groups for query-time expansion (see ``app.search.analysis.expand_synonyms``).

Each group is a tuple of surface forms, written as people type them; members may be phrases. Forms that differ
only in script, case or Kazakh diacritics (Онай/Оңай/Onay, Қостанай/Kostanay/Qostanai) need no entry here: the
folded skeleton already equates them. Only genuinely different words, abbreviations and former names belong here.
Keep groups small and unambiguous: a member must mean the same thing as every other member of its group.

Multi-word members are also marked in the index, where their words are adjacent (a phrase key, written by
the fold variant of ``app.search.analysis.TextAnalyzer``): adding, removing or changing one changes the indexed
terms, so bump ``app.search.analysis.ANALYSIS_VERSION`` with it and run ``flask search reindex``.
"""

from __future__ import annotations

SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    # Public service centres (Government for Citizens).
    (
        "ЦОН",
        "ХҚКО",
        "PSC",
        "one-stop shop",
        "public service centre",
        "public service center",
        "центр обслуживания населения",
        "халыққа қызмет көрсету орталығы",
    ),
    # Local executive bodies and their heads.
    ("akimat", "акимат", "әкімдік"),
    ("akim", "аким", "әкім"),
    # Transport.
    ("bus card", "транспортная карта", "транспорттық карта", "Onay", "Онай", "Оңай"),
    # Civic participation.
    ("public council", "общественный совет", "қоғамдық кеңес"),
    ("participatory budget", "народный бюджет", "халық бюджеті", "бюджет участия"),
    # Services.
    ("kindergarten", "детский сад", "балабақша"),
    ("e-queue", "электронная очередь", "электрондық кезек"),
    ("public procurement", "procurement", "госзакупки", "государственные закупки", "мемлекеттік сатып алу"),
    ("street lighting", "уличное освещение", "освещение", "көше жарығы"),
    ("land plot", "земельный участок", "жер учаскесі"),
    ("guest house", "гостевой дом", "қонақ үй"),
    # People.
    ("large family", "многодетная семья", "көпбалалы отбасы"),
    ("disability", "инвалидность", "мүгедектік"),
    # Places: current and former names and spellings (Astana was Nur-Sultan 2019–2022). Snowball stems
    # "Астана" to "аста" but "Астане", "Астаны", "Астану" to "астан", so those forms are listed too.
    ("Astana", "Астана", "Астане", "Астаны", "Nur-Sultan", "Нур-Султан", "Нұр-Сұлтан"),
    ("Almaty", "Алматы", "Alma-Ata", "Алма-Ата"),
    ("Shymkent", "Шымкент", "Chimkent", "Чимкент"),
    ("Oral", "Орал", "Uralsk", "Уральск"),
)
