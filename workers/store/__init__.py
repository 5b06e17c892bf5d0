"""The store: tables, transactions and migrations."""
