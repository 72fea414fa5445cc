//! darkroom api (stub)
