//! What each operation of the service is, by its operationId: whether the service may safely
//! receive it twice. The retry policy and the error predicates both decide by it.

/// Operations the service may safely receive twice.
pub(crate) fn is_idempotent(operation: &str) -> bool {
    matches!(
        operation,
        "get_session_state"
            | "close_websocket_adapters"
            | "generate_ice_servers"
            | "generate_turn_credentials"
            | "revoke_turn_credentials"
            | "list_sfu_apps"
            | "get_sfu_app"
            | "update_sfu_app"
            | "delete_sfu_app"
            | "list_turn_keys"
            | "get_turn_key"
            | "update_turn_key"
            | "delete_turn_key"
    )
}
