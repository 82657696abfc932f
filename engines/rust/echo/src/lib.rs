//! The echo engine, in Rust: the same engine as engines/go/echo (see
//! engines/go/README.md for what it does), built with the wfe-engine crate.
//! Its run object is a ConfigMap holding the execution's workflow and
//! parameters; data.phase (or the configured key) tells the run's state.
use serde_json::{json, Map, Value};
use wfe_engine::{export_plugin, Engine, Error, Host};

pub struct Echo {
    host: Host,
    phase_key: String,
}

/// A ConfigMap data key: [-._a-zA-Z0-9], 1 to 253 characters.
fn is_data_key(key: &str) -> bool {
    (1..=253).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
}

/// The execution's members the engine reads.
struct Execution<'a> {
    name: &'a str,
    namespace: &'a str,
    uid: &'a str,
    workflow_id: &'a str,
    parameters: Vec<(&'a str, &'a str)>,
}

fn string_at<'a>(doc: &'a Value, path: &str) -> Result<&'a str, Error> {
    let mut at = doc;
    for part in path.split('.') {
        at = at.get(part).unwrap_or(&Value::Null);
    }
    match at {
        Value::String(s) if !s.is_empty() => Ok(s),
        Value::Null | Value::String(_) => Err(Error::invalid(
            "MissingField",
            Some(path),
            format!("{path} is required"),
        )),
        _ => Err(Error::invalid(
            "MalformedExecution",
            Some(path),
            format!("{path} must be a string"),
        )),
    }
}

fn read(doc: &Value) -> Result<Execution<'_>, Error> {
    if !doc.is_object() {
        return Err(Error::invalid(
            "MalformedExecution",
            None,
            "the WorkflowExecution is not a JSON object",
        ));
    }
    let (name, namespace) = (
        string_at(doc, "metadata.name")?,
        string_at(doc, "metadata.namespace")?,
    );
    let workflow_id = string_at(doc, "spec.workflowRef.workflowId")?;
    // A file rendered offline has no uid yet.
    let uid = match doc.pointer("/metadata/uid") {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            return Err(Error::invalid(
                "MalformedExecution",
                Some("metadata.uid"),
                "metadata.uid must be a string",
            ))
        }
    };
    let mut parameters = Vec::new();
    match doc.pointer("/spec/parameters") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, value) in map {
                let field = format!("spec.parameters.{name}");
                if !is_data_key(&format!("param.{name}")) {
                    return Err(Error::invalid(
                        "InvalidParameterName",
                        Some(&field),
                        "a parameter name must be a ConfigMap data key after \"param.\"",
                    ));
                }
                let value = value.as_str().ok_or_else(|| {
                    Error::invalid(
                        "InvalidParameter",
                        Some(&field),
                        format!("{field} must be a string"),
                    )
                })?;
                parameters.push((name.as_str(), value));
            }
        }
        Some(_) => {
            return Err(Error::invalid(
                "InvalidParameter",
                Some("spec.parameters"),
                "spec.parameters must be an object",
            ))
        }
    }
    Ok(Execution {
        name,
        namespace,
        uid,
        workflow_id,
        parameters,
    })
}

fn parse(raw: &[u8], what: &str, reason: &str) -> Result<Value, Error> {
    serde_json::from_slice(raw)
        .map_err(|e| Error::invalid(reason, None, format!("the {what} is not JSON: {e}")))
}

fn to_bytes(doc: &Value) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(doc).map_err(|e| {
        Error::new(
            wfe_engine::WFE_E_INTERNAL,
            "EncodingFailed",
            None,
            e.to_string(),
        )
    })
}

impl Echo {
    /// The execution's name as a DNS label, cut to leave room for ten hex
    /// digits of the SHA-256 of namespace/name/uid.
    fn run_name(&self, x: &Execution) -> String {
        let mut base: String = x.name.to_ascii_lowercase().replace('.', "-");
        let mut cut = base.len().min(52);
        while !base.is_char_boundary(cut) {
            cut -= 1;
        }
        base.truncate(cut);
        let base = base.trim_end_matches('-');
        let id = format!("{}/{}/{}", x.namespace, x.name, x.uid);
        format!("{}-{}", base, &self.host.sha256_hex(id.as_bytes())[..10])
    }
}

