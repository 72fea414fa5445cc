//! darkroom store (stub)
