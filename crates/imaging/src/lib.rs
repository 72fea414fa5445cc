//! darkroom imaging (stub)
