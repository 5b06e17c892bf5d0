"""Templates and static files of the status page (`GET /`); a package so they ship as package data."""
