//! retention-purge: enforces retention, erasure and tenant closure on a schedule (issue #7).
