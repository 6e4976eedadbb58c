//! The little of JSON-RPC 2.0 the MCP helpers need: classify a message, key it by id, build
//! requests, notifications and the synthesized timeout error.
//!
//! Responses are matched to requests by id (reference §14.8 fix): ids are compared by their JSON
//! text, so `1` and `"1"` are different requests, as the JSON-RPC spec says.

use serde_json::{Value, json};

/// The error code of a synthesized "no response" error (JSON-RPC's server-error range).
pub const NO_RESPONSE_CODE: i64 = -32000;
/// The message of a synthesized "no response" error (reference §6.7).
pub const NO_RESPONSE_MESSAGE: &str = "wrapped MCP server did not produce a response";

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Has a method and a non-null id: expects a response.
    Request,
    /// Has a method and no id (or a null one): expects nothing.
    Notification,
    /// Has an id and a `result` or `error`, and no method.
    Response,
    /// Anything else (not an object, a batch, a malformed message).
    Other,
}

/// Classifies a message.
pub fn kind(message: &Value) -> Kind {
    let Some(object) = message.as_object() else {
        return Kind::Other;
    };
    let has_id = object.get("id").is_some_and(|id| !id.is_null());
    if object.get("method").is_some_and(Value::is_string) {
        return if has_id {
            Kind::Request
        } else {
            Kind::Notification
        };
    }
    if has_id && (object.contains_key("result") || object.contains_key("error")) {
        return Kind::Response;
    }
    Kind::Other
}

/// The message's id, when it has a non-null one.
pub fn id(message: &Value) -> Option<&Value> {
    message.get("id").filter(|id| !id.is_null())
}

/// The message's method, when it has one.
pub fn method(message: &Value) -> Option<&str> {
    message.get("method").and_then(Value::as_str)
}

/// A map key for an id: its compact JSON text.
pub fn id_key(id: &Value) -> String {
    id.to_string()
}

/// The response's `error` object, when it is one (the reference ignores non-object errors).
pub fn error_object(response: &Value) -> Option<&Value> {
    response
        .get("error")
        .filter(|error| error.as_object().is_some_and(|map| !map.is_empty()))
}

/// The message of the response's error: its `message` string, else the error's JSON text.
pub fn error_message(response: &Value) -> Option<String> {
    let error = error_object(response)?;
    Some(match error.get("message").and_then(Value::as_str) {
        Some(message) => message.to_string(),
        None => error.to_string(),
    })
}

/// A request.
pub fn request(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// A notification.
pub fn notification(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "method": method, "params": params})
}

/// The error sent in place of a response that never came; `data` is the server's recent stderr.
pub fn no_response_error(id: &Value, data: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": NO_RESPONSE_CODE, "message": NO_RESPONSE_MESSAGE, "data": data},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_messages() {
        assert_eq!(
            kind(&json!({"id": 1, "method": "tools/list"})),
            Kind::Request
        );
        assert_eq!(
            kind(&json!({"id": "a", "method": "ping", "params": {}})),
            Kind::Request
        );
        assert_eq!(
            kind(&json!({"method": "notifications/progress"})),
            Kind::Notification
        );
        assert_eq!(
            kind(&json!({"id": null, "method": "x"})),
            Kind::Notification
        );
        assert_eq!(kind(&json!({"id": 1, "result": {}})), Kind::Response);
        assert_eq!(
            kind(&json!({"id": 1, "error": {"code": 1}})),
            Kind::Response
        );
        assert_eq!(kind(&json!({"id": 1})), Kind::Other);
        assert_eq!(kind(&json!([{"id": 1}])), Kind::Other);
    }

    #[test]
    fn ids_of_different_types_do_not_collide() {
        assert_ne!(id_key(&json!(1)), id_key(&json!("1")));
        assert_eq!(id_key(&json!(1)), id_key(&json!(1)));
        assert_eq!(id(&json!({"id": null})), None);
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            error_message(&json!({"id": 1, "error": {"code": -1, "message": "boom"}})),
            Some("boom".into())
        );
        assert_eq!(
            error_message(&json!({"id": 1, "error": {"code": -1}})),
            Some(r#"{"code":-1}"#.into())
        );
        assert_eq!(error_message(&json!({"id": 1, "error": "text"})), None);
        assert_eq!(error_message(&json!({"id": 1, "result": {}})), None);
    }

    #[test]
    fn synthesized_error_has_the_reference_shape() {
        let error = no_response_error(&json!(3), "tail");
        assert_eq!(
            error,
            json!({"jsonrpc": "2.0", "id": 3, "error": {
                "code": -32000,
                "message": "wrapped MCP server did not produce a response",
                "data": "tail"}})
        );
    }
}
