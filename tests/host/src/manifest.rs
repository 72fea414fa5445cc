//! `spin.toml` (manifest v2): the subset darkroom uses, read with serde.
//!
//! Unknown keys (`build`, `files`, `description`, ...) are accepted and ignored,
//! so a manifest that `spin up` accepts also loads here. What the host cannot
//! honour (remote sources, inline components) is rejected with a clear message
//! instead of being silently misread.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::Error;

/// A parsed and validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The manifest file itself.
    pub path: PathBuf,
    /// Directory the manifest lives in; component sources are relative to it.
    pub dir: PathBuf,
    pub name: String,
    pub variables: BTreeMap<String, VariableDecl>,
    pub triggers: Vec<HttpTrigger>,
    pub components: BTreeMap<String, ComponentDecl>,
}

/// An application variable from `[variables]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub description: Option<String>,
}

/// One `[[trigger.http]]` entry.
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    pub component: String,
    pub route: TriggerRoute,
}

/// `route = "/path"` or `route = { private = true }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerRoute {
    Path(String),
    Private,
}

/// One `[component.<id>]` table.
#[derive(Debug, Clone)]
pub struct ComponentDecl {
    /// Absolute path to the `.wasm` file.
    pub source: PathBuf,
    pub key_value_stores: Vec<String>,
    pub allowed_outbound_hosts: Vec<String>,
    /// Component variable name -> template over app variables.
    pub variables: BTreeMap<String, String>,
    pub environment: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawManifest {
    spin_manifest_version: toml::Value,
    #[serde(default)]
    application: RawApplication,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    trigger: BTreeMap<String, toml::Value>,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Deserialize, Default)]
struct RawApplication {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct RawHttpTrigger {
    component: toml::Value,
    route: toml::Value,
}

#[derive(Deserialize)]
struct RawComponent {
    source: toml::Value,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
}

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadManifest {
            path: path.to_owned(),
            source,
        })?;
        let dir = path
            .parent()
            .map(|d| {
                if d.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    d
                }
            })
            .unwrap_or(Path::new("."));
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
        Self::parse(&text, path, &dir)
    }

    /// Parses manifest text; `dir` resolves relative component sources.
    pub fn parse(text: &str, path: &Path, dir: &Path) -> Result<Self, Error> {
        let err = |message: String| Error::Manifest {
            path: path.to_owned(),
            message,
        };
        let raw: RawManifest = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        if raw.spin_manifest_version.as_integer() != Some(2) {
            return Err(err(format!(
                "spin_manifest_version must be 2, found {}",
                raw.spin_manifest_version
            )));
        }

        for (name, decl) in &raw.variables {
            crate::variables::validate_name(name)
                .map_err(|reason| err(format!("variable {reason}")))?;
            if decl.required && decl.default.is_some() {
                return Err(err(format!(
                    "variable {name:?}: a variable cannot both be required and have a default"
                )));
            }
        }

        let mut components = BTreeMap::new();
        for (id, c) in raw.component {
            validate_component_id(&id).map_err(|m| err(format!("component id {id:?}: {m}")))?;
            let source = match &c.source {
                toml::Value::String(s) => dir.join(s),
                other => {
                    return Err(err(format!(
                        "component {id:?}: only a local file path is supported as `source`, found {other}"
                    )));
                }
            };
            components.insert(
                id,
                ComponentDecl {
                    source,
                    key_value_stores: c.key_value_stores,
                    allowed_outbound_hosts: c.allowed_outbound_hosts,
                    variables: c.variables,
                    environment: c.environment,
                },
            );
        }

        let mut triggers = Vec::new();
        for (kind, value) in raw.trigger {
            if kind != "http" {
                return Err(err(format!(
                    "trigger type {kind:?} is not supported (only `[[trigger.http]]`)"
                )));
            }
            let entries: Vec<RawHttpTrigger> = value
                .try_into()
                .map_err(|e: toml::de::Error| err(format!("[[trigger.http]]: {e}")))?;
            for (i, t) in entries.into_iter().enumerate() {
                let component = match t.component {
                    toml::Value::String(s) => s,
                    _ => {
                        return Err(err(format!(
                            "[[trigger.http]] #{}: `component` must be a component id (inline components are not supported)",
                            i + 1
                        )));
                    }
                };
                if !components.contains_key(&component) {
                    return Err(err(format!(
                        "[[trigger.http]] #{}: unknown component {component:?}",
                        i + 1
                    )));
                }
                let route = parse_route(&t.route).map_err(|m| {
                    err(format!("[[trigger.http]] for component {component:?}: {m}"))
                })?;
                triggers.push(HttpTrigger { component, route });
            }
        }
        if triggers.is_empty() {
            return Err(err("no `[[trigger.http]]` entries".into()));
        }

        Ok(Self {
            path: path.to_owned(),
            dir: dir.to_owned(),
            name: raw.application.name.unwrap_or_else(|| "<unnamed>".into()),
            variables: raw.variables,
            triggers,
            components,
        })
    }
}

