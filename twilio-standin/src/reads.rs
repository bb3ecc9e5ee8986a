//! The lists the notifier reads (a conversation's participants), in
//! Twilio's list shape.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::{PUBLIC_BASE, Standin, not_found, participant_json};

/// One page of a conversation's participants (all of them: the stand-in's
/// rooms are small), in Twilio's list shape.
pub async fn list_participants(
    State(s): State<Standin>,
    Path((service, conversation)): Path<(String, String)>,
) -> Response {
    let store = s.store();
    let Some(conversation_sid) = store.conversation(&conversation).map(|c| c.sid.clone()) else {
        return not_found();
    };
    let participants: Vec<Value> = store
        .participants
        .iter()
        .filter(|p| p.conversation_sid == conversation_sid)
        .map(|p| participant_json(&service, p))
        .collect();
    let url = format!("{PUBLIC_BASE}/v1/Services/{service}/Conversations/{conversation_sid}/Participants");
    Json(json!({
        "participants": participants,
        "meta": {
            "page": 0, "page_size": 50, "first_page_url": format!("{url}?PageSize=50&Page=0"),
            "previous_page_url": null, "next_page_url": null, "url": format!("{url}?PageSize=50&Page=0"),
            "key": "participants",
        },
    }))
    .into_response()
}
