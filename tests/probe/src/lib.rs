//! probe (stub)