fn parse_route(value: &toml::Value) -> Result<TriggerRoute, String> {
    match value {
        toml::Value::String(s) => Ok(TriggerRoute::Path(s.clone())),
        toml::Value::Table(t) => match t.get("private") {
            Some(toml::Value::Boolean(true)) if t.len() == 1 => Ok(TriggerRoute::Private),
            Some(toml::Value::Boolean(false)) => Err(
                "route must be a string pattern or '{ private = true }': found { private = false }"
                    .into(),
            ),
            _ => Err(format!(
                "route must be a string pattern or '{{ private = true }}', found {value}"
            )),
        },
        other => Err(format!(
            "route must be a string pattern or '{{ private = true }}', found {other}"
        )),
    }
}

/// Spin ids are kebab-case: they also appear as `<id>.spin.internal` host names.
fn validate_component_id(id: &str) -> Result<(), String> {
    let ok = id.split('-').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }) && id.starts_with(|c: char| c.is_ascii_lowercase());
    if ok {
        Ok(())
    } else {
        Err("must be kebab-case: lower-case letters, digits and single hyphens, starting with a letter".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, Error> {
        Manifest::parse(text, Path::new("spin.toml"), Path::new("/app"))
    }

    #[test]
    fn reads_routes_components_and_variables() {
        let m = parse(
            r#"
            spin_manifest_version = 2
            [application]
            name = "x"
            [variables]
            a = { default = "1" }
            b = { required = true, secret = true }
            [[trigger.http]]
            route = "/..."
            component = "web"
            [[trigger.http]]
            route = { private = true }
            component = "step"
            [component.web]
            source = "web.wasm"
            key_value_stores = ["default"]
            variables = { x = "{{ a }}" }
            [component.web.build]
            command = "cargo build"
            [component.step]
            source = "step.wasm"
            files = ["static/**"]
            "#,
        )
        .unwrap();
        assert_eq!(m.triggers.len(), 2);
        assert_eq!(m.triggers[1].route, TriggerRoute::Private);
        assert_eq!(m.components["web"].source, Path::new("/app/web.wasm"));
        assert!(m.variables["b"].secret);
    }

    #[test]
    fn rejects_bad_manifests() {
        let v1 = "spin_manifest_version = \"1\"\n[[trigger.http]]\nroute=\"/\"\ncomponent=\"a\"";
        assert!(parse(v1).unwrap_err().to_string().contains("must be 2"));
        let unknown =
            "spin_manifest_version = 2\n[[trigger.http]]\nroute=\"/\"\ncomponent=\"nope\"";
        assert!(
            parse(unknown)
                .unwrap_err()
                .to_string()
                .contains("unknown component")
        );
        let both = "spin_manifest_version = 2\n[variables]\nx = { default = \"1\", required = true }\n[[trigger.http]]\nroute=\"/\"\ncomponent=\"a\"\n[component.a]\nsource=\"a.wasm\"";
        assert!(parse(both).unwrap_err().to_string().contains("required"));
    }
}
