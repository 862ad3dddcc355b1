//! `rewind-model` against real data and as properties: every file of `fixtures/corpus` parses
//! (UTF-8, UTF-8 with BOM, UTF-16 LE with BOM), is recognised, and round-trips through
//! canonicalisation; canonicalisation is idempotent and blind to key order, volatile fields and
//! annotations.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

mod corpus;
mod properties;
