//! darkroom-host (stub)
