"""Engagement with case studies: questions and answers, adoptions, follows (``services``) and their pages
(``views``)."""
