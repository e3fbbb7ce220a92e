"""Case studies: what an akimat tried, what went wrong, what came of it; attachments, Q&A, adoptions."""
