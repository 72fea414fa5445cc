//! darkroom-spin (stub)