impl Engine for Echo {
    const NAME: &'static std::ffi::CStr = c"echo-rust";
    const VERSION: &'static std::ffi::CStr = c"1.0.0";
    const DESCRIPTION: &'static std::ffi::CStr =
        c"Example engine in Rust: the run is a ConfigMap whose data.phase tells its state";
    const API_VERSION: &'static std::ffi::CStr = c"v1";
    const KIND: &'static std::ffi::CStr = c"ConfigMap";
    const RESOURCE: &'static std::ffi::CStr = c"configmaps";

    fn create(host: Host, config: &[u8]) -> Result<Self, Error> {
        let mut echo = Echo {
            host,
            phase_key: "phase".to_owned(),
        };
        if config.is_empty() {
            return Ok(echo);
        }
        let doc: Value = serde_json::from_slice(config).map_err(|e| {
            Error::invalid(
                "InvalidConfig",
                None,
                format!("the configuration is not JSON: {e}"),
            )
        })?;
        let keys = doc.as_object().ok_or_else(|| {
            Error::invalid(
                "InvalidConfig",
                None,
                "the configuration is not a JSON object",
            )
        })?;
        for (key, value) in keys {
            if key != "phaseKey" {
                return Err(Error::invalid(
                    "UnknownConfigKey",
                    Some(key),
                    format!("unknown configuration key {key:?} (known: phaseKey)"),
                ));
            }
            match value.as_str() {
                Some(k) if is_data_key(k) => echo.phase_key = k.to_owned(),
                _ => {
                    return Err(Error::invalid(
                        "InvalidConfig",
                        Some(key),
                        "phaseKey must be a ConfigMap data key ([-._a-zA-Z0-9], 1 to 253)",
                    ))
                }
            }
        }
        Ok(echo)
    }

    fn validate(&self, raw: &[u8]) -> Result<(), Error> {
        read(&parse(raw, "WorkflowExecution", "MalformedExecution")?).map(|_| ())
    }

    fn render(&self, raw: &[u8]) -> Result<Vec<u8>, Error> {
        let doc = parse(raw, "WorkflowExecution", "MalformedExecution")?;
        let x = read(&doc)?;
        let mut data = Map::new();
        data.insert("workflowId".to_owned(), json!(x.workflow_id));
        data.insert(self.phase_key.clone(), json!(""));
        for (name, value) in &x.parameters {
            data.insert(format!("param.{name}"), json!(value));
        }
        to_bytes(&json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": self.run_name(&x), "namespace": x.namespace},
            "data": data,
        }))
    }

    fn interpret(&self, raw: &[u8]) -> Result<Vec<u8>, Error> {
        let run = parse(raw, "ConfigMap", "MalformedRun")?;
        let data = match run.get("data") {
            None | Some(Value::Null) => None,
            Some(Value::Object(d)) if d.values().all(Value::is_string) => Some(d),
            Some(_) => {
                return Err(Error::invalid(
                    "MalformedRun",
                    Some("data"),
                    "data must map keys to strings",
                ))
            }
        };
        if !run.is_object() {
            return Err(Error::invalid(
                "MalformedRun",
                None,
                "the ConfigMap is not a JSON object",
            ));
        }
        let text = |key: &str| {
            data.and_then(|d| d.get(key))
                .and_then(Value::as_str)
                .unwrap_or("")
        };
        let (phase, message) = (text(&self.phase_key), text("message"));
        let mut doc = match phase {
            "" => {
                json!({"phase": "Running", "reason": "Waiting", "message": format!("waiting for data.{}", self.phase_key)})
            }
            "Succeeded" => {
                json!({"phase": "Completed", "outcome": "Success", "reason": "Succeeded"})
            }
            "Failed" | "Cancelled" => {
                json!({"phase": "Failed", "outcome": "Failed", "reason": phase})
            }
            "TimedOut" => json!({"phase": "Failed", "outcome": "Timeout", "reason": "TimedOut"}),
            other => {
                json!({"phase": "Running", "reason": "UnknownPhase", "message": format!("data.{} is {}", self.phase_key, other)})
            }
        };
        if !message.is_empty() && doc["phase"] == "Failed" {
            doc["message"] = json!(message);
        }
        to_bytes(&doc)
    }

    fn cancel(&self, _run: &[u8]) -> Result<Vec<u8>, Error> {
        to_bytes(&json!({"data": {self.phase_key.clone(): "Cancelled"}}))
    }
}

export_plugin!(Echo, c"echo-rust", c"1.0.0");
