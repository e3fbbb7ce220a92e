"""Files attached to case studies: type checks, storage and text for search (``services``), upload and
download pages (``views``)."""
