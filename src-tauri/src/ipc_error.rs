//! The one error type that crosses IPC: `{ code, message }`. The UI branches on `code`; `message`
//! is for people and never carries a secret.

use idesk_core::{Error, ErrorCode};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct IpcError {
    pub code: ErrorCode,
    pub message: String,
}

impl From<Error> for IpcError {
    fn from(e: Error) -> Self {
        tracing::warn!(code = ?e.code(), "{}", e.user_message());
        Self {
            code: e.code(),
            message: e.user_message(),
        }
    }
}

pub type IpcResult<T> = Result<T, IpcError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_is_pinned() {
        let e = IpcError::from(Error::SignInCancelled);
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({ "code": "sign_in_cancelled", "message": "sign-in was cancelled" }),
            "the UI switches on this exact shape"
        );
    }
}
