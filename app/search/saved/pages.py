"""What the profile page shows of a user's saved searches (passed by ``auth.profile`` to
``templates/search/saved/_list.html``)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for

from app.search.saved import services
from app.search.saved.models import SavedSearch


@dataclass
class SavedSearchRow:
    saved: SavedSearch
    open_url: str  # the search page with its words and filters
    feed_url: str  # absolute: it is copied into a feed reader


@dataclass
class SavedSearchesPage:
    rows: list[SavedSearchRow]
    limit: int = services.MAX_PER_USER

    @property
    def full(self) -> bool:
        return len(self.rows) >= self.limit


def saved_searches_page(user) -> SavedSearchesPage:
    """``user``'s saved searches with their links."""
    return SavedSearchesPage(rows=[
        SavedSearchRow(saved=saved, open_url=url_for("search.results", **services.args_of(saved)),
                       feed_url=url_for("saved_searches.feed", token=saved.feed_token, _external=True))
        for saved in services.for_user(user)
    ])
