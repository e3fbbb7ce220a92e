"""Full-text search: multilingual (Russian, Kazakh, English) analysis for the Whoosh index."""
