"""Certificates of participation (PDF with a QR code, a public verification page) and one's learning record."""
