//! JSON for the HTTP API: one strict, bounded reader ([`parse`]) and one writer ([`write`]).
//!
//! Owns the JSON text format only: what a document means to an endpoint (`phone`, `alerts`, ...)
//! belongs to the endpoint. No I/O. Hand-written on purpose: measured on the router build against
//! serde_json, miniserde, nanoserde and tinyjson (docs/design-json.md).

mod read;
pub mod write;

#[cfg(test)]
mod tests;

pub use read::{parse, parse_prefix, JsonError};
#[cfg(test)]
pub use read::{JsonErrorKind, MAX_DEPTH};
#[cfg(test)]
pub use write::push_string;
pub use write::ObjectWriter;

/// A parsed JSON value. Numbers keep their (grammar-checked) text; objects keep member order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The member `key` of an object (`None` for other values or a missing key).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    #[cfg(test)]
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// A non-negative integer that fits in `u64` (`3`, not `3.0`, `-1` or `1e3`).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.parse().ok(),
            _ => None,
        }
    }
}
