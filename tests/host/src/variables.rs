//! Spin variables (`fermyon:spin/variables@2.0.0`).
//!
//! App variables are resolved once at start-up, highest precedence first:
//! `--variable k=v` / [`crate::HostConfig::variables`], then the
//! `SPIN_VARIABLE_<UPPER_NAME>` environment variable, then the manifest
//! `default`. A `required` variable without a value is a start-up error, as in
//! Spin. A component sees only its own `[component.x.variables]`, each a
//! template such as `"{{ max_pixels }}"` over the app variables.

use std::collections::{BTreeMap, HashMap};

use crate::bindings::variables::{self, Error as VarError};
use crate::error::Error;
use crate::manifest::Manifest;

/// Resolved component variables: component id -> name -> value.
#[derive(Debug, Default, Clone)]
pub struct Variables {
    app: HashMap<String, String>,
    components: HashMap<String, BTreeMap<String, String>>,
}

impl Variables {
    /// Resolves every component's variables. `env` looks up environment
    /// variables (a parameter so tests need not touch the process env).
    pub fn resolve(
        manifest: &Manifest,
        overrides: &[(String, String)],
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let mut app = HashMap::new();
        for (name, decl) in &manifest.variables {
            let from_config = overrides
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone());
            let from_env = || env(&format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase()));
            match from_config
                .or_else(from_env)
                .or_else(|| decl.default.clone())
            {
                Some(value) => {
                    app.insert(name.as_str(), value);
                }
                None if decl.required => {
                    return Err(Error::Variables(format!(
                        "no provider resolved required variable {name:?} (set it with --variable {name}=... or SPIN_VARIABLE_{})",
                        name.to_ascii_uppercase()
                    )));
                }
                None => {}
            }
        }
        let app: HashMap<String, String> =
            app.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let mut components = HashMap::new();
        for (id, component) in &manifest.components {
            let mut vars = BTreeMap::new();
            for (key, template) in &component.variables {
                validate_name(key).map_err(|r| {
                    Error::Variables(format!("component {id:?}: invalid variable name {r}"))
                })?;
                let value = render(template, |name| {
                    if !manifest.variables.contains_key(name) {
                        return Err(format!("unknown variable {name:?}"));
                    }
                    app.get(name)
                        .cloned()
                        .ok_or_else(|| format!("variable {name:?} has no value"))
                })
                .map_err(|m| {
                    Error::Variables(format!(
                        "component {id:?}: invalid variable template for {key:?}: {m}"
                    ))
                })?;
                vars.insert(key.clone(), value);
            }
            components.insert(id.clone(), vars);
        }
        Ok(Self { app, components })
    }

    /// Renders a template over the app variables (used for templated
    /// `allowed_outbound_hosts` entries).
    pub fn render_app(&self, template: &str) -> Result<String, String> {
        render(template, |name| {
            self.app
                .get(name)
                .cloned()
                .ok_or_else(|| format!("unknown variable {name:?}"))
        })
    }

    /// `variables.get` for one component, with Spin's error cases and messages.
    pub fn get(&self, component_id: &str, name: &str) -> Result<String, VarError> {
        validate_name(name).map_err(VarError::InvalidName)?;
        self.components
            .get(component_id)
            .and_then(|vars| vars.get(name))
            .cloned()
            .ok_or_else(|| {
                VarError::Undefined(format!("no variable for {component_id:?}.{name:?}"))
            })
    }
}

/// Spin's variable-name rule (`spin_expressions::Key::validate`); the error
/// reads like Spin's: `"name": reason`.
pub fn validate_name(key: &str) -> Result<(), String> {
    let reason = if key.is_empty() {
        Some("must not be empty".to_owned())
    } else if let Some(c) = key
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        Some(format!(
            "invalid character {c:?}. Variable names may contain only lower-case letters, numbers, and underscores."
        ))
    } else if !key.as_bytes()[0].is_ascii_lowercase() {
        Some("must start with a lowercase ASCII letter".to_owned())
    } else if !key.as_bytes()[key.len() - 1].is_ascii_alphanumeric() {
        Some("must end with a lowercase ASCII letter or digit".to_owned())
    } else if key.contains("__") {
        Some("must not contain multiple consecutive underscores".to_owned())
    } else {
        None
    };
    match reason {
        Some(r) => Err(format!("{key:?}: {r}")),
        None => Ok(()),
    }
}

/// Renders a template made of literals and `{{ name }}` expressions.
fn render(
    template: &str,
    mut lookup: impl FnMut(&str) -> Result<String, String>,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("unterminated '{{'")?;
        let name = after[..end].trim();
        validate_name(name)?;
        out.push_str(&lookup(name)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

impl variables::Host for crate::state::InstanceState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, VarError>> {
        Ok(self.app.variables.get(&self.component_id, &name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn manifest() -> Manifest {
        Manifest::parse(
            r#"
            spin_manifest_version = 2
            [variables]
            a = { default = "def" }
            b = { default = "def" }
            c = { default = "def" }
            [[trigger.http]]
            route = "/"
            component = "x"
            [component.x]
            source = "x.wasm"
            variables = { va = "{{ a }}", vb = "pre-{{b}}-post", vc = "{{ c }}", lit = "plain" }
            "#,
            Path::new("spin.toml"),
            Path::new("/"),
        )
        .unwrap()
    }

    #[test]
    fn precedence_config_then_env_then_default() {
        let env =
            |k: &str| (k == "SPIN_VARIABLE_A" || k == "SPIN_VARIABLE_B").then(|| "env".to_owned());
        let v = Variables::resolve(&manifest(), &[("a".into(), "cfg".into())], env).unwrap();
        assert_eq!(v.get("x", "va").unwrap(), "cfg");
        assert_eq!(v.get("x", "vb").unwrap(), "pre-env-post");
        assert_eq!(v.get("x", "vc").unwrap(), "def");
        assert_eq!(v.get("x", "lit").unwrap(), "plain");
        assert!(matches!(v.get("x", "nope"), Err(VarError::Undefined(_))));
        assert!(matches!(v.get("x", "Bad"), Err(VarError::InvalidName(_))));
    }

    #[test]
    fn required_without_value_fails() {
        let m = Manifest::parse(
            "spin_manifest_version = 2\n[variables]\nr = { required = true }\n[[trigger.http]]\nroute=\"/\"\ncomponent=\"x\"\n[component.x]\nsource=\"x.wasm\"",
            Path::new("spin.toml"),
            Path::new("/"),
        )
        .unwrap();
        assert!(Variables::resolve(&m, &[], |_| None).is_err());
        assert!(Variables::resolve(&m, &[("r".into(), "1".into())], |_| None).is_ok());
    }
}
