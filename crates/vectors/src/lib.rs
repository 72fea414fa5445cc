//! darkroom vectors (stub)
