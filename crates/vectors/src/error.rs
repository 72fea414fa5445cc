//! The crate's one error type.

/// Everything that can go wrong in `vectors`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A byte string is not a whole number of f32 values.
    #[error("vector bytes: length {0} is not a multiple of 4")]
    InvalidLength(usize),
    /// Vectors of different dimensions were mixed.
    #[error("vector has {got} dimensions, expected {expected}")]
    DimensionMismatch { expected: usize, got: usize },
    /// An input that must not be empty was.
    #[error("{0} is empty")]
    Empty(&'static str),
}
