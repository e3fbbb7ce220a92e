"""Search snippets are plain text: Markdown written by an author never shows as source in the results."""

from __future__ import annotations


def test_snippets_show_the_words_of_a_markdown_list_without_its_markers(app, client, make_case):
    make_case(state="published", title="Snow clearing schedule",
              summary="What we did:\n\n- **published** the snow clearing routes\n- opened a [hotline](https://x.kz)\n"
                      "1. ranked streets by `priority`")
    page = client.get("/search", query_string={"q": "hotline"}).get_data(as_text=True)
    results = page.split('class="result-count', 1)[1]
    assert "<mark>hotline</mark>" in results
    assert "published the snow clearing routes opened a" in results.replace("<mark>", "").replace("</mark>", "")
    for source in ("**", "](", "- opened", "1. ranked", "`"):
        assert source not in results

    hits = client.get("/api/v1/search", query_string={"q": "hotline"}).get_json()["results"]
    body = hits[0]["highlights"]["body"]
    assert "<mark>hotline</mark>" in body and "**" not in body and "- " not in body


def test_results_and_case_lists_show_the_publication_date(app, client, make_case):
    from app.case_studies.models import CaseStudy
    from app.extensions import db

    slug = make_case(state="published", title="Snow clearing schedule")
    with app.app_context():
        published = db.session.scalar(db.select(CaseStudy.published_at).where(CaseStudy.slug == slug))
    year = str(published.year)
    for url in ("/search?q=snow&sort=newest", "/cases/"):
        page = client.get(url, headers={"Accept-Language": "ru"}).get_data(as_text=True)
        stamp = page.split("Опубликовано ", 1)[1][:30]
        assert year in stamp, (url, stamp)  # a four-digit year
