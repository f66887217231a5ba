//! A parsed manifest and the few ways the judge looks into it: by path,
//! as text, number, list or label map. Missing fields are `None`, never a
//! panic: learners' YAML can be any shape.

use std::collections::BTreeMap;

use serde_yaml::Value;

/// One YAML document.
#[derive(Clone, Debug)]
pub struct Manifest(Value);

impl Manifest {
    /// The first document of `text`.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        serde_yaml::from_str::<Value>(text).map(Manifest).map_err(|e| e.to_string())
    }

    fn at(&self, path: &[&str]) -> Option<&Value> {
        path.iter().try_fold(&self.0, |v, key| v.get(*key))
    }

    /// Whether something is at `path`.
    pub fn has(&self, path: &[&str]) -> bool {
        self.at(path).is_some_and(|v| !v.is_null())
    }

    /// The string at `path`.
    pub fn str(&self, path: &[&str]) -> Option<&str> {
        self.at(path)?.as_str()
    }

    /// The integer at `path`.
    pub fn int(&self, path: &[&str]) -> Option<i64> {
        self.at(path)?.as_i64()
    }

    /// The scalar at `path` as text (`80`, `http`, `100m`).
    pub fn scalar(&self, path: &[&str]) -> Option<String> {
        match self.at(path)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The list at `path`, each item a manifest of its own.
    pub fn list(&self, path: &[&str]) -> Vec<Manifest> {
        self.at(path).and_then(Value::as_sequence).map(|s| s.iter().cloned().map(Manifest).collect()).unwrap_or_default()
    }

    /// The string map at `path` (labels, selectors); other values are shown
    /// as YAML would print them.
    pub fn labels(&self, path: &[&str]) -> BTreeMap<String, String> {
        let Some(map) = self.at(path).and_then(Value::as_mapping) else { return BTreeMap::new() };
        map.iter()
            .filter_map(|(k, v)| {
                let value = match v {
                    Value::String(s) => s.clone(),
                    other => serde_yaml::to_string(other).ok()?.trim().to_owned(),
                };
                Some((k.as_str()?.to_owned(), value))
            })
            .collect()
    }
}

/// Whether `port` (a number or a name) is one of the container's `ports`.
pub fn port_matches(port: &str, ports: &[Manifest]) -> bool {
    ports.iter().any(|p| p.scalar(&["containerPort"]).as_deref() == Some(port) || p.str(&["name"]) == Some(port))
}
