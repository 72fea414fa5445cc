//! Integration tests of the store over `MemoryKv` (one binary, shared helpers in util).

mod blobs;
mod catalog;
mod delete;
mod inline;
mod derived;
mod listing;
mod resumable;
mod segments;
mod util;
