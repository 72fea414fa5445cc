//! [`api::Settings`] from Spin variables.

use api::{ApiError, Settings};

/// Reads every setting from the component's variables; unset ones keep their defaults.
/// A variable the manifest does not declare for this component reads as unset.
pub fn load() -> Result<Settings, ApiError> {
    Settings::from_lookup(|name| spin_sdk::variables::get(name).ok().filter(|v| !v.trim().is_empty()))
        .map_err(|e| ApiError::Internal(format!("bad configuration: {e}")))
}
