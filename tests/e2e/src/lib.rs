//! darkroom-e2e (stub)
