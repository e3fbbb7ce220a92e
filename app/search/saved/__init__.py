"""Saved searches: a signed-in user keeps a search (words and filters) under a name, gets its new matches in the
e-mail digest and reads its newest matches in an Atom feed reached by an unguessable token."""
