//! `spin up --runtime-config-file`: the part of Spin's runtime config this host
//! reads, the `[key_value_store.<label>]` tables (Spin's
//! `crates/factor-key-value/src/runtime_config/spin.rs`):
//!
//! ```toml
//! [key_value_store.default]
//! type = "redis"
//! url = "redis://127.0.0.1:6379/0"
//!
//! [key_value_store.cache]
//! type = "spin"                 # SQLite; `path` is relative to this file,
//! path = "cache.db"             # no `path` means in memory
//! ```
//!
//! Other tables (`[sqlite_database.*]`, `[variables_provider]`...) are ignored:
//! darkroom does not use them. Unknown store types fail at start-up, as in Spin.

use std::path::{Path, PathBuf};

use crate::error::Error;

/// One configured store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// `type = "spin"`: SQLite at `path` (resolved against the file's directory), or in memory.
    Spin { path: Option<PathBuf> },
    /// `type = "redis"`: the server at `url` (`redis://[user:pass@]host[:port][/db]`).
    Redis { url: String },
}

/// The key-value part of a runtime config file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// `(label, store)`, sorted by label.
    pub key_value_stores: Vec<(String, StoreConfig)>,
}

impl RuntimeConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let fail = |message: String| Error::RuntimeConfig {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, dir).map_err(fail)
    }

    /// Parses the TOML text; relative SQLite paths are resolved against `dir`.
    pub fn parse(text: &str, dir: &Path) -> Result<Self, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut config = Self::default();
        let Some(stores) = table.get("key_value_store") else {
            return Ok(config);
        };
        let stores = stores
            .as_table()
            .ok_or("`key_value_store` must be a table of labels")?;
        for (label, store) in stores {
            let context =
                |m: &str| format!("could not configure key-value store with label '{label}': {m}");
            let store = store.as_table().ok_or_else(|| context("not a table"))?;
            let text_field = |name: &str| match store.get(name) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(context(&format!("`{name}` must be a string"))),
            };
            let kind = text_field("type")?.ok_or_else(|| context("missing field `type`"))?;
            let parsed = match kind.as_str() {
                "spin" => StoreConfig::Spin {
                    path: text_field("path")?.map(|p| dir.join(p)),
                },
                "redis" => StoreConfig::Redis {
                    url: text_field("url")?.ok_or_else(|| context("missing field `url`"))?,
                },
                other => {
                    return Err(context(&format!(
                        "the store type '{other}' was not registered with the config resolver \
                         (this host knows \"spin\" and \"redis\")"
                    )));
                }
            };
            config.key_value_stores.push((label.clone(), parsed));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_redis_and_spin_stores() {
        let config = RuntimeConfig::parse(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:7/3\"\n\
             [key_value_store.cache]\ntype = \"spin\"\npath = \"c.db\"\n\
             [key_value_store.mem]\ntype = \"spin\"\n[sqlite_database.default]\ntype = \"spin\"\n",
            Path::new("/cfg"),
        )
        .unwrap();
        assert_eq!(
            config.key_value_stores,
            vec![
                (
                    "cache".into(),
                    StoreConfig::Spin {
                        path: Some("/cfg/c.db".into())
                    }
                ),
                (
                    "default".into(),
                    StoreConfig::Redis {
                        url: "redis://127.0.0.1:7/3".into()
                    }
                ),
                ("mem".into(), StoreConfig::Spin { path: None }),
            ]
        );
    }

    #[test]
    fn refuses_unknown_types_and_missing_fields() {
        let err = |t: &str| RuntimeConfig::parse(t, Path::new(".")).unwrap_err();
        assert!(
            err("[key_value_store.default]\ntype = \"azure_cosmos\"\n").contains("not registered")
        );
        assert!(
            err("[key_value_store.default]\ntype = \"redis\"\n").contains("missing field `url`")
        );
        assert!(
            err("[key_value_store.default]\nurl = \"redis://x\"\n")
                .contains("missing field `type`")
        );
        assert!(err("key_value_store = 1\n").contains("table of labels"));
    }
}
