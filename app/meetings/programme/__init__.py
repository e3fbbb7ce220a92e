"""A meeting's programme: call for presentations, proposals, agenda, outcomes and commitments (``services``),
its pages under ``/meetings/<id>/`` (``views``) and ``forms``."""
